#!/bin/sh
# tokiame-servers: the several-nodes forms of the built tokiame's config,
# checked with -t (no server needed): servers: [..] and -a repeated;
# server and servers together, a node listed twice, more than 16 nodes
# are refused with exit 2 and a message naming the key; -a replaces the
# file's server or servers; the old single server: is a list of one.
#
# Exit codes follow automake: 0 pass, 1 fail.

top_builddir=${top_builddir:-.}
TOKIAME=$top_builddir/tokiame
T=$(mktemp -d "${TMPDIR:-/tmp}/tokiame-servers.XXXXXX") || exit 1
trap 'rm -rf "$T"' EXIT
fails=0
fail() { echo "FAIL: $*"; fails=$((fails + 1)); }
test -x "$TOKIAME" || { echo "FAIL: $TOKIAME is not built"; exit 1; }
unset TOKIAME_TOKEN

# conf NAME LINE...: $T/NAME.yaml with the lines, then the rest of a
# complete config
conf()
{
	n=$1
	shift
	{
		printf '%s\n' "$@"
		printf 'namespace: lab\ntoken: tlk_x\nbackends: [http://127.0.0.1:1/v1]\n'
	} >"$T/$n.yaml"
}

# check WANT_RC WANT_TEXT WHAT ARGS...: tokiame -t -v ARGS exits WANT_RC and
# its output (stdout and stderr) holds WANT_TEXT
check()
{
	want=$1 text=$2 what=$3
	shift 3
	"$TOKIAME" -t -v "$@" >"$T/out" 2>&1
	rc=$?
	[ "$rc" = "$want" ] || fail "$what: exit $rc, expected $want: $(cat "$T/out")"
	grep -qF -e "$text" "$T/out" || fail "$what: no \"$text\" in: $(cat "$T/out")"
}

conf both 'server: a.example:7740' 'servers: [b.example:7740, c.example:7740]'
check 2 'both.yaml:2: servers: cannot be used together with server' "server and servers" \
    -c "$T/both.yaml"
conf dup 'servers: [b.example:7740, b.example:7740]'
check 2 'servers: "b.example:7740" is listed twice' "a node listed twice" -c "$T/dup.yaml"
conf bad 'servers: [b.example:7740, nonsense]'
check 2 'bad.yaml:1: servers' "a bad address" -c "$T/bad.yaml"
list=$(seq 1 17 | sed 's/.*/h&.example:7740/' | paste -sd, -)
conf many "servers: [$list]"
check 2 'at most 16' "17 nodes" -c "$T/many.yaml"
conf two 'servers: [b.example:7740, c.example:7740]'
check 0 '- "c.example:7740"' "servers: two nodes" -c "$T/two.yaml"
conf one 'server: a.example:7740'
check 0 '- "a.example:7740"' "server: a list of one" -c "$T/one.yaml"
check 0 '- "y.example:2"' "-a twice" -c "$T/one.yaml" -a x.example:1 -a y.example:2
grep -qF 'a.example' "$T/out" && fail "-a: the file's server is still there: $(cat "$T/out")"
check 0 '- "x.example:1"' "-a over servers" -c "$T/two.yaml" -a x.example:1
grep -qF 'c.example' "$T/out" && fail "-a: the file's servers are still there: $(cat "$T/out")"
check 2 '-a/--addr "x.example:1" is given twice' "-a twice the same" \
    -c "$T/one.yaml" -a x.example:1 -a x.example:1
check 2 '-a/--addr "nonsense"' "-a bad" -c "$T/one.yaml" -a nonsense

[ "$fails" -eq 0 ] || exit 1
echo "PASS: tokiame-servers"
