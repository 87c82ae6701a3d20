/* helm-semver.h - chart versions and version ranges with the semantics of
 * github.com/Masterminds/semver/v3, the library Helm (and Argo CD's repo
 * server) use to pick a chart version from a repository index.
 *
 * Ranges: comparisons (=, !=, >, <, >=, <=, and => =<), tilde (~1.2.3:
 * >=1.2.3 <1.3.0; ~> is the same), caret (^1.2.3: >=1.2.3 <2.0.0, ^0.2.3:
 * <0.3.0, ^0.0.3: <0.0.4), wildcards x, X or * in any place (1.2.x, 1.*, *),
 * hyphen ranges (1.2 - 1.4.5), AND by comma or space, OR by "||".  A
 * version with a prerelease (1.3.0-rc.1) matches only a range whose own
 * version names a prerelease (>=1.3.0-0): prereleases are excluded unless
 * asked for, as in Helm.  Build metadata (+abc) is ignored when comparing.
 *
 * Pure computation: no I/O, no globals, thread-safe.
 */
#ifndef HELM_SEMVER_H
#define HELM_SEMVER_H

#include <stdbool.h>
#include <stdint.h>

#include "gs-error.h"

#define HELM_SEMVER_PRE_MAX 128

struct helm_semver {
	uint64_t major, minor, patch;
	char pre[HELM_SEMVER_PRE_MAX]; /* prerelease without '-', "" for a release */
};

/* Parse a version the lenient way Helm reads an index ("v" prefix allowed,
 * "1.2" is 1.2.0).  Returns GS_OK, or GS_EINVAL when s is not a version
 * (no message: callers skip such index entries as Helm does). */
int helm_semver_parse(struct helm_semver *out, const char *s);

/* Semantic-version precedence: <0, 0, >0. */
int helm_semver_compare(const struct helm_semver *a, const struct helm_semver *b);

struct helm_semver_range;

/* Parse a range; *out owned by the caller (helm_semver_range_free).
 * GS_EINVAL names the offending part of text. */
int helm_semver_range_new(struct helm_semver_range **out, const char *text, struct gs_error *err);
void helm_semver_range_free(struct helm_semver_range *r); /* NULL is a no-op */

/* Does v satisfy r? */
bool helm_semver_range_match(const struct helm_semver_range *r, const struct helm_semver *v);

/* Is text a plain version rather than a range (Helm first looks for an
 * entry whose version string equals the request exactly)? */
bool helm_semver_is_exact(const char *text);

#endif
