/* cli.h - the command table (git's builtin/ style) and shared CLI helpers.
 *
 * Each command lives in cli/cmd-<name>.c and has the shape
 *   int cmd_<name>(int argc, char **argv);
 * returning the process exit status.  argv[0] is the command name.
 */
#ifndef GS_CLI_H
#define GS_CLI_H

#include <stdbool.h>
#include <stdio.h>

#include "gs-error.h"

/* Exit statuses, documented in README ("Exit codes"). */
enum cli_exit {
	CLI_EXIT_OK = 0,
	CLI_EXIT_ERROR = 1,  /* error, or "different" for diff */
	CLI_EXIT_DIFF_ERROR = 2,
	CLI_EXIT_USAGE = 129,
};

/* Print "gitsync: error: where: msg" to stderr.  Returns CLI_EXIT_ERROR. */
int cli_error(const struct gs_error *err);
/* Print a usage error and the hint to run --help.  Returns CLI_EXIT_USAGE. */
int cli_usage_error(const char *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* True when argv contains -h or --help (before a "--"). */
bool cli_wants_help(int argc, char **argv);
/* The directory files may be read from when rendering abs (an absolute
 * path to a file or directory): the Git checkout holding it (whose .git is
 * never read, see kz-fs.h), else abs itself (its directory for a file);
 * never "/".  `--root DIR` widens it.  Returns an owned string. */
char *cli_confinement_root(const char *abs);

/* The front binary (main.c): replace this process with gitsync-core
 * running argv (argv[0] "gitsync").  Returns only on failure. */
int cli_exec_core(char **argv);
int cmd_render(int argc, char **argv) __attribute__((weak));
int cmd_diff(int argc, char **argv) __attribute__((weak));
int cmd_sync(int argc, char **argv) __attribute__((weak));
int cmd_app(int argc, char **argv) __attribute__((weak));
int cmd_install(int argc, char **argv) __attribute__((weak));
int cmd_agent(int argc, char **argv) __attribute__((weak));
int cmd_token(int argc, char **argv) __attribute__((weak));
int cmd_health(int argc, char **argv) __attribute__((weak));
int cmd_version(int argc, char **argv);

#endif
