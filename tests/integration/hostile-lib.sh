# hostile-lib.sh: the hostile HTTP tests' fixture (sourced, bash), on top
# of path-lib.sh: tokilake with a linked tokiame and the mock, and
#
#   hostile_up              (after path_setup) path_up, with http.body_timeout 3s and
#                           http.max_header_size 64KiB in the config
#                           (HOSTILE_OLD_CONFIG=1 leaves them out, to run
#                           the cases against a build without them;
#                           HOSTILE_H2=1 adds http.http2: true);
#                           records the PIDs of the master, workers, agentd
#   legit_start / legit_stop  a legitimate chat completion through the
#                           linked agent every 0.3 s in the background
#                           while the hostile clients run; legit_stop
#                           fails the test unless every one got 200
#   hostile_cases CASE...   hostile_http.py's cases, one per run (the line
#                           it prints is logged); BUGS collects failures;
#                           HOSTILE_PORT (default HTTP_PORT) and
#                           HOSTILE_ARGS (e.g. --tls) change where they go
#   hostile_done            the PIDs are unchanged (nothing respawned),
#                           the legitimate load passed, then path_done
. "$(dirname "${BASH_SOURCE[0]}")/path-lib.sh"

BUGS=
BODY_TIMEOUT_S=3
HEADER_TIMEOUT_S=5 # path-lib.sh's header_timeout

eval "path_lib_$(declare -f path_write_config)"
path_write_config()
{
	path_lib_path_write_config "$1"
	[ "${HOSTILE_H2:-0}" = 1 ] && sed -i "s/^  header_timeout: .*/&\n  http2: true/" "$1"
	[ "${HOSTILE_OLD_CONFIG:-0}" = 1 ] && return 0
	sed -i "s/^  header_timeout: .*/&\n  body_timeout: ${BODY_TIMEOUT_S}s\n  max_header_size: 64KiB/" "$1"
}

hostile_up()
{
	path_up
	PIDS_BEFORE="$MASTER $(pids_of worker | tr '\n' ' ')$(pids_of agentd)"
	log "tokilake processes: $PIDS_BEFORE"
}

legit_once()
{
	curl -s -o /dev/null -w '%{http_code}\n' --max-time 10 -H 'Content-Type: application/json' \
	    --data-binary '{"model":"lab:qwen3:0.6b","messages":[{"role":"user","content":"hi"}]}' \
	    "$API/v1/chat/completions" 2>/dev/null
}

legit_start()
{
	rm -f "$T/legit.stop" "$T/legit.codes"
	(
		while [ ! -e "$T/legit.stop" ]; do
			legit_once >>"$T/legit.codes"
			sleep 0.3
		done
	) &
	LEGIT_PID=$!
	TL_PIDS+=("$LEGIT_PID")
}

legit_stop()
{
	local n bad
	touch "$T/legit.stop"
	wait "$LEGIT_PID" 2>/dev/null
	n=$(grep -c . "$T/legit.codes")
	bad=$(grep -vc '^200$' "$T/legit.codes")
	[ "$n" -gt 0 ] || fail "no legitimate request was made meanwhile"
	if [ "$bad" -ne 0 ]; then
		BUGS+="$bad of $n legitimate requests failed meanwhile ($(sort "$T/legit.codes" | uniq -c | tr '\n' ' ')); "
		log "BUG: $bad of $n legitimate requests failed meanwhile"
	else
		log "ok: all $n legitimate chat completions meanwhile got 200"
	fi
}

hostile_cases()
{
	local c out
	for c in "$@"; do
		out=$("$PY" "$HERE/hostile_http.py" --port "${HOSTILE_PORT:-$HTTP_PORT}" ${HOSTILE_ARGS:-} \
		    --body-timeout "$BODY_TIMEOUT_S" \
		    --header-timeout "$HEADER_TIMEOUT_S" "$c" 2>&1)
		log "$out"
		case $out in
		ok\ *) ;;
		*) BUGS+="$out; " ;;
		esac
	done
}

hostile_done()
{
	local now
	now="$MASTER $(pids_of worker | tr '\n' ' ')$(pids_of agentd)"
	if [ "$now" != "$PIDS_BEFORE" ] || ! alive "$MASTER"; then
		BUGS+="tokilake processes changed: before $PIDS_BEFORE, after $now; "
		log "BUG: processes changed: before $PIDS_BEFORE, after $now"
	else
		log "ok: no tokilake process respawned ($now)"
	fi
	[ "$(legit_once)" = 200 ] || BUGS+="a legitimate request after the cases failed; "
	path_done "$BUGS"
}
