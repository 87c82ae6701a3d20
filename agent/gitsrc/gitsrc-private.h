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

#endif
