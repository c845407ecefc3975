#!/usr/bin/env bash
# ctl-notify: the triggers of sql/001_initial.sql announce changes on
# channel "tokilake" with the table's name as payload, the way every
# node's master LISTENs for them:
#  - a token revoked with tokilakectl is announced at once;
#  - namespace add/disable, token new, nodes, agents, agent_models too;
#  - heartbeats (UPDATE of heartbeat_at alone) and statements that change
#    no row are not; many rows changed at once are announced once.
# The listener is psql in a background session that polls (SELECT 1)
# every 20 ms, which is when psql prints the notifications it received.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/ctl-lib.sh"
ctl_setup pg
ctl_ok db migrate

{
	echo 'LISTEN tokilake;'
	echo "SELECT 'listening';"
	while [ ! -e "$T/listen.stop" ]; do
		echo 'SELECT 1;'
		sleep 0.02
	done
} | psql -X -qAt -d "$(pg_url)" >"$T/listen.out" 2>&1 &
TL_PIDS+=($!)
wait_until 5 grep -qx listening "$T/listen.out" || fail "the listener did not start: $(cat "$T/listen.out")"

# payloads: the payloads received from line $1 of the listener's output on.
payloads()
{
	tail -n +"$1" "$T/listen.out" |
	    sed -n 's/^Asynchronous notification "tokilake" with payload "\([^"]*\)" received.*/\1/p'
}

NSENT=0
# expect_notify "PAYLOAD..." COMMAND...: run COMMAND; exactly these payloads
# (space-separated, in any order, each once; "" = none) arrive before a
# sentinel sent after it.
expect_notify()
{
	local want=$1 from got
	shift
	from=$(($(wc -l <"$T/listen.out") + 1))
	"$@" >/dev/null
	NSENT=$((NSENT + 1))
	pgq "NOTIFY tokilake, 'sentinel-$NSENT'" >/dev/null
	wait_until 5 eval 'payloads $from | grep -qx sentinel-$NSENT' ||
	    fail "sentinel $NSENT did not arrive: $(tail -n 5 "$T/listen.out")"
	got=$(payloads "$from" | grep -v '^sentinel-' | sort | tr '\n' ' ')
	want=$(for w in $want; do echo "$w"; done | sort | tr '\n' ' ')
	[ "$got" = "$want" ] || fail "$*: expected notifications [$want], got [$got]"
	log "ok: $* -> [${want}]"
}

# -- a token revoked: how fast --------------------------------------------
ctl_ok namespace add lab
ctl_ok token new lab
sleep 0.1
from=$(($(wc -l <"$T/listen.out") + 1))
t0=$(now_ms)
ctl_ok token revoke 1
t1=$(now_ms)
wait_until 5 eval 'payloads $from | grep -qx namespace_tokens' ||
    fail "no notification within 5 s of the revoke: $(tail -n 5 "$T/listen.out")"
t2=$(now_ms)
# the listener polls every 20 ms; tokilakectl's own run (a process, a
# connection) is most of the total on a loaded machine
[ $((t2 - t1)) -lt 1000 ] || fail "the revoke was announced $((t2 - t1)) ms after tokilakectl returned"
log "ok: token revoked -> NOTIFY tokilake 'namespace_tokens' seen by a listener $((t2 - t0)) ms after tokilakectl started ($((t1 - t0)) ms of it tokilakectl's own run)"

# -- what is announced, what is not ------------------------------------------
expect_notify "namespaces" ctl_ok namespace add other
expect_notify "namespace_tokens" ctl_ok token new other
expect_notify "namespaces" ctl_ok namespace disable other
expect_notify "" ctl_ok namespace disable other             # already: no row changes
expect_notify "" ctl_ok token revoke 1                      # already revoked
expect_notify "nodes" pgq "INSERT INTO nodes (name, internal_url) VALUES ('n1', 'h2c://127.0.0.1:1'), ('n2', 'h2c://127.0.0.1:2')"
expect_notify "agents" pgq "INSERT INTO agents (agent_id, namespace, node) VALUES ('n1/00/1', 'lab', 'n1'), ('n1/00/2', 'lab', 'n1'), ('n2/00/1', 'lab', 'n2')"
expect_notify "agent_models" pgq "INSERT INTO agent_models (agent_id, model) SELECT 'n1/00/1', 'm' || i FROM generate_series(1, 100) i"
# heartbeats: the node row and its agents, as a master does it
expect_notify "" pgq "UPDATE nodes SET heartbeat_at = now() + interval '1 s' WHERE name = 'n1'"
expect_notify "" pgq "UPDATE agents SET heartbeat_at = now() + interval '1 s' WHERE node = 'n1'"
expect_notify "" pgq "WITH n AS (UPDATE nodes SET heartbeat_at = now() WHERE name = 'n1' RETURNING name) UPDATE agents SET heartbeat_at = now() WHERE node IN (SELECT name FROM n)"
expect_notify "" pgq "DELETE FROM agents WHERE node = 'nosuch'"
# real changes of those rows
expect_notify "nodes" pgq "UPDATE nodes SET started_at = now(), heartbeat_at = now() WHERE name = 'n1'"
expect_notify "nodes" pgq "UPDATE nodes SET internal_url = 'h2c://127.0.0.1:3' WHERE name = 'n2'"
expect_notify "agents" pgq "UPDATE agents SET name = '10.0.0.9:4444' WHERE agent_id = 'n1/00/2'"
expect_notify "agent_models" pgq "UPDATE agent_models SET context_length = 4096 WHERE agent_id = 'n1/00/1'"
# a node expires: its agents and their models go with it (cascade)
expect_notify "agent_models agents nodes" pgq "DELETE FROM nodes WHERE name = 'n1'"
expect_notify "nodes" pgq "INSERT INTO nodes (name, internal_url) VALUES ('n2', 'x') ON CONFLICT (name) DO UPDATE SET started_at = now()"

touch "$T/listen.stop"
pass "notifications"
