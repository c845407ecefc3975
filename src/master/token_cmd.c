/*
 * token_cmd: `tokilake token new NAMESPACE` and `tokilake token hash`.
 *
 * In standalone mode the config keeps only token hashes. `token new`
 * makes a fresh high-entropy token, prints it once (the operator gives it
 * to tokiame) and prints the YAML lines to paste into tokilake.yaml.
 * `token hash` reads a token on stdin and prints its hash, for adding a
 * token that already exists (rotation keeps several per namespace).
 *
 * `tokilake key new NAME` does the same for an end-user API key (apikey.h):
 * the key once, then its keys: lines. tokilakectl(8) manages the keys of
 * a PostgreSQL network.
 */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "apikey.h"
#include "cfg_value.h"
#include "master.h"
#include "token.h"
#include "xmalloc.h"

static int
usage(void)
{
	fprintf(stderr, "usage: tokilake token new NAMESPACE\n"
	    "       tokilake token hash < token-file\n");
	return 1;
}

static int
token_new(const char *ns)
{
	char token[TOKEN_LEN + 1], hash[TOKEN_HASH_LEN + 1];

	if (!cfg_namespace_valid(ns, strlen(ns))) {
		fprintf(stderr, "tokilake: bad namespace \"%s\": %s\n", ns, CFG_NAMESPACE_RULE);
		return 2;
	}
	if (token_generate(token) != 0) {
		fprintf(stderr, "tokilake: cannot get random bytes for a token\n");
		return 1;
	}
	token_hash(token, strlen(token), hash);
	printf("# token for namespace %s (shown once; give it to tokiame as its token):\n"
	    "#   %s\n"
	    "# add to tokilake.yaml (only the hash is stored), then reload (SIGHUP):\n"
	    "namespaces:\n"
	    "  %s:\n"
	    "    tokens: [\"%s\"]\n",
	    ns, token, ns, hash);
	secure_wipe(token, sizeof(token));
	return 0;
}

static int
token_hash_stdin(void)
{
	char line[1024], hash[TOKEN_HASH_LEN + 1];
	size_t n;

	if (fgets(line, sizeof(line), stdin) == NULL) {
		fprintf(stderr, "tokilake: no token on standard input\n");
		return 1;
	}
	n = strcspn(line, "\r\n");
	line[n] = '\0';
	if (n == 0) {
		fprintf(stderr, "tokilake: empty token\n");
		return 1;
	}
	token_hash(line, n, hash);
	secure_wipe(line, sizeof(line));
	printf("%s\n", hash);
	return 0;
}

int
token_command(int argc, char **argv)
{
	if (argc == 3 && strcmp(argv[1], "new") == 0)
		return token_new(argv[2]);
	if (argc == 2 && strcmp(argv[1], "hash") == 0)
		return token_hash_stdin();
	return usage();
}

static int
key_new(const char *name)
{
	char key[APIKEY_LEN + 1], hash[TOKEN_HASH_LEN + 1];

	if (!apikey_name_valid(name)) {
		fprintf(stderr, "tokilake: bad key name \"%s\": 1 to %d of A-Z a-z 0-9 . _ -\n",
		    name, APIKEY_NAME_MAX);
		return 2;
	}
	if (apikey_generate(key) != 0) {
		fprintf(stderr, "tokilake: cannot get random bytes for a key\n");
		return 1;
	}
	token_hash(key, strlen(key), hash);
	printf("# API key %s (shown once; its user sends it as \"Authorization: Bearer KEY\"):\n"
	    "#   %s\n"
	    "# add to tokilake.yaml (only the hash is stored), then reload (SIGHUP):\n"
	    "keys:\n"
	    "  %s:\n"
	    "    hash: \"%s\"\n",
	    name, key, name, hash);
	secure_wipe(key, sizeof(key));
	return 0;
}

int
key_command(int argc, char **argv)
{
	if (argc == 3 && strcmp(argv[1], "new") == 0)
		return key_new(argv[2]);
	fprintf(stderr, "usage: tokilake key new NAME\n");
	return 1;
}
