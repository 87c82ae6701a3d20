/* cli-opt.c - the CLI's option parser and help generator (cli-opt.h). */
#include "cli/cli-opt.h"

#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "gs-alloc.h"
#include "gs-buf.h"

/* Help column: option names in 2..26, their help from 27 on. */
#define HELP_COL 27

static size_t group_len(const struct cli_opt *g)
{
	size_t n = 0;

	while (g && g[n].name)
		n++;
	return n;
}

static struct cli_arg_value *find_long(struct cli_args *a, const char *name, size_t len)
{
	size_t i;

	for (i = 0; i < a->nv; i++)
		if (strlen(a->v[i].opt->name) == len && !strncmp(a->v[i].opt->name, name, len))
			return &a->v[i];
	return NULL;
}

static struct cli_arg_value *find_short(struct cli_args *a, char c)
{
	size_t i;

	for (i = 0; i < a->nv; i++)
		if (a->v[i].opt->short_name && a->v[i].opt->short_name == c)
			return &a->v[i];
	return NULL;
}

/* "json|yaml" contains v as a whole word */
static bool in_choices(const char *choices, const char *v)
{
	size_t n = strlen(v);
	const char *p = choices;

	while (*p) {
		size_t w = strcspn(p, "|");

		if (w == n && !strncmp(p, v, n))
			return true;
		p += w;
		if (*p == '|')
			p++;
	}
	return false;
}

static int set_value(struct cli_args *a, struct cli_arg_value *v, const char *spelled,
		     const char *value)
{
	const struct cli_opt *o = v->opt;

	if (o->type == CLI_OPT_BOOL) {
		if (value && strcmp(value, "true") && strcmp(value, "false"))
			return cli_usage_error(a->cmd->name, "option '%s' wants true or false, not '%s'",
					       spelled, value);
		v->value = value && !strcmp(value, "false") ? "false" : "true";
		v->given = true;
		return 0;
	}
	if (o->choices && !in_choices(o->choices, value)) {
		struct gs_buf list = GS_BUF_INIT;
		const char *p;
		int rc;

		for (p = o->choices; *p; p++)
			if (*p == '|')
				gs_buf_puts(&list, ", ");
			else
				gs_buf_putc(&list, *p);
		rc = cli_usage_error(a->cmd->name, "option '%s' wants one of %s, not '%s'", spelled,
				     list.ptr, value);
		gs_buf_release(&list);
		return rc;
	}
	if (o->valid && !o->valid(value))
		return cli_usage_error(a->cmd->name, "invalid value '%s' for %s", value, spelled);
	v->given = true;
	v->value = value;
	if (o->type == CLI_OPT_LIST) {
		GS_ALLOC_GROW(v->list, v->n + 1, v->alloc);
		v->list[v->n++] = value;
	}
	return 0;
}

static void add_pos(struct cli_args *a, const char *arg)
{
	GS_ALLOC_GROW(a->pos, a->npos + 1, a->apos);
	a->pos[a->npos++] = arg;
}

int cli_opt_parse(struct cli_args *out, const struct cli_cmd *cmd, int argc, char **argv)
{
	size_t n1 = group_len(cmd->opts), n2 = group_len(cmd->common), k;
	bool dashdash = false;
	int i, rc;

	memset(out, 0, sizeof(*out));
	out->cmd = cmd;
	out->nv = n1 + n2;
	out->v = gs_calloc(out->nv ? out->nv : 1, sizeof(*out->v));
	for (k = 0; k < n1; k++)
		out->v[k].opt = &cmd->opts[k];
	for (k = 0; k < n2; k++)
		out->v[n1 + k].opt = &cmd->common[k];

	/* --help wins wherever it is (before "--"), mistakes or not */
	if (cli_wants_help(argc, argv)) {
		cli_opt_help(stdout, cmd);
		out->help = true;
		return 0;
	}
	for (i = 1; i < argc; i++) {
		const char *arg = argv[i], *value = NULL;
		struct cli_arg_value *v;
		char spelled[64];

		if (dashdash || arg[0] != '-' || !arg[1]) {
			add_pos(out, arg);
			continue;
		}
		if (!strcmp(arg, "--")) {
			dashdash = true;
			continue;
		}
		if (arg[1] == '-') {
			const char *eq = strchr(arg + 2, '=');
			size_t len = eq ? (size_t)(eq - arg - 2) : strlen(arg + 2);

			v = find_long(out, arg + 2, len);
			snprintf(spelled, sizeof(spelled), "--%.*s", (int)len, arg + 2);
			if (eq)
				value = eq + 1;
		} else {
			v = find_short(out, arg[1]);
			snprintf(spelled, sizeof(spelled), "-%c", arg[1]);
			if (arg[2])
				value = arg[2] == '=' ? arg + 3 : arg + 2;
			if (v && v->opt->type == CLI_OPT_BOOL && arg[2])
				v = NULL; /* no bundling of flags: "-yx" is a mistake */
		}
		if (!v)
			return cli_usage_error(cmd->name, "unknown option '%s'", arg);
		if (v->opt->type != CLI_OPT_BOOL && !value) {
			if (i + 1 >= argc)
				return cli_usage_error(cmd->name, "option '%s' needs a value", spelled);
			value = argv[++i];
		}
		if ((rc = set_value(out, v, spelled, value)))
			return rc;
	}
	if (out->npos < cmd->min_pos || out->npos > cmd->max_pos) {
		if (out->npos > cmd->max_pos)
			return cli_usage_error(cmd->name, "unexpected argument '%s' (usage: gitsync %s %s)",
					       out->pos[cmd->max_pos], cmd->name, cmd->synopsis);
		return cli_usage_error(cmd->name, "missing argument (usage: gitsync %s %s)", cmd->name,
				       cmd->synopsis);
	}
	return 0;
}

void cli_args_release(struct cli_args *a)
{
	size_t i;

	for (i = 0; i < a->nv; i++)
		free(a->v[i].list);
	free(a->v);
	free(a->pos);
	memset(a, 0, sizeof(*a));
}

static const struct cli_arg_value *lookup(const struct cli_args *a, const char *name)
{
	const struct cli_arg_value *v = find_long((struct cli_args *)a, name, strlen(name));

	if (!v) {
		/* a name missing from the table is a bug in the caller, not input */
		fprintf(stderr, "gitsync: BUG: %s has no option '--%s'\n", a->cmd->name, name);
		abort();
	}
	return v;
}

const char *cli_args_str(const struct cli_args *a, const char *name)
{
	const struct cli_arg_value *v = lookup(a, name);

	return v->given ? v->value : v->opt->dflt;
}

bool cli_args_bool(const struct cli_args *a, const char *name)
{
	const struct cli_arg_value *v = lookup(a, name);
	const char *s = v->given ? v->value : v->opt->dflt;

	return s && !strcmp(s, "true");
}

bool cli_args_given(const struct cli_args *a, const char *name)
{
	return lookup(a, name)->given;
}

const char *const *cli_args_list(const struct cli_args *a, const char *name, size_t *n)
{
	const struct cli_arg_value *v = lookup(a, name);

	*n = v->n;
	return v->list;
}

void cli_opt_help_group(FILE *f, const char *title, const struct cli_opt *g)
{
	size_t k;

	if (!group_len(g))
		return;
	fprintf(f, "%s:\n", title);
	for (k = 0; g[k].name; k++) {
		const struct cli_opt *o = &g[k];
		char head[96];
		const char *h = o->help ? o->help : "";
		int len;

		if (o->short_name)
			len = snprintf(head, sizeof(head), "  -%c, --%s%s%s", o->short_name, o->name,
				       o->arg ? " " : "", o->arg ? o->arg : "");
		else
			len = snprintf(head, sizeof(head), "  --%s%s%s", o->name, o->arg ? " " : "",
				       o->arg ? o->arg : "");
		if (len >= HELP_COL - 1)
			fprintf(f, "%s\n%*s", head, HELP_COL, "");
		else
			fprintf(f, "%-*s", HELP_COL, head);
		for (;;) {
			size_t w = strcspn(h, "\n");

			fprintf(f, "%.*s", (int)w, h);
			h += w;
			if (!*h)
				break;
			h++;
			fprintf(f, "\n%*s", HELP_COL, "");
		}
		if (o->dflt && o->type != CLI_OPT_BOOL && !strstr(o->help ? o->help : "", "default"))
			fprintf(f, " (default %s)", o->dflt);
		fputc('\n', f);
	}
}

void cli_opt_help(FILE *f, const struct cli_cmd *cmd)
{
	fprintf(f, "usage: gitsync %s%s%s\n", cmd->name, *cmd->synopsis ? " " : "", cmd->synopsis);
	if (cmd->description && *cmd->description)
		fprintf(f, "\n%s", cmd->description);
	if (group_len(cmd->opts)) {
		fputc('\n', f);
		cli_opt_help_group(f, "options", cmd->opts);
	}
	if (group_len(cmd->common)) {
		fputc('\n', f);
		cli_opt_help_group(f, cmd->common_title ? cmd->common_title : "common options", cmd->common);
	}
	if (cmd->footer && *cmd->footer)
		fprintf(f, "%s", cmd->footer);
}
