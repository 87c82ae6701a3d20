/* app-event.c - Events about Applications (see app-event.h). */
#include "app/app-event.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "app/app.h"
#include "gitsrc/gitsrc.h"
#include "gs-alloc.h"
#include "gs-hash.h"
#include "gs-time.h"
#include "mf-object.h"

#define EVENT_MESSAGE_MAX 1024

struct mf_node *app_event_new(const struct mf_node *app, const char *type, const char *reason,
			      const char *message, double now)
{
	const char *name = mf_obj_name(app) ? mf_obj_name(app) : "";
	const char *ns = mf_obj_namespace(app) ? mf_obj_namespace(app) : "";
	const char *uid = mf_node_dig_str(app, "metadata", "uid", NULL);
	char *msg = gitsrc_text_redact(message ? message : "");
	struct mf_node *ev = mf_node_new(MF_MAP), *obj = mf_node_new(MF_MAP),
		       *src = mf_node_new(MF_MAP);
	char ts[GS_TIME_RFC3339_SIZE];
	uint64_t h = GS_FNV1A_INIT;
	char *evname;

	if (strlen(msg) > EVENT_MESSAGE_MAX)
		msg[EVENT_MESSAGE_MAX] = '\0';
	h = gs_fnv1a_field(h, uid);
	h = gs_fnv1a_field(h, reason);
	h = gs_fnv1a_field(h, msg);
	/* a name is at most 253 characters: the app's (<= 253) is cut */
	evname = gs_asprintf("%.200s.%016llx", name, (unsigned long long)h);
	gs_time_rfc3339(ts, now);
	mf_node_set_str_value(ev, "apiVersion", "v1");
	mf_node_set_str_value(ev, "kind", "Event");
	mf_obj_set_name(ev, evname);
	mf_obj_set_namespace(ev, ns);
	mf_node_set_str_value(obj, "apiVersion", mf_obj_api_version(app) ? mf_obj_api_version(app)
									: APP_API_VERSION);
	mf_node_set_str_value(obj, "kind", mf_obj_kind(app) ? mf_obj_kind(app) : APP_KIND);
	mf_node_set_str_value(obj, "name", name);
	mf_node_set_str_value(obj, "namespace", ns);
	if (uid)
		mf_node_set_str_value(obj, "uid", uid);
	mf_node_set(ev, "involvedObject", obj);
	mf_node_set_str_value(ev, "type", type);
	mf_node_set_str_value(ev, "reason", reason);
	mf_node_set_str_value(ev, "message", msg);
	mf_node_set_str_value(src, "component", "gitsync-agent");
	mf_node_set(ev, "source", src);
	mf_node_set_str_value(ev, "reportingComponent", "gitsync.io/agent");
	mf_node_set_str_value(ev, "firstTimestamp", ts);
	mf_node_set_str_value(ev, "lastTimestamp", ts);
	mf_node_set(ev, "count", mf_node_new_int(1));
	free(evname);
	free(msg);
	return ev;
}

int app_event_emit(struct kube_client *kc, const struct mf_node *app, const char *type,
		   const char *reason, const char *message, struct gs_error *err)
{
	const struct kube_resource *res;
	struct mf_node *ev;
	int rc;

	if ((rc = kube_client_resource(kc, &res, "", "v1", "Event", err)) < 0)
		return rc;
	ev = app_event_new(app, type, reason, message, gs_time_wall());
	rc = kube_client_create(kc, NULL, res, ev, err);
	if (rc == GS_ECONFLICT) { /* the same news, already recorded */
		gs_error_clear(err);
		rc = GS_OK;
	}
	if (rc < 0)
		gs_error_wrap(err, "record Event %s on Application %s/%s", reason,
			      mf_obj_namespace(app) ? mf_obj_namespace(app) : "",
			      mf_obj_name(app) ? mf_obj_name(app) : "");
	mf_node_free(ev);
	return rc;
}
