/* main.c - gitsync entry point: dispatch to the command table. */
#include <stdio.h>
#include <string.h>

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
		if (cmds[i].fn)
			fprintf(f, "  %-10s %s\n", cmds[i].name, cmds[i].summary);
	fprintf(f, "\nrun 'gitsync <command> --help' for the options of one command\n");
}

int main(int argc, char **argv)
{
	const struct command cmds[] = {
		{ "render", cmd_render, "render a kustomization or directory of manifests" },
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
	if (!strcmp(argv[1], "app") && cmd_app_remote) {
		/* CI without a kubeconfig: the agent's API (GITSYNC_SERVER) */
		int rc = cmd_app_remote(argc - 1, argv + 1);
		if (rc >= 0)
			return rc;
	}
	for (i = 0; i < n; i++)
		if (cmds[i].fn && !strcmp(argv[1], cmds[i].name))
			return cmds[i].fn(argc - 1, argv + 1);
	fprintf(stderr, "gitsync: '%s' is not a gitsync command\n", argv[1]);
	usage(stderr, cmds, n);
	return CLI_EXIT_USAGE;
}
