/* sync-prune.c - deleting objects that left the source. */
#include "sync/sync-private.h"

#include <string.h>

#include "mf-object.h"

int sync_prune(struct run *run, bool last, struct gs_error *err)
{
	struct sync_report *rep = run->rep;
	size_t i;
	int rc;

	for (i = 0; i < rep->n; i++) {
		struct sync_resource *r = &rep->v[i];
		const struct kube_resource *res = NULL;
		struct gs_error e = GS_ERROR_INIT;
		bool is_last;

		if (r->status != SYNC_STATUS_PRUNE || r->result != SYNC_RESULT_NONE)
			continue;
		if (r->prune_disabled) {
			r->result = SYNC_RESULT_PRUNE_SKIPPED;
			sync_progress(run, i);
			continue;
		}
		if (!(run->opts->flags & SYNC_PRUNE)) {
			r->result = SYNC_RESULT_PRUNE_SKIPPED;
			sync_set_msg(r, "ignored (requires pruning)");
			sync_progress(run, i);
			continue;
		}
		is_last = r->live ? sync_option_is(r->live, run->opts, "PruneLast", "true")
				  : sync_option_is(NULL, run->opts, "PruneLast", "true");
		if (is_last != last)
			continue;
		if (run->opts->flags & SYNC_DRY_RUN) {
			r->result = SYNC_RESULT_PRUNED;
			sync_set_msg(r, "pruned (dry run)");
			sync_progress(run, i);
			continue;
		}
		rc = kube_client_resource(run->kc, &res, r->group, r->version, r->kind, &e);
		if (rc == GS_OK)
			rc = kube_client_delete(run->kc, res, r->ns, r->name,
						(run->opts->flags & SYNC_PRUNE_FOREGROUND)
							? "Foreground"
							: "Background",
						&e);
		if (sync_write_stops_run(run, rc)) {
			*err = e;
			return rc;
		}
		if (rc < 0 && rc != GS_ENOTFOUND) {
			r->result = SYNC_RESULT_FAILED;
			sync_set_msg(r, "%s", e.msg);
			run->any_failed = true;
			gs_buf_printf(&run->failures, "%s%s %s: %s", run->failures.len ? "; " : "",
				      r->kind, r->name, e.msg);
		} else {
			r->result = SYNC_RESULT_PRUNED;
			sync_set_msg(r, "pruned");
		}
		sync_progress(run, i);
	}
	return GS_OK;
}
