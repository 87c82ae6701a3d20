/* gitsrc-private.h - internals shared by gitsrc*.c and the unit tests. */
#ifndef GS_GITSRC_PRIVATE_H
#define GS_GITSRC_PRIVATE_H

#include <stdbool.h>
#include <stddef.h>

#include "gs-error.h"

/* A URL split into what libgit2 may see and the secrets it must not.
 * clean: the URL without password (and without user for http(s)). */
struct gitsrc_url {
	char *clean;    /* owned */
	char *username; /* owned, NULL when none (percent-decoded) */
	char *password; /* owned, NULL when none (percent-decoded) */
	char *host;     /* owned, NULL for local paths */
	int port;       /* 0 when not given */
	bool local;     /* a path or file:// URL */
};
#define GITSRC_URL_INIT { NULL, NULL, NULL, NULL, 0, false }
int gitsrc_url_parse(struct gitsrc_url *out, const char *url, struct gs_error *err);
void gitsrc_url_release(struct gitsrc_url *u);

/* Look host (and port, 0 = 22) up in known_hosts text and compare the raw
 * public key blob (the SSH wire format, as libssh2 gives it).
 * Returns 1 when a line for the host has this key, 0 when the host is not
 * listed, -1 when the host is listed with other keys only (a changed key). */
int gitsrc_known_hosts_check(const char *known_hosts, const char *host, int port,
			     const unsigned char *key, size_t key_len);

/* Verify a DER certificate against PEM CA text (and/or a CA file) and check
 * that it is valid for host.  GS_OK or GS_EAUTH with a message. */
int gitsrc_verify_x509(const unsigned char *der, size_t der_len, const char *host,
		       const char *ca_pem, const char *ca_file, struct gs_error *err);

/* The cache directory given to gitsrc_new (borrowed), for gitsrc-gc.c. */
struct gitsrc;
const char *gitsrc_cache_path(const struct gitsrc *src);

/* The share (gitsrc-share.c) as gitsrc_get uses it.  mkey: cache key,
 * revision and flags; clean_url: for gitsrc_share_invalidate.
 * begin: 1 with *hit filled (owned by the caller) when a fresh answer is
 * there; 0 when the caller is to ask the remote, then call end with *gen
 * and its result (NULL on error) exactly once. */
struct gitsrc_result;
struct gitsrc_share;
int gitsrc_share_begin(struct gitsrc_share *sh, const char *mkey, const char *clean_url,
		       double max_age_s, struct gitsrc_result *hit, unsigned *gen);
void gitsrc_share_end(struct gitsrc_share *sh, const char *mkey,
		      const struct gitsrc_result *res, unsigned gen);
/* Count what went to a remote. */
void gitsrc_share_count(struct gitsrc_share *sh, bool remote_check, bool fetch);

/* gitsrc-stream.c: the TCP stream libgit2 connects through (http://,
 * https:// under TLS, and the connect of ssh://), with a 30 s connect
 * timeout and an idle timeout (no byte either way) of 120 s, or
 * GITSYNC_GIT_IO_TIMEOUT seconds read once.  Register after
 * git_libgit2_init(); the first call registers, later ones only return
 * that result.  Thread-safe. */
int gitsrc_stream_register(struct gs_error *err);
/* The idle timeout in seconds, once gitsrc_stream_register has run. */
int gitsrc_stream_idle_timeout(void);

#endif
