/*
 * ctl_yaml: standalone mode. Without a database the namespaces and the
 * hashes of their tokens live in tokilake.yaml, so `namespace add` and
 * `token new` make a token, show it once and print the lines to paste,
 * as `tokilake token new` does. With --json the token is one object, the
 * keys of a database's `token new --json` with an id of null (no row):
 * tokilakectl(8) promises scripts that shape in both modes.
 */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "ctl.h"
#include "token.h"
#include "xmalloc.h"

int
ctl_print_token_yaml(const char *ns, const char *label, int new_namespace, int json)
{
	char token[TOKEN_LEN + 1], hash[TOKEN_HASH_LEN + 1];

	if (token_generate(token) != 0) {
		ctl_err("cannot get random bytes for a token");
		return CTL_FAIL;
	}
	token_hash(token, strlen(token), hash);
	if (json) {
		/* ns passed ctl_check_namespace, token and hash are hex: no escaping */
		printf("{\"id\":null,\"namespace\":\"%s\",\"token\":\"%s\",\"hash\":\"%s\"}\n",
		    ns, token, hash);
		goto out;
	}
	printf("# standalone mode (no database): namespaces and token hashes live in tokilake.yaml\n");
	if (new_namespace)
		printf("# namespace %s needs a token for its agents: here is its first one\n", ns);
	printf("# token for namespace %s (shown once; give it to tokiame as its token):\n"
	    "#   %s\n"
	    "# add to tokilake.yaml (only the hash is stored), then reload (SIGHUP):\n"
	    "namespaces:\n"
	    "  %s:\n",
	    ns, token, ns);
	if (label != NULL) {
		/* a YAML comment: one line, whatever the label holds */
		printf("    # ");
		for (const char *p = label; *p != '\0'; p++)
			putchar((unsigned char)*p < 0x20 || *p == 0x7f ? '?' : *p);
		putchar('\n');
	}
	printf("    tokens: [\"%s\"]\n", hash);
out:
	secure_wipe(token, sizeof(token));
	return fflush(stdout) == 0 ? CTL_OK : CTL_FAIL;
}
