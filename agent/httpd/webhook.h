/* webhook.h - Git forge push webhooks: which forge sent it, is it signed
 * with our secret, and which repository and refs did it touch.
 *
 * Forges and how they authenticate a delivery:
 *   GitHub            X-GitHub-Event, X-Hub-Signature-256: sha256=HMAC-SHA256(secret, body)
 *   GitLab            X-Gitlab-Event, X-Gitlab-Token: the secret itself
 *   Gitea / Forgejo   X-Gitea-Event (X-Forgejo-Event), X-Gitea-Signature
 *                     (X-Forgejo-Signature): hex HMAC-SHA256(secret, body)
 *   Bitbucket Server  X-Event-Key, X-Hub-Signature: sha256=HMAC-SHA256(secret, body)
 * Every comparison is constant-time (CRYPTO_memcmp over equal lengths).
 *
 * A push only ever triggers a refresh (fetch + compare) of the matching
 * Applications, which is idempotent; so a replayed delivery can at worst
 * cause one more refresh, and webhook_replay_seen() drops exact repeats of
 * a delivery id.  Nothing in this module logs or allocates per-secret.
 */
#ifndef GS_WEBHOOK_H
#define GS_WEBHOOK_H

#include <stdbool.h>
#include <stddef.h>

#include "gs-error.h"

enum webhook_forge {
	WEBHOOK_UNKNOWN = 0,
	WEBHOOK_GITHUB,
	WEBHOOK_GITLAB,
	WEBHOOK_GITEA,
	WEBHOOK_BITBUCKET_SERVER,
};

/* "github", "gitlab", "gitea", "bitbucketserver", "unknown". */
const char *webhook_forge_name(enum webhook_forge f);

/* Header lookup (case-insensitive name); returns a borrowed value or NULL. */
typedef const char *(*webhook_header_fn)(void *payload, const char *name);

/* Which forge sent the request, from its event headers.  Gitea is checked
 * before GitHub because Gitea also sends X-GitHub-Event. */
enum webhook_forge webhook_detect(webhook_header_fn header, void *payload);

/* The event name the forge sent (borrowed header value), or NULL. */
const char *webhook_event(enum webhook_forge forge, webhook_header_fn header, void *payload);

/* Delivery id for replay detection (X-GitHub-Delivery, X-Gitea-Delivery,
 * X-Gitlab-Event-UUID, X-Request-Id), borrowed, or NULL. */
const char *webhook_delivery(enum webhook_forge forge, webhook_header_fn header, void *payload);

/* Verify a delivery against the forge's secret.  GS_OK when authentic;
 * GS_EAUTH (message says which header is missing or that the signature does
 * not match — never the expected value) otherwise, including when secret is
 * NULL or empty: an unconfigured forge is refused, not trusted. */
int webhook_verify(enum webhook_forge forge, const char *secret, webhook_header_fn header,
		   void *payload, const char *body, size_t len, struct gs_error *err);

/* HMAC-SHA256(key, data) in lowercase hex (65 bytes with NUL). */
void webhook_hmac_sha256_hex(char hex[65], const char *key, size_t keylen, const void *data,
			     size_t len);

/* One ref a push moved. */
struct webhook_ref {
	char *branch; /* "main" for refs/heads/main, else NULL */
	char *tag;    /* "v1" for refs/tags/v1, else NULL */
	char *after;  /* new commit id, may be NULL */
};

/* A parsed push event. */
struct webhook_push {
	enum webhook_forge forge;
	char **repo_urls; /* every URL form the payload gives (https, ssh, web) */
	size_t nurls;
	char *default_branch; /* NULL when the payload does not say */
	struct webhook_ref *refs;
	size_t nrefs;
	/* Files the pushed commits added, modified or removed, when the
	 * payload lists them completely (GitHub, Gitea, GitLab; not for more
	 * commits than the forge lists, forced pushes or branch creation). */
	char **paths;
	size_t npaths, paths_alloc_;
	bool paths_complete;
};

/* Parse the body of an event.  event is webhook_event()'s value.  When the
 * event is not a push (ping, issue, ...), *out is NULL and GS_OK returned:
 * the caller answers 200 and ignores it.  GS_EINVAL on malformed JSON or a
 * push without a repository.  Accepts GitHub's form encoding (payload=...).
 * *out owned by the caller (webhook_push_free). */
int webhook_parse_push(struct webhook_push **out, enum webhook_forge forge, const char *event,
		       const char *body, size_t len, struct gs_error *err);
void webhook_push_free(struct webhook_push *p);

/* Normalise a repository URL for comparison: scheme, user info, port and a
 * trailing ".git" or "/" dropped, scp-like ssh (git@host:org/repo) turned
 * into host/org/repo, all lower-cased (hosts are case-insensitive, and the
 * forges we serve treat owner/repo so too; a false match only costs a
 * refresh, a missed one a late sync).  Returns owned string, or NULL when
 * url has no host and path. */
char *webhook_repo_url_normalize(const char *url);

/* True when a and b name the same repository (after normalisation). */
bool webhook_repo_url_match(const char *a, const char *b);

/* True when an Application following repo_url at target_revision should be
 * refreshed for this push: one of the push's URLs matches, and one of its
 * refs is the target branch or tag ("" / "HEAD" = the default branch, or
 * any branch when the payload does not name it; "refs/heads/x" = "x").  A
 * commit id as target never moves, so it never matches. */
bool webhook_push_matches(const struct webhook_push *p, const char *repo_url,
			  const char *target_revision);

/* For monorepos: true unless the push lists its changed files completely
 * and none of them is under one of the n prefixes (repository-relative
 * directories, "" = the whole repository).  Apps opt in with the annotation
 * gitsync.io/refresh-paths (Argo CD's manifest-generate-paths): a
 * kustomization that reads ../base must list it too. */
bool webhook_push_touches(const struct webhook_push *p, const char *const *prefixes, size_t n);

/* Replay filter: a small ring of recently seen delivery ids (thread-safe). */
struct webhook_replay;
struct webhook_replay *webhook_replay_new(size_t capacity);
void webhook_replay_free(struct webhook_replay *r);
/* True when id was seen before (and is then not recorded again); records it
 * otherwise.  NULL/empty id is never "seen". */
bool webhook_replay_seen(struct webhook_replay *r, enum webhook_forge forge, const char *id);
/* Like webhook_replay_seen, recording id only when record is true: the
 * server records a delivery once it succeeded, so one answered 500 is
 * processed again when the forge retries it. */
bool webhook_replay_check(struct webhook_replay *r, enum webhook_forge forge, const char *id,
			  bool record);

#endif
