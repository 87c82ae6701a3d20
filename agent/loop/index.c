/* index.c - the Application index: one entry per Application the informer
 * saw, what the queue, webhooks and metrics need of it. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gs-alloc.h"
#include "gs-buf.h"
#include "gs-hash.h"
#include "gs-time.h"
#include "app/app-project.h"
#include "loop/alog.h"
#include "loop/loop-private.h"
#include "loop/workq.h"
#include "mf-json.h"
#include "mf-object.h"

struct app_entry *agent_index_find(struct agent *a, const char *key)
{
	size_t i;

	for (i = 0; i < a->napps; i++)
		if (!strcmp(a->apps[i].key, key))
			return &a->apps[i];
	return NULL;
}

static void free_paths(struct app_entry *e)
{
	size_t i;

	for (i = 0; i < e->npaths; i++)
		free(e->paths[i]);
	free(e->paths);
	e->paths = NULL;
	e->npaths = 0;
}

/* "a/b" + "../c/./d" -> "a/c/d"; "/x" is from the repository root.  ".."
 * above the root stays at the root. */
static char *join_repo_path(const char *base, const char *rel)
{
	struct gs_buf b = GS_BUF_INIT;
	char *in = gs_asprintf("%s/%s", *rel == '/' ? "" : base, rel), *save = NULL, *seg;

	for (seg = strtok_r(in, "/", &save); seg; seg = strtok_r(NULL, "/", &save)) {
		if (!strcmp(seg, "."))
			continue;
		if (!strcmp(seg, "..")) {
			char *slash = strrchr(b.ptr, '/');
			if (slash) {
				b.len = (size_t)(slash - b.ptr);
				b.ptr[b.len] = '\0';
			} else {
				gs_buf_reset(&b);
			}
			continue;
		}
		if (b.len)
			gs_buf_putc(&b, '/');
		gs_buf_puts(&b, seg);
	}
	free(in);
	return gs_buf_detach(&b, NULL);
}

static void set_paths(struct app_entry *e, const char *app_path, const char *annotation)
{
	char *copy, *save = NULL, *item;
	size_t alloc = 0;

	free_paths(e);
	if (!annotation || !*annotation)
		return;
	copy = gs_strdup(annotation);
	for (item = strtok_r(copy, ";", &save); item; item = strtok_r(NULL, ";", &save)) {
		while (*item == ' ')
			item++;
		item[strcspn(item, " ")] = '\0';
		if (!*item)
			continue;
		GS_ALLOC_GROW(e->paths, e->npaths + 1, alloc);
		e->paths[e->npaths++] = join_repo_path(app_path ? app_path : "", item);
	}
	free(copy);
}

void agent_index_entry_release(struct app_entry *e)
{
	free_paths(e);
	free(e->key);
	free(e->repo);
	free(e->revision);
	free(e->group);
}

/* A full comparison at least this often even when nothing seems changed:
 * what is not watched (the app's Project, its credentials, what a render
 * reads outside the repository) is looked at again, and reconciledAt
 * moves. */
#define FULL_RESYNC_S 3600.0

static struct repo_poll *poll_find(struct agent *a, const char *group)
{
	size_t i;

	for (i = 0; i < a->npolls; i++)
		if (!strcmp(a->polls[i].group, group))
			return &a->polls[i];
	return NULL;
}

void agent_index_compared(struct agent *a, struct app_entry *e, const char *sha, long long gen,
			  bool asked)
{
	struct repo_poll *p;
	double now = workq_now();

	snprintf(e->compared_sha, sizeof(e->compared_sha), "%s", sha);
	e->compared_gen = gen;
	e->last_full = now;
	if (!e->group || !asked)
		return;
	if (!(p = poll_find(a, e->group))) {
		GS_ALLOC_GROW(a->polls, a->npolls + 1, a->apolls);
		p = &a->polls[a->npolls++];
		p->group = gs_strdup(e->group);
	}
	snprintf(p->sha, sizeof(p->sha), "%s", sha);
	p->checked = now;
	p->asking_until = 0;
}

/* A group's ask that never recorded (a failed comparison) is given up after this. */
#define ASKING_MAX_S 30.0

enum poll_action agent_index_poll_action(struct agent *a, const struct app_entry *e, double now)
{
	struct repo_poll *p = e->group ? poll_find(a, e->group) : NULL;

	/* drift comes from watch events only once every kind is watched; an
	 * app retrying, settling, asked for, or changed since is never left */
	if (!p || !a->kinds_watched || strcmp(p->sha, e->compared_sha) ||
	    e->compared_gen != e->generation || now - e->last_full >= FULL_RESYNC_S ||
	    e->refresh || e->has_op || e->attempts || !strcmp(e->health_status, "Progressing") ||
	    !strcmp(e->health_status, "Missing"))
		return POLL_QUEUE;
	if (now - p->checked < e->poll_s)
		return POLL_LEAVE;
	if (p->asking_until > now)
		return POLL_WAIT;
	p->asking_until = now + ASKING_MAX_S; /* this app asks for the group */
	return POLL_QUEUE;
}

bool agent_index_due(const struct app_entry *e, bool kinds_watched, double self_heal_s,
		     double now)
{
	if (now - e->last_reconcile >= e->poll_s)
		return true;
	/* drift polling (every few seconds) does back off */
	return e->automated && e->self_heal && !kinds_watched &&
	       now - e->last_reconcile >= self_heal_s && !(e->attempts && e->next_retry > now);
}

bool agent_index_retry_exhausted(const struct app_entry *e, long long limit)
{
	/* attempts counts failures: the first try plus the retries so far */
	return limit >= 0 && e->attempts > (unsigned long long)limit;
}

double agent_index_retry_delay(const struct app_entry *e, bool retry, long long limit,
			       double now)
{
	if (!retry || !e->attempts || agent_index_retry_exhausted(e, limit) ||
	    e->next_retry <= now)
		return AGENT_RETRY_NONE;
	return e->next_retry - now;
}

bool agent_index_spec_changed_since_failure(const struct app_entry *e, long long gen)
{
	return e->failed_gen > 0 && gen != e->failed_gen;
}

/* An app name, folded to 32 bits to fit a watch cache entry's 64 user bits
 * (the upper half; compared in memory only, never persisted). */
uint32_t agent_name_hash(const char *s)
{
	return sync_app_hash(s); /* the tag the workers' caches filter on */
}

void agent_want_kind(struct agent *a, const char *gvk)
{
	size_t j;

	for (j = 0; j < a->nwant && strcmp(a->want_kinds[j], gvk); j++)
		;
	if (j < a->nwant)
		return;
	GS_ALLOC_GROW(a->want_kinds, a->nwant + 1, a->awant);
	a->want_kinds[a->nwant++] = gs_strdup(gvk);
	a->kinds_watched = false; /* until its cache is synced */
}

static void want_kinds_add(struct agent *a, const struct mf_node *app)
{
	const struct mf_node *kinds = mf_node_dig(app, "status", "managedKinds", NULL);
	size_t i;

	for (i = 0; i < mf_node_len(kinds); i++) {
		const char *k = mf_node_str(mf_node_at(kinds, i));
		if (k && *k)
			agent_want_kind(a, k);
	}
}

/* An Application added or changed (watch event, or the first LIST): index
 * it and, on the leader, queue it when it is new, its spec changed, it
 * asks for a refresh or carries an .operation.  Its own status writes
 * change none of these, so they queue nothing.  Called under the
 * watcher's lock: takes a->lock only, never calls back into the watcher. */
void agent_index_update(struct agent *a, const struct mf_node *app, bool added)
{
	const char *ns = mf_obj_namespace(app), *name = mf_obj_name(app);
	const char *poll = mf_obj_annotation(app, POLL_ANNOTATION), *refresh;
	struct app_entry *e;
	long long gen = 0;
	char *key;
	bool urgent = false;

	if (!ns || !name)
		return;
	if (!agent_app_namespace_allowed(a->cfg, ns)) {
		if (added) {
			alog(ALOG_WARN, name, NULL,
			     "application %s/%s ignored: namespace '%s' is not the agent's nor in "
			     "--app-namespaces",
			     ns, name, ns);
			/* and an Event its owner can see, sent by the informer (a
			 * burst beyond 256 keeps the log line only) */
			pthread_mutex_lock(&a->lock);
			if (a->nignored < 256) {
				GS_ALLOC_GROW(a->ignored, a->nignored + 1, a->aignored);
				a->ignored[a->nignored++] = mf_node_clone(app);
			}
			pthread_mutex_unlock(&a->lock);
		}
		return;
	}
	key = agent_app_key(ns, name);
	mf_node_int(mf_node_dig(app, "metadata", "generation", NULL), &gen);
	refresh = mf_obj_annotation(app, REFRESH_ANNOTATION);
	pthread_mutex_lock(&a->lock);
	e = agent_index_find(a, key);
	if (!e) {
		GS_ALLOC_GROW(a->apps, a->napps + 1, a->aapps);
		e = &a->apps[a->napps++];
		memset(e, 0, sizeof(*e));
		e->key = key;
		key = NULL; /* now owned by the index */
		e->name_hash = agent_name_hash(name);
		e->seen_wall = gs_time_wall();
		snprintf(e->sync_status, sizeof(e->sync_status), "%s",
			 mf_node_dig_str(app, "status", "sync", "status", NULL)
				 ? mf_node_dig_str(app, "status", "sync", "status", NULL)
				 : "Unknown");
		snprintf(e->health_status, sizeof(e->health_status), "%s",
			 mf_node_dig_str(app, "status", "health", "status", NULL)
				 ? mf_node_dig_str(app, "status", "health", "status", NULL)
				 : "Unknown");
		urgent = true;
	}
	free(e->repo);
	free(e->revision);
	e->repo = gs_strdup(app_repo(app) ? app_repo(app) : "");
	e->revision = gs_strdup(app_revision(app) ? app_revision(app) : "");
	snprintf(e->synced_sha, sizeof(e->synced_sha), "%s",
		 mf_node_dig_str(app, "status", "sync", "revision", NULL)
			 ? mf_node_dig_str(app, "status", "sync", "revision", NULL)
			 : "");
	set_paths(e, app_path(app), mf_obj_annotation(app, PATHS_ANNOTATION));
	{
		/* credentials come from the secretRef (else templates and the
		 * environment, by URL): same group, same clone */
		const char *sref = mf_node_dig_str(app, "spec", "source", "secretRef", "name", NULL);

		free(e->group);
		e->group = gs_asprintf("%s\n%s\n%s/%s", e->repo, e->revision,
				       sref && *sref ? ns : "", sref ? sref : "");
	}
	{
		unsigned long long rv =
			agent_rv_parse(mf_node_dig_str(app, "metadata", "resourceVersion", NULL));

		if (rv > e->rv) /* an event may arrive after a newer write's answer */
			e->rv = rv;
	}
	e->automated = app_automated(app);
	e->self_heal = mf_node_bool(mf_node_dig(app, "spec", "syncPolicy", "automated", "selfHeal", NULL));
	if (e->generation != gen)
		urgent = true;
	e->generation = gen;
	e->refresh = refresh && *refresh;
	e->has_op = mf_node_type(mf_node_get(app, "operation")) == MF_MAP;
	e->poll_s = poll ? gs_time_parse_duration(poll) : -1;
	if (e->poll_s <= 0)
		e->poll_s = a->cfg->poll_s;
	/* a backoff holds none of these back: a new spec may be the fix, as
	 * a push may be (api.c), and may_retry keeps a retry on its backoff */
	if (e->refresh || e->has_op)
		urgent = true;
	if (urgent && agent_is_leader_locked(a)) {
		if (e->has_op)
			e->last_op_queued = workq_now();
		workq_add(a->q, e->key, WORKQ_URGENT);
	}
	want_kinds_add(a, app);
	pthread_mutex_unlock(&a->lock);
	free(key);
}

void agent_index_forget(struct agent *a, const char *ns, const char *name)
{
	char *key = agent_app_key(ns ? ns : "", name ? name : "");
	size_t i;

	pthread_mutex_lock(&a->lock);
	for (i = 0; i < a->napps; i++) {
		if (!strcmp(a->apps[i].key, key)) {
			agent_index_entry_release(&a->apps[i]);
			memmove(&a->apps[i], &a->apps[i + 1], (a->napps - i - 1) * sizeof(a->apps[0]));
			a->napps--;
			break;
		}
	}
	pthread_mutex_unlock(&a->lock);
	free(key);
}

bool agent_app_namespace_allowed(const struct agent_config *cfg, const char *ns)
{
	size_t i;

	if (!strcmp(ns, cfg->ns))
		return true;
	for (i = 0; i < cfg->n_app_namespaces; i++)
		if (app_glob_match(cfg->app_namespaces[i], ns))
			return true;
	return false;
}

unsigned long long agent_rv_parse(const char *rv)
{
	unsigned long long v = 0;
	const char *p;

	if (!rv || !*rv || strlen(rv) > 19)
		return 0;
	for (p = rv; *p; p++) {
		if (*p < '0' || *p > '9')
			return 0;
		v = v * 10 + (unsigned long long)(*p - '0');
	}
	return v;
}

/* "ns/name" of an Application's path (".../namespaces/NS/applications/NAME
 * [/status][?query]"), NULL for any other path.  Owned. */
static char *app_key_of_path(const char *path)
{
	static const char prefix[] = "/apis/" APP_GROUP "/" APP_VERSION "/namespaces/";
	const char *ns, *slash, *name;
	size_t nslen, namelen;

	if (strncmp(path, prefix, sizeof(prefix) - 1))
		return NULL;
	ns = path + sizeof(prefix) - 1;
	if (!(slash = strchr(ns, '/')) || strncmp(slash, "/applications/", 14))
		return NULL;
	nslen = (size_t)(slash - ns);
	name = slash + 14;
	namelen = strcspn(name, "/?");
	if (!nslen || !namelen)
		return NULL;
	return gs_asprintf("%.*s/%.*s", (int)nslen, ns, (int)namelen, name);
}

void agent_app_written(const char *path, long status, const struct gs_buf *body, void *payload)
{
	struct agent *a = payload;
	struct gs_error err = GS_ERROR_INIT;
	struct mf_node *obj = NULL;
	unsigned long long rv = 0;
	struct app_entry *e;
	char *key = app_key_of_path(path);

	if (!key)
		return;
	if (status >= 200 && status < 300 && body->len &&
	    mf_json_parse(&obj, body->ptr, body->len, "response", &err) == GS_OK)
		rv = agent_rv_parse(mf_node_dig_str(obj, "metadata", "resourceVersion", NULL));
	pthread_mutex_lock(&a->lock);
	if ((e = agent_index_find(a, key))) {
		if (rv > e->rv)
			e->rv = rv;
		else if (!rv)
			e->rv_unsure_until = workq_now() + AGENT_RV_UNSURE_S;
	}
	pthread_mutex_unlock(&a->lock);
	mf_node_free(obj);
	free(key);
}

const char *agent_index_read_rv(const struct app_entry *e, double now, char *buf, size_t n)
{
	if (!e->rv || now < e->rv_unsure_until)
		return NULL;
	snprintf(buf, n, "%llu", e->rv);
	return buf;
}
