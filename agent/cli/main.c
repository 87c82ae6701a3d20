/* main.c - gitsync entry point: dispatch to the command table.
 *
 * Built twice (agent/meson.build):
 *   gitsync-core  every command;
 *   gitsync       the front binary (GITSYNC_FRONT): render, version and
 *                 help, which need no Git, network or TLS, run here; every
 *                 other command is handed to gitsync-core (found next to
 *                 this binary) by execv(), in the same process.
 * Why: gitsync-core needs libgit2, libcurl and libmicrohttpd, whose closure
 * is ~40 shared libraries (GnuTLS, Kerberos, LDAP, SSH, ...).  Mapping and
 * relocating them costs ~15M instructions and ~9 MB of RSS before main()
 * runs, more than a whole small render, and no lazy initialisation inside
 * the program can give that back: only not loading them can.  The agent
 * and the other commands pay one extra execv() (well under a millisecond).
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"

struct command {
	const char *name;
	int (*fn)(int argc, char **argv);
	const char *summary;
};

static void usage(FILE *f, const struct command *cmds, size_t n)
{
	size_t i;

	fprintf(f, "usage: gitsync <command> [options]\n\n"
		   "GitOps synchronisation: render Git content, diff it against a cluster,\n"
		   "apply it with server-side apply, prune and report health.\n\ncommands:\n");
	for (i = 0; i < n; i++)
#ifdef GITSYNC_FRONT
		/* the front binary lists what gitsync-core runs for it too */
#else
		if (cmds[i].fn)
#endif
			fprintf(f, "  %-10s %s\n", cmds[i].name, cmds[i].summary);
	fprintf(f, "\nrun 'gitsync <command> --help' for the options of one command\n");
}

#ifdef GITSYNC_FRONT
/* Replace this process with gitsync-core: $GITSYNC_CORE when set, else
 * gitsync-core in the directory of this executable.  Returns only on
 * failure. */
int cli_exec_core(char **argv)
{
	const char *env = getenv("GITSYNC_CORE");
	char path[PATH_MAX];
	ssize_t n;
	char *slash;

	if (env && *env) {
		snprintf(path, sizeof(path), "%s", env);
	} else {
		n = readlink("/proc/self/exe", path, sizeof(path) - 1);
		if (n < 0) {
			fprintf(stderr, "gitsync: error: cannot find this executable: %s\n",
				strerror(errno));
			return CLI_EXIT_ERROR;
		}
		path[n] = '\0';
		slash = strrchr(path, '/');
		if (!slash || (size_t)(slash - path) + sizeof("/gitsync-core") > sizeof(path)) {
			fprintf(stderr, "gitsync: error: cannot locate gitsync-core\n");
			return CLI_EXIT_ERROR;
		}
		memcpy(slash, "/gitsync-core", sizeof("/gitsync-core"));
	}
	execv(path, argv);
	fprintf(stderr, "gitsync: error: '%s' needs %s: %s (install it next to gitsync)\n", argv[1],
		path, strerror(errno));
	return CLI_EXIT_ERROR;
}
#endif

int main(int argc, char **argv)
{
	const struct command cmds[] = {
		{ "render", cmd_render, "render a kustomization or directory of manifests" },
		{ "health", cmd_health, "print the health of objects in files (try Lua health checks)" },
		{ "diff", cmd_diff, "compare rendered objects with the live cluster" },
		{ "sync", cmd_sync, "apply rendered objects to the cluster (server-side apply)" },
		{ "app", cmd_app, "manage Applications (create, list, get, sync, wait, ...)" },
		{ "install", cmd_install, "install the Application CRD and the agent" },
		{ "agent", cmd_agent, "run the reconciling agent" },
		{ "token", cmd_token, "create an API token for CI (gitsync token create NAME)" },
		{ "version", cmd_version, "print the version" },
	};
	const size_t n = sizeof(cmds) / sizeof(cmds[0]);
	size_t i;

	if (argc < 2 || !strcmp(argv[1], "-h") || !strcmp(argv[1], "--help") ||
	    !strcmp(argv[1], "help")) {
		usage(argc < 2 ? stderr : stdout, cmds, n);
		return argc < 2 ? CLI_EXIT_USAGE : CLI_EXIT_OK;
	}
	if (!strcmp(argv[1], "--version"))
		return cmd_version(argc - 1, argv + 1);
	for (i = 0; i < n; i++) {
		if (strcmp(argv[1], cmds[i].name))
			continue;
		if (cmds[i].fn)
			return cmds[i].fn(argc - 1, argv + 1);
#ifdef GITSYNC_FRONT
		return cli_exec_core(argv);
#endif
	}
	fprintf(stderr, "gitsync: '%s' is not a gitsync command\n", argv[1]);
	usage(stderr, cmds, n);
	return CLI_EXIT_USAGE;
}
