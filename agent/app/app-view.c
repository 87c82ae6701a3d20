/* app-view.c - comparisons as plain data (app-view.h). */
#include "app/app-view.h"

#include "app/app.h"
#include "mf-diff.h"

static struct mf_node *identity(const struct sync_resource *r)
{
	struct mf_node *m = mf_node_new(MF_MAP);

	mf_node_set_str_value(m, "group", r->group);
	mf_node_set_str_value(m, "version", r->version);
	mf_node_set_str_value(m, "kind", r->kind);
	mf_node_set_str_value(m, "namespace", r->ns);
	mf_node_set_str_value(m, "name", r->name);
	mf_node_set_str_value(m, "status", sync_status_str(r->status));
	return m;
}

struct mf_node *app_view_rows(const struct sync_report *rep)
{
	struct mf_node *rows = mf_node_new(MF_SEQ);
	size_t k;

	for (k = 0; k < rep->n; k++) {
		const struct sync_resource *r = &rep->v[k];
		struct mf_node *m = identity(r);

		mf_node_set_str_value(m, "health", sync_health_str(r->health));
		mf_node_set_str_value(m, "hook", sync_hook_str(r->hook));
		mf_node_set_str_value(m, "message", r->message ? r->message : "");
		mf_node_append(rows, m);
	}
	return rows;
}

struct mf_node *app_view_diffs(const struct sync_report *rep)
{
	struct mf_node *diffs = mf_node_new(MF_SEQ);
	size_t k;

	for (k = 0; k < rep->n; k++) {
		const struct sync_resource *r = &rep->v[k];
		struct gs_buf text = GS_BUF_INIT;
		struct mf_node *m;

		if (r->status == SYNC_STATUS_SYNCED || r->hook)
			continue;
		m = identity(r);
		mf_diff_text(&text, r->live, r->status == SYNC_STATUS_PRUNE ? NULL : r->target, "live",
			     "desired", 0);
		mf_node_set_str_value(m, "diff", text.ptr);
		gs_buf_release(&text);
		mf_node_append(diffs, m);
	}
	return diffs;
}

struct mf_node *app_view_comparison(const struct sync_report *rep, const char *revision)
{
	struct mf_node *c = mf_node_new(MF_MAP);

	if (revision)
		mf_node_set_str_value(c, "revision", revision);
	mf_node_set_str_value(c, "sync", app_sync_status_str(rep->status));
	mf_node_set_str_value(c, "health", app_health_str(rep->health));
	mf_node_set(c, "resources", app_view_rows(rep));
	return c;
}
