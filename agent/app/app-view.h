/* app-view.h - a comparison (sync_report) as plain data, the one shape the
 * CLI prints from and the agent's API answers with, so `gitsync app get`
 * and `app diff` print the same through a kubeconfig and through the API.
 *
 *   rows:  [{group, version, kind, namespace, name, status, health, hook, message}]
 *   diffs: [{group, version, kind, namespace, name, status, diff}] for every
 *          object that is not Synced (hooks left out); diff is unified text
 *          (live -> desired), Secret values masked.
 */
#ifndef GS_APP_VIEW_H
#define GS_APP_VIEW_H

#include "mf-node.h"
#include "sync/sync.h"

/* Rows of rep (owned result). */
struct mf_node *app_view_rows(const struct sync_report *rep);
/* Diffs of rep, which must have been made with SYNC_KEEP_DIFF (owned result). */
struct mf_node *app_view_diffs(const struct sync_report *rep);
/* {revision, sync, health, resources: rows} (owned result); revision may be NULL. */
struct mf_node *app_view_comparison(const struct sync_report *rep, const char *revision);

#endif
