/* cli-opt.h - the one option parser of the CLI: a command is a table.
 *
 * Every command describes its options once, in a `struct cli_opt` array
 * (long name, short letter, whether it takes a value, the value's
 * placeholder, default, allowed values, help).  From that table
 *   - cli_opt_parse() parses argv the same way for every command:
 *     "--name V", "--name=V", "-x V", "-xV", "--flag", "--flag=true|false",
 *     "--" ends the options; a mistake is reported as
 *       gitsync CMD: option '--name' needs a value
 *       gitsync CMD: unknown option '--nmae'
 *       gitsync CMD: option '--output' wants one of json, yaml, not 'x'
 *     followed by "run 'gitsync CMD --help' for usage", exit 129;
 *   - cli_opt_help() prints the --help text, so help cannot drift from
 *     what is parsed (docs/cli.md is generated from it in turn).
 *
 * Nothing here allocates except the parsed values' arrays (cli_args);
 * strings in the result point into argv or the table.
 */
#ifndef GS_CLI_OPT_H
#define GS_CLI_OPT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

enum cli_opt_type {
	CLI_OPT_BOOL,   /* --flag, or --flag=true|false */
	CLI_OPT_STRING, /* --name V; the last one given wins */
	CLI_OPT_LIST,   /* --name V, repeatable; every value kept in order */
};

struct cli_opt {
	const char *name;   /* long name without "--" ("revision"); NULL ends a table */
	char short_name;    /* 'o' for -o, or 0 */
	enum cli_opt_type type;
	const char *arg;    /* placeholder in help ("R", "D"); NULL for BOOL */
	const char *help;   /* may hold '\n' for continuation lines */
	const char *dflt;   /* value when not given, shown in help; or NULL */
	const char *choices; /* "json|yaml|wide": a value outside is a usage error */
	/* Extra check of a value (a duration, a number): false makes it a usage
	 * error "invalid value 'V' for --name". */
	bool (*valid)(const char *value);
};

/* One command: its synopsis, text and option groups (e.g. its own options
 * and the cluster options every `app` subcommand shares). */
struct cli_cmd {
	const char *name;          /* "app sync": used in messages and help */
	const char *synopsis;      /* "NAME [--revision R] ...", after "usage: gitsync app sync " */
	const char *description;   /* paragraph(s) after the usage line */
	const struct cli_opt *opts;  /* this command's options (NULL-name terminated) */
	const char *common_title;  /* heading of the second group ("common options") */
	const struct cli_opt *common; /* or NULL */
	const char *footer;        /* printed last (environment notes, examples), or NULL */
	unsigned min_pos, max_pos; /* positional arguments allowed */
};

#define CLI_OPT_END { NULL, 0, CLI_OPT_BOOL, NULL, NULL, NULL, NULL, NULL }

struct cli_arg_value {
	const struct cli_opt *opt;
	const char *value;       /* last value (STRING), "true"/"false" (BOOL), or NULL */
	const char **list;       /* LIST values, owned array of borrowed strings */
	size_t n, alloc;
	bool given;
};

/* Result of a parse: values by option, and the positional arguments. */
struct cli_args {
	const struct cli_cmd *cmd;
	struct cli_arg_value *v;
	size_t nv;
	const char **pos;
	size_t npos, apos;
	bool help;               /* -h/--help was given: help already printed */
};

#define CLI_ARGS_INIT { NULL, NULL, 0, NULL, 0, 0, false }

/* Parse argv[1..argc) (argv[0] is the command's name) against cmd.
 * Returns 0 with *out filled (out->help set when --help was printed to
 * stdout: the caller returns CLI_EXIT_OK), or CLI_EXIT_USAGE after printing
 * the mistake to stderr.  Release *out with cli_args_release() in both cases. */
int cli_opt_parse(struct cli_args *out, const struct cli_cmd *cmd, int argc, char **argv);
void cli_args_release(struct cli_args *a);

/* Value of option NAME (long name): the given value, else its default, else
 * NULL.  NAME must be in the command's tables (a typo aborts: a programming
 * error, caught by the first test that runs the command). */
const char *cli_args_str(const struct cli_args *a, const char *name);
/* BOOL options: given (and not =false), or its default "true". */
bool cli_args_bool(const struct cli_args *a, const char *name);
/* True when the option was on the command line (any type). */
bool cli_args_given(const struct cli_args *a, const char *name);
/* LIST options: the values (borrowed; NULL when none) and their count. */
const char *const *cli_args_list(const struct cli_args *a, const char *name, size_t *n);

/* Print "TITLE:" and the help lines of the options of table g. */
void cli_opt_help_group(FILE *f, const char *title, const struct cli_opt *g);
/* Print the help of cmd (what --help prints). */
void cli_opt_help(FILE *f, const struct cli_cmd *cmd);

#endif
