/* sync-converge.c - the ordered walk over the plan: namespaces and CRDs,
 * validation of what lives in new namespaces, hooks, batches per wave and
 * kind, health between waves, prune, the final health wait. */
#include "sync/sync-private.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gs-alloc.h"
#include "mf-object.h"

void sync_finish_failed(struct run *run, const char *what)
{
	free(run->rep->message);
	run->rep->message = gs_asprintf("%s: %s", what, run->failures.ptr);
	run->rep->phase = SYNC_PHASE_FAILED;
}

int sync_converge(struct run *run, struct gs_error *err)
{
	const struct sync_options *o = run->opts;
	size_t *order = gs_calloc(run->nt + 1, sizeof(*order));
	bool *wave_set = gs_calloc(run->nt + 1, sizeof(bool));
	size_t ntasks, k, i;
	int rc = GS_OK;
	bool ok, pending_done = false;

	ntasks = sync_plan(run, order);

	if (run->create_ns && (rc = sync_create_namespace(run, err)) < 0)
		goto cleanup;
	for (k = 0; k < ntasks; k++) {
		struct target *t = &run->t[order[k]];
		struct sync_resource *r = &run->rep->v[t->ri];
		bool last_of_wave;

		if (t->phase == SYNC_TASK_SYNCFAIL)
			break; /* SyncFail hooks run only on failure */
		if (t->phase != SYNC_TASK_PREREQ && !pending_done) {
			/* the namespaces exist now: validate what lives in them
			 * before writing any of it */
			pending_done = true;
			for (i = 0; i < run->nt; i++)
				if (run->t[i].ns_pending && !run->t[i].failed && !run->t[i].deferred)
					sync_queue_dry_run(run, &run->t[i]);
			if ((rc = sync_run_batch(run, err)) < 0)
				goto cleanup;
			if (run->any_failed) {
				for (i = 0; i < run->nt; i++)
					if (run->t[i].failed)
						sync_progress(run, run->t[i].ri);
				sync_finish_failed(run, "nothing applied but namespaces and CRDs: one or "
						   "more objects failed validation");
				goto cleanup;
			}
		}
		if (r->hook) {
			if ((rc = sync_run_hook(run, t, &ok, err)) < 0 || run->terminated)
				goto cleanup;
			if (!ok) {
				sync_finish_failed(run, "one or more synchronization tasks completed "
						   "unsuccessfully");
				rc = sync_run_syncfail_hooks(run, order, ntasks, err);
				goto cleanup;
			}
			continue;
		}
		if (sync_batchable(run, t)) {
			/* the rest of this group, applied together */
			size_t e = k + 1;

			while (e < ntasks && sync_batchable(run, &run->t[order[e]]) &&
			       run->t[order[e]].phase == t->phase &&
			       run->t[order[e]].wave == t->wave &&
			       run->t[order[e]].kind_order == t->kind_order)
				e++;
			if ((rc = sync_apply_group(run, order + k, e - k, err)) < 0)
				goto cleanup;
			for (; k + 1 < e; k++)
				wave_set[order[k]] = true;
			t = &run->t[order[k]];
			r = &run->rep->v[t->ri];
		} else if (t->deferred) {
			struct gs_error e = GS_ERROR_INIT;

			e.code = GS_ENOTFOUND;
			snprintf(e.msg, sizeof(e.msg),
				 "its CRD was not established before this object's turn "
				 "(put the CRD in an earlier wave)");
			sync_fail_target(run, t, &e);
		} else if (!t->failed && (rc = sync_apply_one(run, t, err)) < 0) {
			goto cleanup;
		}
		if (t->failed) {
			sync_finish_failed(run, "one or more objects failed to apply");
			rc = sync_run_syncfail_hooks(run, order, ntasks, err);
			goto cleanup;
		}
		/* CRDs of a run are applied back to back, then waited for
		 * together: establishing is the server's slow part */
		if (!strcmp(r->kind, "CustomResourceDefinition") &&
		    (k + 1 == ntasks ||
		     strcmp(run->rep->v[run->t[order[k + 1]].ri].kind, "CustomResourceDefinition"))) {
			size_t b;

			for (b = k + 1; b-- > 0;) {
				struct target *c = &run->t[order[b]];

				if (strcmp(run->rep->v[c->ri].kind, "CustomResourceDefinition"))
					break;
				if (!c->failed && (rc = sync_crd_established(run, c, err)) < 0)
					goto cleanup;
			}
		}
		if (run->any_failed) {
			sync_finish_failed(run, "one or more objects failed to apply");
			rc = sync_run_syncfail_hooks(run, order, ntasks, err);
			goto cleanup;
		}
		wave_set[order[k]] = true;
		/* end of a wave with more to come: wait for its health */
		last_of_wave = k + 1 == ntasks || run->t[order[k + 1]].wave != t->wave ||
			       run->t[order[k + 1]].phase != t->phase;
		if (last_of_wave && k + 1 < ntasks && run->t[order[k + 1]].phase != SYNC_TASK_SYNCFAIL &&
		    t->phase != SYNC_TASK_PREREQ) {
			rc = sync_wait_healthy(run, wave_set, o->timeout_s > 0 ? o->timeout_s : 300,
					  false, &ok, err);
			if (rc < 0 || run->terminated)
				goto cleanup;
			if (!ok) {
				sync_unhealthy_message(run, wave_set, "wave did not become healthy");
				run->rep->phase = SYNC_PHASE_FAILED;
				rc = sync_run_syncfail_hooks(run, order, ntasks, err);
				goto cleanup;
			}
			memset(wave_set, 0, (run->nt + 1) * sizeof(bool));
		}
	}
	/* prune after a successful apply only; PruneLast ones at the very end */
	if ((rc = sync_prune(run, false, err)) < 0 || (rc = sync_prune(run, true, err)) < 0)
		goto cleanup;
	if (run->any_failed) {
		sync_finish_failed(run, "one or more objects failed to prune");
		goto cleanup;
	}
	if (o->flags & SYNC_WAIT_HEALTHY) {
		for (i = 0; i < run->nt; i++)
			wave_set[i] = !run->rep->v[run->t[i].ri].hook;
		rc = sync_wait_healthy(run, wave_set, o->timeout_s > 0 ? o->timeout_s : 300, false, &ok,
				  err);
		if (rc < 0 || run->terminated)
			goto cleanup;
		if (!ok) {
			char what[128];

			snprintf(what, sizeof(what), "timed out after %.0fs waiting for health",
				 o->timeout_s > 0 ? o->timeout_s : 300);
			sync_unhealthy_message(run, wave_set, what);
			run->rep->phase = SYNC_PHASE_FAILED;
			goto cleanup;
		}
	}
	run->rep->phase = SYNC_PHASE_SUCCEEDED;
	free(run->rep->message);
	run->rep->message = gs_strdup("successfully synced (all tasks run)");
cleanup:
	if (run->terminated) {
		/* as Argo CD: no SyncFail hooks, what was applied stays */
		run->rep->phase = SYNC_PHASE_FAILED;
		free(run->rep->message);
		run->rep->message = gs_strdup("terminated");
	}
	free(order);
	free(wave_set);
	return rc;
}
