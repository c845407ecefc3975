#!/bin/bash
# pg-resync-tx: a node that reconnects writes its agents again in one
# transaction, so the other nodes never see it without its agents.
#
# A test-only deferred trigger on agents looks, at the COMMIT of every
# transaction that deleted an agents row, whether the node of that row
# still has agents; if it has none the gap is written to a table. Node b
# (one agent) is made to reconnect three times (its backend terminated);
# each reconnect rewrites its agents: no gap may be recorded, and node a
# keeps listing and serving b's model throughout.
. "$(dirname "$0")/fwd-lib.sh"

FWD_TTL=3s
FWD_HB=500ms

fwd_setup
pgq "CREATE TABLE test_gaps (node text, at timestamptz DEFAULT clock_timestamp());
CREATE FUNCTION test_gap() RETURNS trigger LANGUAGE plpgsql AS \$\$
BEGIN
	IF NOT EXISTS (SELECT 1 FROM agents WHERE node = OLD.node) THEN
		INSERT INTO test_gaps (node) VALUES (OLD.node);
	END IF;
	RETURN NULL;
END \$\$;
CREATE CONSTRAINT TRIGGER test_gap AFTER DELETE ON agents
	DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION test_gap();" >/dev/null ||
    fail "cannot create the test trigger"
fwd_up

MODEL=lab:qwen3:0.6b
CHAT='{"model":"lab:qwen3:0.6b","messages":[{"role":"user","content":"hi"}]}'
listed_on() { curl -s --max-time 2 "$(fwd_api "$1")/v1/models" | grep -q "\"id\":\"$2\""; }
reconnects_of_b() { grep -c 'database: connected again' "$T/node-b.log"; }
b_reconnected() { [ "$(reconnects_of_b)" -ge "$1" ] && grep -q 'writing the 1 agent linked here' <(tail -n 50 "$T/node-b.log"); }

# a watcher on a: /v1/models every 20 ms, one line per look
watch_a()
{
	while [ ! -e "$T/watch-stop" ]; do
		if listed_on a "$MODEL"; then echo yes; else echo no; fi
		sleep 0.02
	done >"$T/watch-a"
}
watch_a &
WATCH=$!

for round in 1 2 3; do
	before=$(reconnects_of_b)
	pgq "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = 'tokilake' AND pid <> pg_backend_pid() AND backend_type = 'client backend'" >/dev/null
	wait_until 20 b_reconnected $((before + 1)) || fail "round $round: node b did not reconnect"
	wait_until 5 listed_on a "$MODEL" || fail "round $round: a lost b's model"
	req POST /v1/chat/completions -H 'content-type: application/json' --data-binary "$CHAT"
	[ "$CODE" = 200 ] || fail "round $round: chat through a after b's reconnect: $CODE ${BODY:0:300}"
	log "round $round: b reconnected and rewrote its agent"
done
sleep 1
touch "$T/watch-stop"
wait "$WATCH"
pgq "SELECT count(*) FROM agents WHERE node = 'b'" | grep -qx 1 || fail "node b has not 1 agents row"
gaps=$(pgq "SELECT count(*) FROM test_gaps")
log "commits that left node b without agents: $gaps; a's watcher: $(sort "$T/watch-a" | uniq -c | tr -s ' \n' ' ')"
[ "$gaps" = 0 ] || fail "$gaps commits left node b without its agents: $(pgq "SELECT node, at FROM test_gaps")"
fwd_pass "a reconnect rewrites a node's agents in one transaction"
