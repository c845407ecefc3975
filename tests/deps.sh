# deps.sh: install the Debian packages listed in tests/deps.txt that are
# missing. Sourced by tests/run.sh and quickstart.sh so the list lives in
# one place. Only touches apt when something is actually missing.

# tl_install_deps DEPS_FILE USE...: install every package of DEPS_FILE
# whose USE column is one of USE... and that dpkg does not report
# installed. A third column names a command that makes the package
# unnecessary when it is on PATH already (node and npm installed another
# way, whose packages would conflict with Debian's).
tl_install_deps()
{
	local file=$1 pkg use cmd want missing=()
	shift
	while read -r pkg use cmd _; do
		case $pkg in ''|'#'*) continue ;; esac
		case $cmd in '#'*) cmd= ;; esac
		for want in "$@"; do
			[ "$use" = "$want" ] || continue
			[ -n "$cmd" ] && command -v "$cmd" >/dev/null && continue
			if [ "$(dpkg-query -W -f='${db:Status-Status}' "$pkg" 2>/dev/null)" != installed ]; then
				missing+=("$pkg")
			fi
		done
	done <"$file"
	[ ${#missing[@]} -eq 0 ] && return 0
	if [ "$(id -u)" -ne 0 ]; then
		echo "missing Debian packages: ${missing[*]}" >&2
		echo "run as root, or: apt-get install ${missing[*]}" >&2
		return 1
	fi
	echo "installing: ${missing[*]}"
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq &&
	    apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}
