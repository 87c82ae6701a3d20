/* cli.c - shared CLI helpers: error reporting and exit codes in one place. */
#include "cli/cli.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "gs-alloc.h"

int cli_error(const struct gs_error *err)
{
	char buf[1100];

	fprintf(stderr, "gitsync: error: %s\n", gs_error_str(err, buf, sizeof(buf)));
	return CLI_EXIT_ERROR;
}

int cli_usage_error(const char *cmd, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "gitsync %s: ", cmd);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\nrun 'gitsync %s --help' for usage\n", cmd);
	return CLI_EXIT_USAGE;
}

bool cli_wants_help(int argc, char **argv)
{
	int i;

	for (i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--"))
			break;
		if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help"))
			return true;
	}
	return false;
}

int cmd_version(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	printf("gitsync %s\n", GITSYNC_VERSION);
	return CLI_EXIT_OK;
}

char *cli_confinement_root(const char *abs)
{
	char *dir = gs_strdup(abs);
	struct stat st;

	if (stat(dir, &st) == 0 && !S_ISDIR(st.st_mode)) {
		char *slash = strrchr(dir, '/');
		if (slash && slash != dir)
			*slash = '\0';
	}
	for (;;) {
		char *git = gs_asprintf("%s/.git", dir);
		bool found = stat(git, &st) == 0;
		char *slash;

		free(git);
		if (found)
			return dir;
		slash = strrchr(dir, '/');
		if (!slash || slash == dir)
			break;
		*slash = '\0';
	}
	free(dir);
	/* not in a checkout: the root is the path itself (its directory for a
	 * file), never "/" (kubectl kustomize's LoadRestrictionsRootOnly) */
	dir = gs_strdup(abs);
	if (stat(dir, &st) == 0 && !S_ISDIR(st.st_mode)) {
		char *slash = strrchr(dir, '/');

		if (slash && slash != dir)
			*slash = '\0';
	}
	return dir;
}
