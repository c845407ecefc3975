# keys-lib.sh: what the keys-*.sh tests share (sourced, bash, after
# path-lib.sh).
#
#   newkey NAME     a key from `tokilake key new NAME`: KEY_NAME is the
#                   secret, HASH_NAME its hash (. and - in NAME become _)
#   keys_yaml       the test's own: YAML appended to path-lib's config
#                   (under its namespaces: block, so it may add a
#                   namespace first, then keys:)
#   LINK_KEY        the key path_linked lists the models with

newkey()
{
	local out v=${1//[.-]/_}
	out=$("$TOKILAKE" key new "$1") || fail "tokilake key new $1 failed"
	printf -v "KEY_$v" '%s' "$(sed -n 's/^#   \(sk-tlk-[0-9a-f]*\)$/\1/p' <<<"$out")"
	printf -v "HASH_$v" '%s' "$(grep -o 'sha256:[0-9a-f]*' <<<"$out")"
}

eval "orig_$(declare -f path_write_config)"
path_write_config()
{
	local u
	orig_path_write_config "$@"
	# keys_yaml may continue the namespaces: block: whatever top-level
	# lines path-lib wrote after it (usage:) move to the end
	u=$(grep '^usage:' "$1")
	sed -i '/^usage:/d' "$1"
	keys_yaml >>"$1"
	[ -z "$u" ] || printf '%s\n' "$u" >>"$1"
}

path_linked()
{
	curl -s --max-time 2 -H "Authorization: Bearer $LINK_KEY" "$API/v1/models" 2>/dev/null |
	    grep -q "\"id\":\"$1\""
}
