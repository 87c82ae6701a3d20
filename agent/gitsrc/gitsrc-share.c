/* gitsrc-share.c - one answer per repository key and revision, shared by
 * the threads of a process (see gitsrc_share_new in gitsrc.h). */
#include "gitsrc/gitsrc.h"
#include "gitsrc/gitsrc-private.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "gs-alloc.h"
#include "gs-time.h"

struct share_entry {
	char *mkey, *clean_url;
	bool busy;       /* a thread is asking the remote */
	bool have;       /* res holds an answer */
	double checked;  /* monotonic time of the answer */
	unsigned gen;    /* bumped by each invalidation */
	struct gitsrc_result res;
};

struct gitsrc_share {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	struct share_entry *v;
	size_t n, alloc;
	struct gitsrc_share_stats stats;
};

struct gitsrc_share *gitsrc_share_new(void)
{
	struct gitsrc_share *sh = gs_calloc(1, sizeof(*sh));

	pthread_mutex_init(&sh->lock, NULL);
	pthread_cond_init(&sh->cond, NULL);
	return sh;
}

void gitsrc_share_free(struct gitsrc_share *sh)
{
	size_t i;

	if (!sh)
		return;
	for (i = 0; i < sh->n; i++) {
		free(sh->v[i].mkey);
		free(sh->v[i].clean_url);
		gitsrc_result_release(&sh->v[i].res);
	}
	free(sh->v);
	pthread_cond_destroy(&sh->cond);
	pthread_mutex_destroy(&sh->lock);
	free(sh);
}

static struct share_entry *find(struct gitsrc_share *sh, const char *mkey)
{
	size_t i;

	for (i = 0; i < sh->n; i++)
		if (!strcmp(sh->v[i].mkey, mkey))
			return &sh->v[i];
	return NULL;
}

static void copy_result(struct gitsrc_result *dst, const struct gitsrc_result *src)
{
	*dst = *src;
	dst->dir = src->dir ? gs_strdup(src->dir) : NULL;
	dst->fetched = false;
	dst->exported = false;
	dst->fetch_s = 0;
	dst->export_s = 0;
}

int gitsrc_share_begin(struct gitsrc_share *sh, const char *mkey, const char *clean_url,
		       double max_age_s, struct gitsrc_result *hit, unsigned *gen)
{
	struct share_entry *e;
	double t0 = gs_time_mono();
	int r = 0;

	pthread_mutex_lock(&sh->lock);
	for (;;) {
		struct stat st;

		e = find(sh, mkey);
		if (!e) {
			GS_ALLOC_GROW(sh->v, sh->n + 1, sh->alloc);
			e = &sh->v[sh->n++];
			memset(e, 0, sizeof(*e));
			e->mkey = gs_strdup(mkey);
			e->clean_url = gs_strdup(clean_url);
			e->res = (struct gitsrc_result)GITSRC_RESULT_INIT;
		}
		if (e->busy) {
			/* one ls-remote for all: wait for the thread asking */
			pthread_cond_wait(&sh->cond, &sh->lock);
			continue;
		}
		/* a fresh answer whose export the GC has not taken away */
		if (e->have && max_age_s > 0 && gs_time_mono() - e->checked < max_age_s &&
		    (!e->res.dir || stat(e->res.dir, &st) == 0)) {
			copy_result(hit, &e->res);
			hit->shared = true;
			hit->fetch_s = gs_time_mono() - t0;
			sh->stats.shared++;
			r = 1;
			break;
		}
		e->busy = true;
		*gen = e->gen;
		break;
	}
	pthread_mutex_unlock(&sh->lock);
	return r;
}

void gitsrc_share_end(struct gitsrc_share *sh, const char *mkey,
		      const struct gitsrc_result *res, unsigned gen)
{
	struct share_entry *e;

	pthread_mutex_lock(&sh->lock);
	e = find(sh, mkey);
	if (e) {
		e->busy = false;
		if (res) {
			gitsrc_result_release(&e->res);
			copy_result(&e->res, res);
			e->have = true;
			/* invalidated while we asked: the answer may predate the
			 * push, so the next caller asks again */
			e->checked = e->gen == gen ? gs_time_mono() : -1e300;
		}
	}
	pthread_cond_broadcast(&sh->cond);
	pthread_mutex_unlock(&sh->lock);
}

void gitsrc_share_count(struct gitsrc_share *sh, bool remote_check, bool fetch)
{
	pthread_mutex_lock(&sh->lock);
	sh->stats.remote_checks += remote_check;
	sh->stats.fetches += fetch;
	pthread_mutex_unlock(&sh->lock);
}

void gitsrc_share_invalidate(struct gitsrc_share *sh, const char *url)
{
	struct gitsrc_url u = GITSRC_URL_INIT;
	struct gs_error err = GS_ERROR_INIT;
	size_t i;

	if (!sh || gitsrc_url_parse(&u, url, &err) < 0)
		return;
	pthread_mutex_lock(&sh->lock);
	for (i = 0; i < sh->n; i++)
		if (!strcmp(sh->v[i].clean_url, u.clean)) {
			sh->v[i].gen++;
			sh->v[i].checked = -1e300;
		}
	pthread_mutex_unlock(&sh->lock);
	gitsrc_url_release(&u);
}

void gitsrc_share_stats(const struct gitsrc_share *sh, struct gitsrc_share_stats *out)
{
	struct gitsrc_share *m = (struct gitsrc_share *)sh; /* the lock only */

	memset(out, 0, sizeof(*out));
	if (!sh)
		return;
	pthread_mutex_lock(&m->lock);
	*out = sh->stats;
	pthread_mutex_unlock(&m->lock);
}
