/* app-print.c - the layouts of `gitsync app` (those of `argocd app get/sync`),
 * printed from transport-neutral data so both backends look the same. */
#include "cli/app.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "app/app.h"
#include "gs-alloc.h"
#include "gs-time.h"
#include "cli/cli-table.h"
#include "gitsrc/gitsrc.h"
#include "mf-json.h"
#include "mf-object.h"
#include "mf-yaml.h"

const char *app_s_or(const char *s, const char *dflt)
{
	return s && *s ? s : dflt;
}

int app_rev_width(const char *rev)
{
	size_t n = rev ? strlen(rev) : 0, i;

	if (n != 40 && n != 64)
		return (int)n; /* a chart version: never cut */
	for (i = 0; i < n; i++)
		if (!isxdigit((unsigned char)rev[i]))
			return (int)n;
	return 7;
}

bool app_valid_duration(const char *v)
{
	return gs_time_parse_duration(v) >= 0;
}

double app_duration(const char *v)
{
	return v ? gs_time_parse_duration(v) : 0;
}

void app_view_release(struct app_view *v)
{
	mf_node_free(v->app);
	mf_node_free(v->resources);
	free(v->revision);
	free(v->sync);
	free(v->health);
	mf_node_free(v->diffs);
	mf_node_free(v->orphans);
	memset(v, 0, sizeof(*v));
}

void app_emit(const struct mf_node *n, const char *format)
{
	struct gs_buf b = GS_BUF_INIT;

	if (!strcmp(format, "json"))
		mf_json_emit(&b, n, MF_JSON_PRETTY);
	else
		mf_yaml_emit(&b, n, 0);
	fwrite(b.ptr, 1, b.len, stdout);
	if (b.len && b.ptr[b.len - 1] != '\n')
		putchar('\n');
	gs_buf_release(&b);
}

/* Passwords and tokens in repoURLs (https://user:token@host/...) are never
 * printed: not in the spec, nor in status, history or operationState (an
 * older server may not have redacted them). */
void app_redact(struct mf_node *app)
{
	gitsrc_node_redact(app);
}

/* The Helm part of the source, when there is one (chart, release, values). */
static void print_helm(const struct mf_node *app)
{
	const struct mf_node *h = mf_node_dig(app, "spec", "source", "helm", NULL);
	const struct mf_node *vf = mf_node_get(h, "valueFiles");
	const struct mf_node *ps = mf_node_get(h, "parameters");
	const char *chart = mf_node_dig_str(app, "spec", "source", "chart", NULL);
	const char *rel = mf_node_dig_str(h, "releaseName", NULL);
	size_t i;

	if (chart && *chart)
		printf("%-15s%s\n", "Chart:", chart);
	if (!h)
		return;
	printf("%-15s%s\n", "Helm Release:", app_s_or(rel, mf_obj_name(app)));
	if (mf_node_len(vf)) {
		printf("%-15s", "Helm Values:");
		for (i = 0; i < mf_node_len(vf); i++)
			printf("%s%s", i ? "," : "", app_s_or(mf_node_str(mf_node_at(vf, i)), ""));
		printf("\n");
	}
	for (i = 0; i < mf_node_len(ps); i++)
		printf("%-15s%s=%s\n", i ? "" : "Helm Params:",
		       app_s_or(mf_node_dig_str(mf_node_at(ps, i), "name", NULL), ""),
		       app_s_or(mf_node_dig_str(mf_node_at(ps, i), "value", NULL), ""));
}

void app_print_header(const struct app_be *b, const struct mf_node *app)
{
	char *repo = gitsrc_url_redact(app_repo(app));

	printf("%-15s%s/%s\n", "Name:", mf_obj_namespace(app), mf_obj_name(app));
	printf("%-15s%s\n", "Server:", b && b->server ? b->server : "");
	printf("%-15s%s\n", "Namespace:", app_s_or(app_dest_namespace(app), ""));
	printf("%-15s%s\n", "Repo:", repo);
	printf("%-15s%s\n", "Target:", app_s_or(app_revision(app), "HEAD"));
	printf("%-15s%s\n", "Path:", app_s_or(app_path(app), "."));
	print_helm(app);
	printf("%-15s%s\n", "Sync Policy:", app_sync_policy_str(app));
	free(repo);
}

void app_print_sync_status(const struct mf_node *app, const char *status, const char *health,
			   const char *rev)
{
	const char *target = app_s_or(app_revision(app), "HEAD");

	if (!status || !*status)
		status = "Unknown";
	rev = app_s_or(rev, "unknown");
	printf("%-15s%s %s %s (%.*s)\n", "Sync Status:", status,
	       strcmp(status, "Synced") ? "from" : "to", target, app_rev_width(rev), rev);
	printf("%-15s%s\n", "Health Status:", app_s_or(health, "Unknown"));
}

void app_print_conditions(const struct mf_node *app)
{
	const struct mf_node *conds = mf_node_dig(app, "status", "conditions", NULL);
	struct cli_table *t;
	size_t i;

	if (!mf_node_len(conds))
		return;
	t = cli_table_new(2);
	cli_table_row(t, "CONDITION", "MESSAGE");
	for (i = 0; i < mf_node_len(conds); i++)
		cli_table_row(t, mf_node_dig_str(mf_node_at(conds, i), "type", NULL),
			      mf_node_dig_str(mf_node_at(conds, i), "message", NULL));
	putchar('\n');
	cli_table_print(t, stdout);
	cli_table_free(t);
}

void app_print_resources(const struct mf_node *rows)
{
	struct cli_table *t;
	size_t i;

	if (!mf_node_len(rows))
		return;
	t = cli_table_new(8);
	cli_table_row(t, "GROUP", "KIND", "NAMESPACE", "NAME", "STATUS", "HEALTH", "HOOK", "MESSAGE");
	for (i = 0; i < mf_node_len(rows); i++) {
		const struct mf_node *r = mf_node_at(rows, i);

		cli_table_row(t, mf_node_dig_str(r, "group", NULL), mf_node_dig_str(r, "kind", NULL),
			      mf_node_dig_str(r, "namespace", NULL), mf_node_dig_str(r, "name", NULL),
			      mf_node_dig_str(r, "status", NULL), mf_node_dig_str(r, "health", NULL),
			      mf_node_dig_str(r, "hook", NULL), mf_node_dig_str(r, "message", NULL));
	}
	putchar('\n');
	cli_table_print(t, stdout);
	cli_table_free(t);
}

void app_print_orphans(const struct mf_node *rows, bool heading)
{
	struct cli_table *t = cli_table_new(5);
	size_t i;

	if (heading)
		printf("\nOrphaned resources: %zu\n", mf_node_len(rows));
	if (!mf_node_len(rows))
		goto done;
	cli_table_row(t, "GROUP", "KIND", "NAMESPACE", "NAME", "ORPHANED");
	for (i = 0; i < mf_node_len(rows); i++) {
		const struct mf_node *r = mf_node_at(rows, i);

		cli_table_row(t, mf_node_dig_str(r, "group", NULL), mf_node_dig_str(r, "kind", NULL),
			      mf_node_dig_str(r, "namespace", NULL), mf_node_dig_str(r, "name", NULL),
			      "Yes");
	}
	if (heading)
		putchar('\n');
	cli_table_print(t, stdout);
done:
	cli_table_free(t);
}

void app_print_operation(const struct mf_node *st)
{
	const struct mf_node *os = mf_node_get(st, "operationState");

	printf("%-15s%s\n", "Operation:", "Sync");
	printf("%-15s%s\n", "Sync Revision:",
	       app_s_or(mf_node_dig_str(os, "syncResult", "revision", NULL), ""));
	printf("%-15s%s\n", "Phase:", app_s_or(mf_node_dig_str(os, "phase", NULL), ""));
	printf("%-15s%s\n", "Start:", app_s_or(mf_node_dig_str(os, "startedAt", NULL), ""));
	printf("%-15s%s\n", "Finished:", app_s_or(mf_node_dig_str(os, "finishedAt", NULL), ""));
	printf("%-15s%s\n", "Message:", app_s_or(mf_node_dig_str(os, "message", NULL), ""));
}

static char *object_label(const struct mf_node *d)
{
	const char *g = app_s_or(mf_node_dig_str(d, "group", NULL), "");
	const char *ns = app_s_or(mf_node_dig_str(d, "namespace", NULL), "");

	return gs_asprintf("%s%s%s/%s %s/%s", g, *g ? "/" : "",
			   app_s_or(mf_node_dig_str(d, "version", NULL), ""),
			   app_s_or(mf_node_dig_str(d, "kind", NULL), ""), *ns ? ns : "-",
			   app_s_or(mf_node_dig_str(d, "name", NULL), ""));
}

/* One drifted field: who made the live value differ, from managedFields:
 * "PATH: VALUE (MANAGER, TIME)". */
static void print_drift(const struct mf_node *f, const char *prefix)
{
	const char *m = app_s_or(mf_node_dig_str(f, "manager", NULL), "");

	printf("%s%s: %s (%s, %s)\n", prefix, app_s_or(mf_node_dig_str(f, "path", NULL), ""),
	       app_s_or(mf_node_dig_str(f, "value", NULL), ""), *m ? m : "manager unknown",
	       app_s_or(mf_node_dig_str(f, "time", NULL), "no time"));
}

void app_print_diffs(const struct mf_node *diffs)
{
	size_t k;

	for (k = 0; k < mf_node_len(diffs); k++) {
		const struct mf_node *d = mf_node_at(diffs, k);
		char *label = object_label(d);

		const struct mf_node *drift = mf_node_get(d, "drift");
		size_t i;

		printf("===== %s (%s)\n%s", label, app_s_or(mf_node_dig_str(d, "status", NULL), ""),
		       app_s_or(mf_node_dig_str(d, "diff", NULL), ""));
		if (mf_node_len(drift))
			printf("changed in the cluster:\n");
		for (i = 0; i < mf_node_len(drift); i++)
			print_drift(mf_node_at(drift, i), "  ");
		free(label);
	}
}

/* a table cell: no '|' or newline may break the row */
static void md_cell(const char *s)
{
	for (; s && *s; s++) {
		if (*s == '|')
			fputs("\\|", stdout);
		else if (*s == '\n')
			putchar(' ');
		else
			putchar(*s);
	}
}

void app_print_diffs_markdown(const char *app, const char *revision, const struct mf_node *diffs)
{
	size_t k, n = mf_node_len(diffs);

	printf("### gitsync: `%s`", app);
	if (revision)
		printf(" at `%s`", revision);
	printf("\n\n");
	if (!n) {
		printf("No changes: the cluster already matches.\n");
		return;
	}
	printf("%zu object%s would change.\n\n", n, n == 1 ? "" : "s");
	printf("| Kind | Namespace | Name | Status |\n|---|---|---|---|\n");
	for (k = 0; k < n; k++) {
		const struct mf_node *d = mf_node_at(diffs, k);
		const char *g = app_s_or(mf_node_dig_str(d, "group", NULL), "");

		printf("| ");
		if (*g) {
			md_cell(g);
			putchar('/');
		}
		md_cell(mf_node_dig_str(d, "kind", NULL));
		printf(" | ");
		md_cell(mf_node_dig_str(d, "namespace", NULL));
		printf(" | ");
		md_cell(mf_node_dig_str(d, "name", NULL));
		printf(" | ");
		md_cell(mf_node_dig_str(d, "status", NULL));
		printf(" |\n");
	}
	for (k = 0; k < n; k++) {
		const struct mf_node *d = mf_node_at(diffs, k);
		const char *text = app_s_or(mf_node_dig_str(d, "diff", NULL), "");
		const char *fence = strstr(text, "```") ? "~~~~" : "```";
		char *label = object_label(d);

		const struct mf_node *drift = mf_node_get(d, "drift");
		size_t i;

		printf("\n<details><summary><code>");
		md_cell(label);
		printf("</code> (%s)</summary>\n\n%sdiff\n%s%s%s\n",
		       app_s_or(mf_node_dig_str(d, "status", NULL), ""), fence, text,
		       *text && text[strlen(text) - 1] != '\n' ? "\n" : "", fence);
		if (mf_node_len(drift))
			printf("\nChanged in the cluster:\n\n");
		for (i = 0; i < mf_node_len(drift); i++)
			print_drift(mf_node_at(drift, i), "- ");
		printf("\n</details>\n");
		free(label);
	}
}
