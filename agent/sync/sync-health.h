/* sync-health.h - the built-in health rules, with the name of the rule that
 * decided (for `gitsync health` and for user Lua checks layered on top,
 * agent/health/health-lua.h).  sync_health_of() (sync.h) is the same
 * without the rule name. */
#ifndef SYNC_HEALTH_H
#define SYNC_HEALTH_H

#include "mf-node.h"
#include "sync/sync.h"

/* The two Application kinds whose health is read from status.health (app
 * of apps): ours and Argo CD's. */
#define APP_HEALTH_GROUP_GITSYNC "gitsync.io"
#define APP_HEALTH_GROUP_ARGO "argoproj.io"

/* Health of live (borrowed) by the built-in rule of its kind.  *msg_out is
 * owned by the caller (may be NULL).  rule_out (may be NULL) receives a
 * static name: the kind of the rule ("Deployment", "CronJob", ...),
 * "generic" for the custom-resource rule, "none" for built-in kinds
 * without health, "deleting" or "missing".  Thread-safe. */
enum sync_health sync_health_builtin(const struct mf_node *live, char **msg_out,
				     const char **rule_out);

#endif
