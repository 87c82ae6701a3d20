/* render-remote.c - remote resources of kustomizations fetched through
 * gitsrc (see render.h): the same fetch, cache and confined export as an
 * Application's own source, with policy and credentials from the caller. */
#include <stdlib.h>
#include <string.h>

#include "gitsrc/gitsrc.h"
#include "gs-alloc.h"
#include "render/render.h"

int render_git_remote(void *loader, const struct kz_remote *rem, char **dir_out,
		      struct gs_error *err)
{
	struct render_git_loader *l = loader;
	struct gitsrc_auth auth;
	struct gitsrc_result res = GITSRC_RESULT_INIT;
	int rc;

	memset(&auth, 0, sizeof(auth));
	if (!l || !l->git)
		return gs_error_set(err, GS_EINVAL, "remote resources are not allowed here");
	if (l->prepare && (rc = l->prepare(l->arg, rem->repo_url, &auth, err)) < 0)
		goto cleanup;
	/* the export is what the render reads: a tree written once with calls
	 * that never follow a symlink, entries git fsck refuses refused */
	if ((rc = gitsrc_get(&res, l->git, rem->repo_url, rem->ref, &auth, 0, err)) < 0) {
		char *shown = gitsrc_url_redact(rem->repo_url);

		gs_error_wrap(err, "fetch %s at %s", shown, *rem->ref ? rem->ref : "its default branch");
		free(shown);
		goto cleanup;
	}
	*dir_out = res.dir;
	res.dir = NULL;
cleanup:
	gitsrc_result_release(&res);
	if (l->release)
		l->release(l->arg);
	return rc;
}
