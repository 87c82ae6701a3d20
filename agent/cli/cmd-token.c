/* cmd-token.c - `gitsync token create NAME --scope sync|read`: a new API
 * token, printed once, and the line to add to the Secret's api.tokens. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "cli/cli-opt.h"
#include "cli/cli.h"
#include "httpd/apitoken.h"

static const struct cli_opt token_opts[] = {
	{ "scope", 0, CLI_OPT_STRING, "SCOPE", "read, sync or admin", "sync", "read|sync|admin", NULL },
	{ "output", 'o', CLI_OPT_STRING, "FORMAT",
	  "line: only the api.tokens line to stdout, the token to\nstderr (for scripts)", NULL,
	  "line", NULL },
	CLI_OPT_END,
};

static const struct cli_cmd token_cmd = {
	"token", "create NAME [--scope read|sync|admin] [-o line]",
	"Print a new API token (once: it is not stored anywhere) and the line\n"
	"`NAME SCOPE sha256:HEX` to append to the key api.tokens of the Secret\n"
	"gitsync-secret.  The agent keeps only that hash.  Scope `read` lists,\n"
	"gets, diffs and follows apps; `sync` may also request syncs and rollbacks\n"
	"(default); `admin` may also create and delete apps (docs/cli.md lists the\n"
	"scope of each route).\n",
	token_opts, NULL, NULL, NULL, 2, 2,
};

int cmd_token(int argc, char **argv)
{
	struct gs_error err = GS_ERROR_INIT;
	enum apitoken_scope scope = APITOKEN_SYNC;
	const char *name = NULL;
	char *tok = NULL, *line = NULL;
	struct cli_args args = CLI_ARGS_INIT;
	bool line_only = false;
	int rc;

	if ((rc = cli_opt_parse(&args, &token_cmd, argc, argv)) || args.help)
		goto out;
	if (strcmp(args.pos[0], "create")) {
		rc = cli_usage_error("token", "expected 'create NAME', not '%s'", args.pos[0]);
		goto out;
	}
	name = args.pos[1];
	scope = apitoken_scope_parse(cli_args_str(&args, "scope"));
	line_only = cli_args_str(&args, "output") != NULL;
	if (apitoken_generate(&tok, &line, name, scope, &err)) {
		rc = cli_error(&err);
		goto out;
	}
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
out:
	cli_args_release(&args);
	return rc;
}
