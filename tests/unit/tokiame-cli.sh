#!/bin/sh
# tokiame-cli: the command line of the built tokiame, without a server.
# --version and --help answer and exit 0; a bad command line exits 2
# with the usage on stderr; -t checks a config (file:line errors, exit 2)
# and -t -v shows the effective one, where flags beat the file and the
# token, from --token-file or TOKIAME_TOKEN, only ever shows as "(set)".
#
# Exit codes follow automake: 0 pass, 1 fail.

top_builddir=${top_builddir:-.}
TOKIAME=$top_builddir/tokiame
T=$(mktemp -d "${TMPDIR:-/tmp}/tokiame-cli.XXXXXX") || exit 1
trap 'rm -rf "$T"' EXIT
fails=0
SECRET=tlk_0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef

fail() { echo "FAIL: $*"; fails=$((fails + 1)); }

# run ARGS...: run tokiame; status in $rc, output in $T/out and $T/err.
run()
{
	"$TOKIAME" "$@" >"$T/out" 2>"$T/err"
	rc=$?
}

# expect STATUS WHAT: check the last run's exit status.
expect()
{
	if [ "$rc" -ne "$1" ]; then
		fail "$2: exit $rc, expected $1"
		sed 's/^/  stdout: /' "$T/out"
		sed 's/^/  stderr: /' "$T/err"
		return 1
	fi
	return 0
}

has() { grep -qF -e "$2" "$T/$1"; }

# The secret must never reach stdout or stderr.
no_secret()
{
	if has out "$SECRET" || has err "$SECRET"; then
		fail "$1: the token was printed"
	fi
}

test -x "$TOKIAME" || { echo "FAIL: $TOKIAME is not built"; exit 1; }
unset TOKIAME_TOKEN

# --- answers that need no config
version=$(sed -n 's/^#define PACKAGE_VERSION "\(.*\)"$/\1/p' "$top_builddir/config.h")
run --version
expect 0 "--version" && { grep -qx "tokiame $version" "$T/out" || fail "--version printed: $(cat "$T/out")"; }
for h in -h --help; do
	run $h
	expect 0 "$h" && {
		has out "usage: tokiame" || fail "$h: no usage on stdout"
		test -s "$T/err" && fail "$h: wrote to stderr"
	}
done

# --- bad command lines
for bad in "--bogus" "-x" "-a" "--token" "extra-argument"; do
	run $bad
	expect 2 "bad command line '$bad'" && {
		has err "usage: tokiame" || fail "'$bad': no usage on stderr"
		test -s "$T/out" && fail "'$bad': wrote to stdout"
	}
done

# no --token: it would be an abbreviation of --token-file for getopt
for bad in "--token $SECRET" "--token=$SECRET" "--token"; do
	run $bad
	expect 2 "'--token'" && { has err "no --token option" || fail "--token: no explanation"; }
	no_secret "--token"
done

# --- a minimal good config
printf '%s\n' "$SECRET" >"$T/token"
cat >"$T/good.yaml" <<EOT
server: 127.0.0.1:7443
namespace: file-ns
token_file: $T/token
backends:
  - url: http://127.0.0.1:11434/v1
EOT
run -t -c "$T/good.yaml"
expect 0 "-t on a good config" && {
	has err "$T/good.yaml: configuration OK" || fail "-t: no 'configuration OK' line"
	test -s "$T/out" && fail "-t without -v wrote to stdout"
}
no_secret "-t"

# --- -t -v shows the effective config; flags beat the file
run -t -v -c "$T/good.yaml"
expect 0 "-t -v" && {
	has out "127.0.0.1:7443" || fail "-t -v: server from the file not shown"
	has out "file-ns" || fail "-t -v: namespace from the file not shown"
	has out "(set)" || fail "-t -v: token not shown as (set)"
}
no_secret "-t -v"

run -t -v -c "$T/good.yaml" -a 192.0.2.7:9443 -n flag-ns -l 127.0.0.1:17749
expect 0 "-t -v with flags" && {
	has out "192.0.2.7:9443" || fail "-a did not override server"
	has out "flag-ns" || fail "-n did not override namespace"
	has out "127.0.0.1:17749" || fail "-l did not override api_addr"
	has out "127.0.0.1:7443" && fail "-a: the file's server is still shown"
	has out "file-ns" && fail "-n: the file's namespace is still shown"
}
run -t -v --addr=192.0.2.8:9443 --namespace=long-ns --api-addr=127.0.0.1:17750 -c "$T/good.yaml"
expect 0 "long options" && {
	has out "192.0.2.8:9443" || fail "--addr did not override server"
	has out "long-ns" || fail "--namespace did not override namespace"
	has out "127.0.0.1:17750" || fail "--api-addr did not override api_addr"
}

# malformed flag values are config errors
for bad in "-a nocolon" "-a host:0" "-a host:99999" "-n has:colon" "-l :7749"; do
	run -t -c "$T/good.yaml" $bad
	expect 2 "malformed flag '$bad'"
done

# --- the token from --token-file and from TOKIAME_TOKEN
cat >"$T/notoken.yaml" <<EOT
server: 127.0.0.1:7443
namespace: file-ns
backends:
  - url: http://127.0.0.1:11434/v1
EOT
run -t -v -c "$T/notoken.yaml"
expect 2 "no token anywhere" && { has err "token" || fail "no token: the error does not say token"; }

run -t -v -c "$T/notoken.yaml" --token-file "$T/token"
expect 0 "--token-file" && { has out "(set)" || fail "--token-file: token not (set)"; }
no_secret "--token-file"

TOKIAME_TOKEN=$SECRET "$TOKIAME" -t -v -c "$T/notoken.yaml" >"$T/out" 2>"$T/err"
rc=$?
expect 0 "TOKIAME_TOKEN" && { has out "(set)" || fail "TOKIAME_TOKEN: token not (set)"; }
no_secret "TOKIAME_TOKEN"

run -t -c "$T/notoken.yaml" --token-file "$T/does-not-exist"
expect 2 "--token-file naming a missing file"

# a token file others may read is a leaked key waiting to happen: warn
chmod 600 "$T/token"
run -t -c "$T/notoken.yaml" --token-file "$T/token"
expect 0 "--token-file mode 600" && { has err "warning" && fail "mode 600: warned: $(cat "$T/err")"; }
chmod 644 "$T/token"
run -t -c "$T/notoken.yaml" --token-file "$T/token"
expect 0 "--token-file mode 644" && {
	has err "warning: $T/token is readable or writable by group or others (mode 0644)" ||
	    fail "mode 644: no warning: $(cat "$T/err")"
}
no_secret "--token-file mode 644"
chmod 600 "$T/token"

# --- errors name file and line
cat >"$T/unknown.yaml" <<EOT
server: 127.0.0.1:7443
namespace: file-ns
bogus_key: 1
EOT
run -t -c "$T/unknown.yaml"
expect 2 "unknown key" && {
	has err "$T/unknown.yaml:3: bogus_key" || fail "unknown key: no 'file:3: bogus_key' in: $(cat "$T/err")"
}

run -t -c "$T/missing.yaml"
expect 2 "-c naming a missing file" && { has err "$T/missing.yaml" || fail "missing -c file: not named"; }

# --- no -c: a missing default file is no error in itself. Flags and
# TOKIAME_TOKEN give server, namespace and token; the backends can only
# come from a file, so the check must get that far and name them.
default=$("$TOKIAME" --help | sed -n 's/.*config file (default \(.*\))$/\1/p')
if [ -z "$default" ]; then
	fail "--help does not name the default config file"
elif [ -e "$default" ]; then
	echo "note: $default exists here, the no-file case is not tested"
else
	TOKIAME_TOKEN=$SECRET "$TOKIAME" -t -a 127.0.0.1:7443 -n env-ns >"$T/out" 2>"$T/err"
	rc=$?
	if expect 2 "no config file, flags and TOKIAME_TOKEN"; then
		has err "$default" && fail "no config file: the missing default file was an error"
		has err "backends" || fail "no config file: the error is not about backends: $(cat "$T/err")"
		has err "server" && fail "no config file: -a was not applied"
		has err "token" && fail "no config file: TOKIAME_TOKEN was not used"
	fi
	no_secret "no config file"
fi

if [ "$fails" -ne 0 ]; then
	echo "tokiame-cli: $fails failure(s)"
	exit 1
fi
echo "tokiame-cli: PASS"
exit 0
