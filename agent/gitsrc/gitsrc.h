/* gitsrc.h - Git sources through libgit2: a cache of bare clones, cheap
 * "is there a new commit?" checks, and clean exports of a commit's tree.
 *
 * Layout of the cache directory (created on demand):
 *   repos/<key>.git    bare clone of one remote as read with one set of
 *                      credentials (key = 32 hex digits of SHA-256 over the URL
 *                      without credentials and the credentials), fetched, never
 *                      checked out.  An app is never served a commit that
 *                      another app's credentials fetched.
 *   repos/<key>.lock   flock(2) held while fetching and exporting, so the agent
 *                      and a CLI sharing a cache never work on one key at once
 *   trees/<key>/<sha>/ the tree of commit <sha>, written once (files read-only)
 *                      with directory-relative calls that never follow a
 *                      symlink, then renamed into place;
 *                      files unchanged since the branch's previous commit are
 *                      hard links into that commit's export (still read-only),
 *                      so a new commit costs what it changed, not the whole tree
 *   trees/<key>/<sha>.done  written last: names the repository and the commit.
 *                      An export is reused only when its marker says it is
 *                      complete, for that commit, from that repository.
 *
 * A commit with a tree entry that git fsck refuses ("", ".", "..", ".git" in
 * any case, a name holding '/') is refused with GS_EINVAL naming the entry;
 * nothing of it is written.
 *
 * Rendering always reads trees/<key>/<sha>, never a working copy: nobody
 * can dirty it, and two apps at the same commit share one export.
 *
 * Credentials are borrowed from the caller for the duration of one call and
 * are never copied into error messages: URLs in messages are redacted
 * (gitsrc_url_redact) and libgit2 only ever sees the URL without its password.
 *
 * Errors: GS_ENET (repository unreachable or not a repository), GS_EAUTH
 * (credentials missing or refused, TLS or SSH host verification failed),
 * GS_ENOTFOUND (revision or path does not exist), GS_EINVAL (a tree entry
 * git fsck refuses), GS_ELIMIT (export too
 * large), GS_EIO (cache directory), GS_ERR otherwise.
 *
 * A struct gitsrc is not thread-safe; use one per thread (they may share a
 * cache directory: fetches are serialised by the lock file).
 */
#ifndef GS_GITSRC_H
#define GS_GITSRC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "gs-error.h"

struct gitsrc;

/* How to authenticate to a remote and verify it.  Every pointer is borrowed
 * and may be NULL.  The all-NULL/false value is "anonymous, verify hosts". */
struct gitsrc_auth {
	const char *username;   /* HTTP basic or SSH user; default: from the URL, else "git" */
	const char *password;   /* HTTP basic password, or a token (forges take it as password) */
	const char *ssh_key;    /* SSH private key text (OpenSSH or PEM) */
	const char *ssh_key_file;
	const char *ssh_passphrase;
	const char *known_hosts;      /* known_hosts text; NULL: read known_hosts_file */
	const char *known_hosts_file; /* NULL: $HOME/.ssh/known_hosts */
	bool insecure_ignore_host_key;
	const char *ca_bundle;  /* PEM certificates to trust for HTTPS (in addition to the system's) */
	const char *ca_file;    /* same, from a file */
	bool insecure_skip_tls_verify;
};

/* Open (creating if needed) the cache at cache_dir.  Initialises libgit2
 * (reference-counted; gitsrc_free shuts it down).  *out owned by the caller. */
int gitsrc_new(struct gitsrc **out, const char *cache_dir, struct gs_error *err);
void gitsrc_free(struct gitsrc *src); /* NULL is a no-op */

/* A revision resolved to a commit. */
struct gitsrc_rev {
	char sha[41];  /* full commit id, lower-case hex */
	char ref[256]; /* "refs/heads/main", "refs/tags/v1"; "" when given as a commit id */
};

/* ls-remote: connect, list the remote's refs and resolve revision (a branch,
 * a tag, a full ref name, "HEAD" or NULL/"" for the remote's default branch)
 * without fetching anything.  A full 40-hex commit id that is not a ref name
 * is returned as is (the remote does not advertise commits).  An abbreviated
 * id cannot be resolved remotely: GS_ENOTFOUND.  url may carry credentials
 * (https://user:token@host/...); they are used, never printed. */
int gitsrc_ls_remote(struct gitsrc_rev *out, struct gitsrc *src, const char *url,
		     const char *revision, const struct gitsrc_auth *auth, struct gs_error *err);

enum gitsrc_get_flags {
	GITSRC_FETCH_ALWAYS = 1 << 0, /* fetch even when the commit is already cached */
	GITSRC_NO_EXPORT = 1 << 1,    /* resolve (and fetch) only */
	GITSRC_REEXPORT = 1 << 2,     /* write the export again even when present (a hard
				       * refresh: the cached export may have been altered);
				       * the old tree is swapped out atomically */
};

struct gitsrc_result {
	struct gitsrc_rev rev;
	char *dir;           /* owned: <cache>/trees/<key>/<sha>, NULL with GITSRC_NO_EXPORT */
	bool fetched;        /* objects were downloaded */
	bool exported;       /* the tree was written now (false: reused) */
	bool force_pushed;   /* the branch moved to a commit that does not descend from before */
	char previous_sha[41]; /* the branch's commit before this call ("" when unknown) */
	double fetch_s;      /* ls-remote and fetch (or waiting on another thread's) */
	double export_s;     /* writing (or checking) the export */
	bool shared;         /* answered by the share (gitsrc_share): no network */
};
#define GITSRC_RESULT_INIT { { "", "" }, NULL, false, false, false, "", 0, 0, false }
void gitsrc_result_release(struct gitsrc_result *res);

/* The whole source step: ls-remote, fetch only when the commit is not cached
 * yet (cloning on first use), resolve revision (as gitsrc_ls_remote, plus
 * abbreviated ids and any commit reachable from the fetched refs), and export
 * the commit's tree.  A force-pushed branch is not an error: it is reported
 * in res->force_pushed so the caller can record it.  On error res is left
 * with no owned memory. */
int gitsrc_get(struct gitsrc_result *res, struct gitsrc *src, const char *url,
	       const char *revision, const struct gitsrc_auth *auth, unsigned flags,
	       struct gs_error *err);

/* Sharing the source step between threads (gitsrc-share.c): every app of
 * a monorepo reads one repository at one revision, so the agent's workers
 * share one answer per (repository and credentials key, revision) instead
 * of one ls-remote and one fetch per app.  gitsrc_get on a gitsrc with a
 * share first looks there: an answer checked less than max_age seconds ago
 * (gitsrc_set_max_age) whose export is still on disk is returned without
 * any network; while one thread asks the remote for a key, the others
 * asking for the same key wait for its answer (one ls-remote, one fetch).
 * Answers are keyed like the cache (URL and credentials): two apps share
 * one only when they would read the same clone.  GITSRC_FETCH_ALWAYS and
 * GITSRC_REEXPORT (a hard refresh) bypass the share; errors are not kept.
 * Thread-safe; each gitsrc still belongs to one thread. */
struct gitsrc_share;
struct gitsrc_share *gitsrc_share_new(void);
void gitsrc_share_free(struct gitsrc_share *sh); /* NULL is a no-op */
/* Use sh (borrowed, may be NULL: no sharing) for src's gitsrc_get calls. */
void gitsrc_set_share(struct gitsrc *src, struct gitsrc_share *sh);
/* How old a shared answer src may take (seconds; <= 0: ask the remote,
 * then share the answer).  Default 0. */
void gitsrc_set_max_age(struct gitsrc *src, double max_age_s);
/* A push to url (credentials ignored: every key of that URL): the next
 * gitsrc_get of it asks the remote, even one in flight now answers again. */
void gitsrc_share_invalidate(struct gitsrc_share *sh, const char *url);
/* What went to the remotes through the share, since gitsrc_share_new. */
struct gitsrc_share_stats {
	uint64_t remote_checks; /* ls-remotes (connect and list refs) */
	uint64_t fetches;       /* fetches (objects downloaded or cloned) */
	uint64_t shared;        /* gitsrc_get answered from the share */
};
void gitsrc_share_stats(const struct gitsrc_share *sh, struct gitsrc_share_stats *out);

/* Garbage collection (gitsrc-gc.c).  Remove every export
 * (trees/<key>/<sha>) whose commit is not in shas, and every cache
 * repository (repos/<key>.git) from which no listed commit is exported,
 * both only when last modified min_age_s ago or earlier (an export being
 * written or rendered now is younger); a repository locked by a fetch is
 * skipped.  shas are borrowed (the commits Applications use).  stats (may
 * be NULL) receives what was removed.  Not for concurrent use with
 * gitsrc_get on the same commit younger than min_age_s.  Errors: GS_EIO
 * when the cache cannot be read. */
struct gitsrc_gc_stats {
	size_t exports_removed, repos_removed;
	uint64_t bytes_freed;
};
int gitsrc_gc(struct gitsrc_gc_stats *stats, struct gitsrc *src, const char *const *shas,
	      size_t n_shas, double min_age_s, struct gs_error *err);
/* Bytes the cache takes on disk (allocated blocks; walks the whole cache). */
uint64_t gitsrc_cache_bytes(const struct gitsrc *src);

/* The cache directory given to gitsrc_new (borrowed); other caches of
 * the same owner (Helm charts: <cache>/helm) live beside repos/ and trees/. */
const char *gitsrc_cache_dir(const struct gitsrc *src);

/* Limits on one export (defaults: 256 MiB, 200,000 files).  0 keeps the default. */
void gitsrc_set_export_limits(struct gitsrc *src, size_t max_bytes, size_t max_files);

/* The one redaction of Git credentials, used at every boundary where a
 * repository URL can leave the process (logs, events, status, CLI output in
 * every format, the HTTP API, metrics labels).
 *
 * gitsrc_text_redact: text with every URL's secret userinfo replaced
 * (owned): the password of "https://user:pass@h" becomes "***", and so does
 * a token given as the user of an http(s) URL ("https://TOKEN@h"); the user
 * of an ssh URL is not a secret and stays.  NULL gives "".
 * gitsrc_url_redact: the same for one URL.
 * gitsrc_text_has_secret: would gitsrc_text_redact change text?
 * gitsrc_node_redact: redact every string of a parsed object in place
 * (an Application before it is printed or served). */
char *gitsrc_text_redact(const char *text);
char *gitsrc_url_redact(const char *url);
bool gitsrc_text_has_secret(const char *text);
struct mf_node;
void gitsrc_node_redact(struct mf_node *n);

/* Parse a boolean setting strictly: "true"/"1" or "false"/"0" (unset or
 * "" is false).  Anything else is GS_EINVAL naming what: a typo must never
 * turn a safety check off (or on) silently. */
int gitsrc_parse_bool(bool *out, const char *what, const char *v, struct gs_error *err);

/* The global credentials from the environment for url (auth filled with
 * borrowed getenv() pointers): GITSYNC_GIT_USERNAME, GITSYNC_GIT_PASSWORD and
 * GITSYNC_GIT_SSH_KEY_FILE are used only when url's host is listed in
 * GITSYNC_GIT_HOSTS ("host[:port],..."; unset: no host) and url carries no
 * password of its own; GITSYNC_GIT_KNOWN_HOSTS_FILE, GITSYNC_GIT_CA_FILE and
 * GITSYNC_GIT_INSECURE_IGNORE_HOST_KEY (strict boolean) always apply.
 * GS_EINVAL for a bad boolean or URL. */
int gitsrc_auth_from_env(struct gitsrc_auth *auth, const char *url, struct gs_error *err);

/* How well a credential template's url prefix matches url: the length of
 * the matched prefix (compared without credentials, ending at a path
 * boundary), 0 when it does not match or url carries its own password.
 * The longest match wins. */
size_t gitsrc_url_prefix_match(const char *url, const char *prefix);

/* True for a 40-hex commit id. */
bool gitsrc_is_sha(const char *s);

#endif
