/* cmd-token.c - `gitsync token create NAME --scope sync|read`: a new API
 * token, printed once, and the line to add to the Secret's api.tokens. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "cli/cli.h"
#include "httpd/apitoken.h"

static const char usage[] =
	"usage: gitsync token create NAME [--scope read|sync]\n"
	"\n"
	"Print a new API token (once: it is not stored anywhere) and the line\n"
	"`NAME SCOPE sha256:HEX` to append to the key api.tokens of the Secret\n"
	"gitsync-secret.  The agent keeps only that hash.  Scope `read` lists,\n"
	"gets, diffs and follows apps; `sync` may also request syncs (default).\n"
	"With -o line only the api.tokens line goes to stdout and the token to\n"
	"stderr, for scripts.\n";

int cmd_token(int argc, char **argv)
{
	struct gs_error err = GS_ERROR_INIT;
	enum apitoken_scope scope = APITOKEN_SYNC;
	const char *name = NULL;
	char *tok = NULL, *line = NULL;
	bool line_only = false;
	int i;

	if (cli_wants_help(argc, argv)) {
		fputs(usage, stdout);
		return CLI_EXIT_OK;
	}
	if (argc < 2 || strcmp(argv[1], "create"))
		return cli_usage_error("token", "expected 'create NAME'");
	for (i = 2; i < argc; i++) {
		const char *v = NULL;
		if (!strcmp(argv[i], "--scope") && i + 1 < argc)
			v = argv[++i];
		else if (!strncmp(argv[i], "--scope=", 8))
			v = argv[i] + 8;
		if (v) {
			scope = apitoken_scope_parse(v);
			if (scope == APITOKEN_NONE)
				return cli_usage_error("token", "--scope wants read or sync, not '%s'", v);
		} else if (!strcmp(argv[i], "-o") && i + 1 < argc && !strcmp(argv[i + 1], "line")) {
			line_only = true;
			i++;
		} else if (argv[i][0] == '-') {
			return cli_usage_error("token", "unknown option '%s'", argv[i]);
		} else if (!name) {
			name = argv[i];
		} else {
			return cli_usage_error("token", "unexpected argument '%s'", argv[i]);
		}
	}
	if (!name)
		return cli_usage_error("token", "missing token NAME");
	if (apitoken_generate(&tok, &line, name, scope, &err))
		return cli_error(&err);
	if (line_only) {
		fprintf(stderr, "%s\n", tok);
		printf("%s\n", line);
	} else {
		printf("token: %s\n"
		       "api.tokens line: %s\n"
		       "\nThe token is shown once.  Add the line to the key api.tokens of the\n"
		       "Secret gitsync-secret; CI uses GITSYNC_AUTH_TOKEN=<token>.\n",
		       tok, line);
	}
	OPENSSL_cleanse(tok, strlen(tok));
	free(tok);
	free(line);
	return CLI_EXIT_OK;
}
