#!/usr/bin/env bash
# quickstart.sh: from a fresh Debian 12 to a running tokilake node.
#
#   bash quickstart.sh          install what is missing, build, (re)start
#   bash quickstart.sh stop     stop what an earlier run started
#
# It starts three things, each in the background with its pid file and
# log in ./run: a tokilake node (HTTP on 127.0.0.1:8080, agents on 7740
# over TLS with a throwaway certificate), the mock OpenAI backend standing
# in for a GPU box (127.0.0.1:11434), and a tokiame agent that links out
# to tokilake and publishes the backend's model as demo:qwen3:0.6b. Then it
# streams a chat completion through tokilake with curl, with the API key
# it made (run/api.key; tokilake.yaml keeps only its hash). The build is
# in ./build. Re-running it restarts everything cleanly.
set -eu
cd "$(dirname "$0")"
TOP=$(pwd)
RUN=$TOP/run
BUILD=$TOP/build
HTTP_ADDR=127.0.0.1:8080
AGENT_ADDR=127.0.0.1:7740
BACKEND_ADDR=127.0.0.1:11434
AGENT_API_ADDR=127.0.0.1:7749

say() { printf '\n== %s\n' "$*"; }
die() { printf 'quickstart: %s\n' "$*" >&2; exit 1; }

packages()
{
	say "packages"
	. "$TOP/tests/deps.sh"
	tl_install_deps "$TOP/tests/deps.txt" build || die "cannot install the build packages"
	echo "ok"
}

build()
{
	say "build (in $BUILD)"
	if [ ! -x "$TOP/configure" ] || [ "$TOP/configure.ac" -nt "$TOP/configure" ]; then
		autoreconf -fi >/dev/null 2>&1 || { autoreconf -fi; die "autoreconf failed"; }
	fi
	mkdir -p "$BUILD"
	if [ ! -f "$BUILD/Makefile" ]; then
		(cd "$BUILD" && "$TOP/configure" -q CFLAGS="-g -O2") || die "configure failed"
	fi
	make -C "$BUILD" -s -j"$(nproc)" >"$BUILD/quickstart-make.log" 2>&1 ||
	    { tail -n 40 "$BUILD/quickstart-make.log"; die "build failed (log: $BUILD/quickstart-make.log)"; }
	echo "ok: $BUILD/tokilake"
}

# stop_pidfile NAME: stop the process whose pid is in run/NAME.pid, if it
# is still ours (same executable name), gracefully then by force.
stop_pidfile()
{
	local f=$RUN/$1.pid pid i
	[ -f "$f" ] || return 0
	pid=$(tr -cd '0-9' <"$f")
	if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null &&
	    [[ $(readlink "/proc/$pid/exe" 2>/dev/null) == */"$1"* ]]; then
		echo "stopping $1 (pid $pid)"
		kill -TERM "$pid"
		for i in $(seq 1 150); do
			kill -0 "$pid" 2>/dev/null || break
			sleep 0.1
		done
		kill -0 "$pid" 2>/dev/null && { echo "$1 did not stop in 15 s: SIGKILL"; kill -KILL "$pid"; }
	fi
	rm -f "$f"
}

stop_all()
{
	stop_pidfile tokiame
	stop_pidfile tokilake
	stop_pidfile tl-mock-openai
}

# port_free HOST:PORT, or say who holds it.
port_free()
{
	local port=${1##*:}
	if command -v ss >/dev/null && [ -n "$(ss -Hltn "sport = :$port")" ]; then
		ss -Hltnp "sport = :$port" >&2
		die "port $port is in use by another program (above); stop it or edit HTTP_ADDR/AGENT_ADDR in $0"
	fi
}

certificate()
{
	# A throwaway self-signed certificate for the agent listener; a real
	# node uses one from its CA (see tokilake.yaml(5)).
	[ -s "$RUN/agent.crt" ] && [ -s "$RUN/agent.key" ] && return 0
	openssl req -x509 -newkey rsa:2048 -nodes -days 30 -subj /CN=localhost \
	    -addext "subjectAltName=DNS:localhost,IP:127.0.0.1" \
	    -keyout "$RUN/agent.key" -out "$RUN/agent.crt" >/dev/null 2>&1 ||
	    die "openssl could not make a certificate"
	chmod 600 "$RUN/agent.key"
}

config()
{
	say "config ($RUN/tokilake.yaml)"
	mkdir -p "$RUN"
	certificate
	cat >"$RUN/tokilake.yaml" <<EOF
# Written by quickstart.sh; see etc/tokilake.yaml for every key explained.
workers: 2
pid_file: $RUN/tokilake.pid
runtime_dir: $RUN
shutdown_timeout: 10s
log:
  level: info
usage:
  log_file: $RUN/usage.log
http:
  listen: ["$HTTP_ADDR"]
  max_body_size: 16MiB
agents:
  listen: "$AGENT_ADDR"
  tls:
    cert: $RUN/agent.crt
    key: $RUN/agent.key
EOF
	# a namespace and its token: tokilake keeps only the hash
	"$BUILD/tokilake" token new demo >"$RUN/token.out" || die "tokilake token new failed"
	sed -n 's/^#   \(tlk_[0-9a-f]*\)$/\1/p' "$RUN/token.out" >"$RUN/demo.token"
	chmod 600 "$RUN/demo.token"
	sed -n '/^namespaces:/,$p' "$RUN/token.out" >>"$RUN/tokilake.yaml"
	rm -f "$RUN/token.out"
	# an API key for the clients: tokilake keeps only its hash too
	"$BUILD/tokilake" key new quickstart >"$RUN/key.out" || die "tokilake key new failed"
	sed -n 's/^#   \(sk-tlk-[0-9a-f]*\)$/\1/p' "$RUN/key.out" >"$RUN/api.key"
	chmod 600 "$RUN/api.key"
	sed -n '/^keys:/,$p' "$RUN/key.out" >>"$RUN/tokilake.yaml"
	rm -f "$RUN/key.out"
	"$BUILD/tokilake" -n -c "$RUN/tokilake.yaml" || die "the generated config does not pass tokilake -n"
	cat >"$RUN/tokiame.yaml" <<EOF
# Written by quickstart.sh; see etc/tokiame.yaml for every key explained.
server: "$AGENT_ADDR"
namespace: demo
token_file: $RUN/demo.token
api_addr: "$AGENT_API_ADDR"
tls:
  ca_file: $RUN/agent.crt
  server_name: localhost
reconnect: { initial: 200ms, max: 5s }
backends:
  - name: mock-gpu
    url: "http://$BACKEND_ADDR/v1"
    discover: true
EOF
	"$BUILD/tokiame" -t -c "$RUN/tokiame.yaml" || die "the generated tokiame config does not pass tokiame -t"
	echo "ok"
}

start_backend()
{
	local i
	say "start the demo backend (the mock OpenAI server, standing in for Ollama)"
	port_free "$BACKEND_ADDR"
	setsid "$BUILD/tests/mock/tl-mock-openai" -l "$BACKEND_ADDR" -m "qwen3:0.6b" \
	    --chunks 8 --pause-ms 150 </dev/null >"$RUN/backend.log" 2>&1 &
	echo $! >"$RUN/tl-mock-openai.pid"
	for i in $(seq 1 100); do
		curl -fs -o /dev/null --max-time 1 "http://$BACKEND_ADDR/v1/models" &&
		    { echo "ok: http://$BACKEND_ADDR/v1 serves qwen3:0.6b"; return 0; }
		sleep 0.05
	done
	die "the demo backend did not start (log: $RUN/backend.log)"
}

start_tokiame()
{
	local i t0
	say "start tokiame (links out to tokilake over TLS)"
	port_free "$AGENT_API_ADDR"
	t0=$(date +%s%3N)
	setsid "$BUILD/tokiame" -c "$RUN/tokiame.yaml" </dev/null >"$RUN/tokiame.log" 2>&1 &
	echo $! >"$RUN/tokiame.pid"
	for i in $(seq 1 200); do
		if curl -fs --max-time 1 -H "Authorization: Bearer $(cat "$RUN/api.key")" \
		    "http://$HTTP_ADDR/v1/models" | grep -q '"demo:qwen3:0.6b"'; then
			echo "ok: demo:qwen3:0.6b listed by tokilake $(($(date +%s%3N) - t0)) ms after tokiame started"
			return 0
		fi
		sleep 0.05
	done
	tail -n 20 "$RUN/tokiame.log"
	die "tokiame did not link within 10 s (log: $RUN/tokiame.log)"
}

start_tokilake()
{
	local i pid t0
	say "start tokilake"
	port_free "$HTTP_ADDR"
	port_free "$AGENT_ADDR"
	: >"$RUN/tokilake.log"
	t0=$(date +%s%3N)
	setsid "$BUILD/tokilake" -c "$RUN/tokilake.yaml" </dev/null >>"$RUN/tokilake.log" 2>&1 &
	pid=$!
	for i in $(seq 1 200); do
		if curl -fs -o /dev/null --max-time 1 "http://$HTTP_ADDR/healthz"; then
			[ -s "$RUN/tokilake.pid" ] || echo "$pid" >"$RUN/tokilake.pid"
			echo "ok: pid $(cat "$RUN/tokilake.pid"); first /healthz 200 after $(($(date +%s%3N) - t0)) ms"
			return 0
		fi
		kill -0 "$pid" 2>/dev/null || { tail -n 20 "$RUN/tokilake.log"; die "tokilake exited (log: $RUN/tokilake.log)"; }
		sleep 0.05
	done
	tail -n 20 "$RUN/tokilake.log"
	die "no answer on http://$HTTP_ADDR/healthz within 10 s (log: $RUN/tokilake.log)"
}

# show COMMAND...: print a command as typed, then run it.
show()
{
	printf '\n$'
	printf ' %q' "$@"
	printf '\n'
	"$@" || true
	echo
}

demo()
{
	local key
	key=$(cat "$RUN/api.key")
	say "try it (the API key is in $RUN/api.key)"
	show curl -s "http://$HTTP_ADDR/healthz"
	show curl -s "http://$HTTP_ADDR/v1/models" -H "Authorization: Bearer $key"
	show curl -sN "http://$HTTP_ADDR/v1/chat/completions" -H "Authorization: Bearer $key" \
	    -H "Content-Type: application/json" \
	    -d '{"model":"demo:qwen3:0.6b","stream":true,"messages":[{"role":"user","content":"Hello from behind the NAT"}]}'
	show curl -s "http://$HTTP_ADDR/v1/chat/completions" -H "Authorization: Bearer $key" \
	    -H "Content-Type: application/json" \
	    -d '{"model":"demo:qwen3:0.6b","messages":[{"role":"user","content":"Hello again"}]}'
	show curl -s "http://$HTTP_ADDR/v1/models"
}

summary()
{
	cat <<EOF

Running in the background, each with its log in $RUN:
  tokilake  pid $(cat "$RUN/tokilake.pid")  http://$HTTP_ADDR/v1  (config run/tokilake.yaml;
            after editing it: kill -HUP \$(cat run/tokilake.pid))
  tokiame   pid $(cat "$RUN/tokiame.pid")  status: curl http://$AGENT_API_ADDR/status
  backend   pid $(cat "$RUN/tl-mock-openai.pid")  the mock on http://$BACKEND_ADDR/v1
They keep running until you stop them:  bash quickstart.sh stop
Point any OpenAI client at http://$HTTP_ADDR/v1 with model "demo:qwen3:0.6b"
and the API key in run/api.key (without a key: 401). More keys:
  build/tokilake key new NAME   (add its entry under keys: in run/tokilake.yaml, then HUP)
For a real GPU box, put its URL (e.g. http://192.168.1.101:11434/v1) in
run/tokiame.yaml and restart tokiame.
EOF
}

case ${1:-start} in
start)
	packages
	build
	mkdir -p "$RUN"
	stop_all
	config
	start_tokilake
	start_backend
	start_tokiame
	demo
	summary
	;;
stop)
	stop_all
	echo "stopped"
	;;
*)
	echo "usage: bash quickstart.sh [start|stop]" >&2
	exit 2
	;;
esac
