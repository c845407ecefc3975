#!/bin/sh
# man-lint: the generated manual pages are `mandoc -Tlint` clean, no
# @placeholder@ is left in a page or a unit, and the OPTIONS section of
# tokilake(8) and tokiame(8) lists exactly the flags that `tokilake -h`
# and `tokiame --help` show: nothing missing, nothing invented.
#
# Exit codes follow automake: 0 pass, 1 fail, 77 skip (no mandoc).

top_builddir=${top_builddir:-.}
top_srcdir=${top_srcdir:-.}
fails=0

fail() { echo "FAIL: $*"; fails=$((fails + 1)); }

if ! command -v mandoc >/dev/null 2>&1; then
	echo "SKIP: mandoc is not installed (apt-get install mandoc)"
	exit 77
fi

# Every page make generated, with the two that must exist.
pages=
for p in "$top_builddir"/man/*.5 "$top_builddir"/man/*.8; do
	test -f "$p" && pages="$pages $p"
done
for need in tokilake.8 tokiame.8; do
	test -f "$top_builddir/man/$need" || fail "man/$need was not built"
done

for p in $pages; do
	out=$(mandoc -Tlint -Wwarning "$p" 2>&1)
	if [ -n "$out" ]; then
		fail "mandoc -Tlint $p:"
		printf '%s\n' "$out"
	fi
done

for f in $pages "$top_builddir"/etc/*.service; do
	test -f "$f" || continue
	if grep -n '@[A-Za-z_]*@' "$f"; then
		fail "$f: placeholder left unsubstituted"
	fi
done

# Options named in a usage text, one per line: "x" for -x (and for each
# letter of -xyz), "-long" for --long.
usage_options()
{
	tr ' \t|[](),=' '\n\n\n\n\n\n\n\n' | awk '
		/^--[a-z][a-z0-9-]*$/ { print substr($0, 2); next }
		/^-[A-Za-z]+$/ { for (i = 2; i <= length($0); i++) print substr($0, i, 1) }
	' | sort -u
}

# Options documented in a page: every "Fl X" on an .It line of OPTIONS.
page_options()
{
	awk '
		/^\.Sh / { in_opts = ($2 == "OPTIONS"); next }
		in_opts && /^\.It / {
			for (i = 2; i < NF; i++)
				if ($i == "Fl") print $(i + 1)
		}
	' "$1" | sort -u
}

# compare PROGRAM USAGE-TEXT PAGE
compare()
{
	prog=$1 usage=$2 page=$3
	test -f "$page" || return
	if [ -z "$usage" ]; then
		fail "$prog printed no usage, so its options cannot be checked"
		return
	fi
	in_usage=$(printf '%s\n' "$usage" | usage_options)
	in_page=$(page_options "$page")
	for o in $in_usage; do
		printf '%s\n' "$in_page" | grep -qxF -e "$o" ||
		    fail "$prog: option -$o is in the usage but not in OPTIONS of $(basename "$page")"
	done
	for o in $in_page; do
		printf '%s\n' "$in_usage" | grep -qxF -e "$o" ||
		    fail "$(basename "$page"): OPTIONS documents -$o, which $prog does not show"
	done
}

if [ -x "$top_builddir/tokiame" ]; then
	compare tokiame "$("$top_builddir/tokiame" --help 2>&1)" "$top_builddir/man/tokiame.8"
	grep -q TOKIAME_TOKEN "$top_builddir/man/tokiame.8" ||
	    fail "tokiame.8 does not document TOKIAME_TOKEN"
else
	fail "tokiame is not built"
fi
if [ -x "$top_builddir/tokilake" ]; then
	compare tokilake "$("$top_builddir/tokilake" -h 2>&1)" "$top_builddir/man/tokilake.8"
else
	fail "tokilake is not built"
fi

if [ "$fails" -ne 0 ]; then
	echo "man-lint: $fails failure(s)"
	exit 1
fi
echo "man-lint: PASS ($(echo $pages | wc -w) pages)"
exit 0
