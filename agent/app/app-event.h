/* app-event.h - Kubernetes Events about an Application the agent will not
 * run (its namespace is not watched, its project refuses it), so that the
 * tenant, who may read only its own namespace, sees why with
 * `kubectl describe application` or `kubectl get events`. */
#ifndef GS_APP_EVENT_H
#define GS_APP_EVENT_H

#include "gs-error.h"
#include "kube/kube-client.h"
#include "mf-node.h"

/* The core/v1 Event (owned) about app, in its namespace: type "Warning" or
 * "Normal", reason a CamelCase word, message redacted of Git credentials
 * (and cut at 1 KiB), at wall-clock time now.  Its name is the app's name
 * and a hash of app uid, reason and message, so the same news is one Event
 * however often it is emitted. */
struct mf_node *app_event_new(const struct mf_node *app, const char *type, const char *reason,
			      const char *message, double now);

/* Create app_event_new(...) with kc; an Event of that name already there
 * (the same news, recorded earlier) is success. */
int app_event_emit(struct kube_client *kc, const struct mf_node *app, const char *type,
		   const char *reason, const char *message, struct gs_error *err);

#endif
