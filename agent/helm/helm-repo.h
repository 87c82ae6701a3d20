/* helm-repo.h - charts from chart repositories: an HTTP(S) repository's
 * index.yaml, or an OCI registry (oci://host/path), picked by a version or
 * a semver range (helm-semver.h) and pulled into a cache keyed by the
 * chart archive's digest.
 *
 * Layout of the cache (under the directory given to helm_repo_new):
 *   charts/<sha256 hex>.tgz   a chart archive, written to a temporary name
 *                             and renamed once its digest was verified, so
 *                             a file present under its digest is complete
 *                             and is never downloaded again.
 *   charts/<sha256 hex>.d/<chart>/   the archive unpacked (helm_repo_unpack),
 *                             also renamed into place when complete.
 *
 * Selection follows Helm (`helm pull --version`, Argo CD's repo server): an
 * index entry whose version string equals the request is taken first; else
 * the highest version the range matches; "" or "*" is the latest release.
 * Prereleases only when the range names one.  In an OCI registry the tags
 * are the versions ('+' is spelled '_' in tags, as Helm pushes them).
 *
 * Credentials (struct gitsrc_auth, read from the same Secrets as Git:
 * username/password or token, caBundle/caCert, insecure) go to the
 * repository's host only: a chart URL of the index on another host is
 * fetched without them (Helm's rule unless passCredentials,
 * helm_repo_set_pass_credentials), and redirects
 * never carry them to another host.  OCI registries get HTTP basic, or a
 * bearer token from the registry's token service (WWW-Authenticate).
 * An OCI registry on a loopback address is spoken to in plain HTTP, as
 * Docker does for localhost registries; everything else in HTTPS.
 *
 * Errors: GS_ENET (unreachable, HTTP error), GS_EAUTH (401/403, TLS
 * verification), GS_ENOTFOUND (no such chart, or no version matches the
 * range: the message lists the versions seen), GS_EINVAL (bad URL, bad
 * range, malformed index, digest mismatch), GS_ELIMIT (index or archive
 * larger than the limits), GS_EIO (cache directory).
 *
 * A struct helm_repo is not thread-safe; use one per thread (they may share
 * a cache directory: files appear by rename).
 */
#ifndef HELM_REPO_H
#define HELM_REPO_H

#include <stdbool.h>
#include <stddef.h>

#include "gitsrc/gitsrc.h"
#include "gs-error.h"

struct helm_repo;

/* Open (creating if needed) the chart cache in cache_dir (borrowed, copied).
 * *out owned by the caller. */
int helm_repo_new(struct helm_repo **out, const char *cache_dir, struct gs_error *err);
void helm_repo_free(struct helm_repo *r); /* NULL is a no-op */

/* Limits: index.yaml bytes (default 64 MiB), chart archive bytes (default
 * 32 MiB), seconds per request (default 60).  0 keeps the default. */
void helm_repo_set_limits(struct helm_repo *r, size_t max_index, size_t max_chart,
			  double timeout_s);

/* passCredentials (Argo CD's spec.source.helm.passCredentials, Helm's
 * --pass-credentials): also send the repository's username/password to a
 * chart URL of the index on another host.  Off by default. */
void helm_repo_set_pass_credentials(struct helm_repo *r, bool pass);

/* A pulled chart. */
struct helm_chart_pull {
	char version[128];   /* the version picked (the index's spelling) */
	char digest[72];     /* "sha256:<64 hex>" of the archive */
	char *path;          /* owned: <cache>/charts/<hex>.tgz */
	bool downloaded;     /* false: served from the cache */
};
#define HELM_CHART_PULL_INIT { "", "", NULL, false }
void helm_chart_pull_release(struct helm_chart_pull *p);

/* Resolve chart in repo_url (http(s)://... with an index.yaml, or
 * oci://host[:port]/path) at version (exact, a range, or ""/NULL for the
 * latest release) and make sure its archive is in the cache.  auth is
 * borrowed and may be NULL (anonymous).  On error out holds no memory. */
int helm_repo_pull(struct helm_chart_pull *out, struct helm_repo *r, const char *repo_url,
		   const char *chart, const char *version, const struct gitsrc_auth *auth,
		   struct gs_error *err);

/* Unpack a pulled archive once into <cache>/charts/<hex>.d (reused when
 * present): *root_out (owned) is that directory, *chart_out (owned) the
 * chart's directory name inside it.  Only regular files and directories
 * are written (symlinks and devices are skipped, as Helm's loader ignores
 * them); an entry naming an absolute path or ".." is refused (GS_EINVAL),
 * as are archives above Helm's limits (100 MiB unpacked, 5 MiB per file:
 * GS_ELIMIT) and archives without <chart>/Chart.yaml. */
int helm_repo_unpack(char **root_out, char **chart_out, struct helm_repo *r,
		     const struct helm_chart_pull *pull, struct gs_error *err);

/* Is url an OCI reference (oci://)? */
bool helm_repo_is_oci(const char *url);

/* The version picking, on its own (for tests): among versions (n strings,
 * borrowed), the index of the one Helm picks for request, or -1 with
 * GS_ENOTFOUND naming what was seen; GS_EINVAL for a bad range. */
int helm_repo_pick(size_t *out, const char *const *versions, size_t n, const char *request,
		   struct gs_error *err);

#endif
