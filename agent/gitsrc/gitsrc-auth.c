/* gitsrc-auth.c - URL credentials, SSH known_hosts and HTTPS CA checks.
 *
 * These run inside libgit2 callbacks; they never print, and nothing here
 * copies a password into an error message.
 */
#include "gitsrc/gitsrc-private.h"
#include "gitsrc/gitsrc.h"

#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>
#include <openssl/x509v3.h>

#include "gs-alloc.h"
#include "gs-base64.h"
#include "gs-buf.h"
#include "mf-node.h"

bool gitsrc_is_sha(const char *s)
{
	size_t i;

	if (!s)
		return false;
	for (i = 0; i < 40; i++)
		if (!isxdigit((unsigned char)s[i]))
			return false;
	return s[40] == '\0';
}

static char *pct_decode(const char *s, size_t len)
{
	char *out = gs_malloc(len + 1);
	size_t i, o = 0;

	for (i = 0; i < len; i++) {
		if (s[i] == '%' && i + 2 < len && gs_hex_digit((unsigned char)s[i + 1]) >= 0 &&
		    gs_hex_digit((unsigned char)s[i + 2]) >= 0) {
			out[o++] = (char)(gs_hex_digit((unsigned char)s[i + 1]) * 16 +
					  gs_hex_digit((unsigned char)s[i + 2]));
			i += 2;
		} else {
			out[o++] = s[i];
		}
	}
	out[o] = '\0';
	return out;
}

void gitsrc_url_release(struct gitsrc_url *u)
{
	free(u->clean);
	if (u->password) /* do not leave a secret in freed memory */
		memset(u->password, 0, strlen(u->password));
	free(u->password);
	free(u->username);
	free(u->host);
	*u = (struct gitsrc_url)GITSRC_URL_INIT;
}

int gitsrc_url_parse(struct gitsrc_url *out, const char *url, struct gs_error *err)
{
	struct gitsrc_url u = GITSRC_URL_INIT;
	const char *scheme_end, *auth_start, *host_start, *host_end, *at, *p;
	bool http;

	if (!url || !*url)
		return gs_error_set(err, GS_EINVAL, "empty repository URL");
	scheme_end = strstr(url, "://");
	if (!scheme_end) {
		/* scp-like "user@host:path" (a colon before any slash), else a path */
		const char *colon = strchr(url, ':');
		const char *slash = strchr(url, '/');

		if (colon && (!slash || colon < slash) && colon != url) {
			at = memchr(url, '@', (size_t)(colon - url));
			host_start = at ? at + 1 : url;
			if (at)
				u.username = gs_strndup(url, (size_t)(at - url));
			u.host = gs_strndup(host_start, (size_t)(colon - host_start));
			u.clean = gs_strdup(url);
		} else {
			u.local = true;
			u.clean = gs_strdup(url);
		}
		*out = u;
		return GS_OK;
	}
	if (!strncmp(url, "file://", 7)) {
		u.local = true;
		u.clean = gs_strdup(url);
		*out = u;
		return GS_OK;
	}
	http = !strncmp(url, "http://", 7) || !strncmp(url, "https://", 8);
	if (!http && strncmp(url, "ssh://", 6) && strncmp(url, "git://", 6) &&
	    strncmp(url, "ssh+git://", 10) && strncmp(url, "git+ssh://", 10))
		return gs_error_set(err, GS_EINVAL,
				    "unsupported repository URL scheme in '%.*s' (use a path, file://, "
				    "http(s):// or ssh://)",
				    (int)(scheme_end - url), url);
	auth_start = scheme_end + 3;
	host_end = auth_start + strcspn(auth_start, "/?#");
	at = NULL;
	for (p = auth_start; p < host_end; p++)
		if (*p == '@')
			at = p; /* the last '@' ends userinfo: passwords may hold '@' */
	host_start = at ? at + 1 : auth_start;
	if (at) {
		const char *colon = memchr(auth_start, ':', (size_t)(at - auth_start));

		if (colon) {
			u.username = pct_decode(auth_start, (size_t)(colon - auth_start));
			u.password = pct_decode(colon + 1, (size_t)(at - colon - 1));
		} else {
			u.username = pct_decode(auth_start, (size_t)(at - auth_start));
		}
	}
	{
		/* host[:port], with [v6] literals */
		const char *hp_end = host_end, *colon = NULL;

		if (*host_start == '[') {
			const char *rb = memchr(host_start, ']', (size_t)(host_end - host_start));
			if (rb && rb + 1 < host_end && rb[1] == ':')
				colon = rb + 1;
			u.host = gs_strndup(host_start, (size_t)((rb ? rb + 1 : host_end) - host_start));
		} else {
			colon = memchr(host_start, ':', (size_t)(host_end - host_start));
			u.host = gs_strndup(host_start, (size_t)((colon ? colon : hp_end) - host_start));
		}
		if (colon) {
			char *end = NULL;
			long port;

			errno = 0;
			port = strtol(colon + 1, &end, 10);
			if (errno || end != host_end || port <= 0 || port > 65535) {
				gitsrc_url_release(&u);
				return gs_error_set(err, GS_EINVAL, "invalid port in repository URL");
			}
			u.port = (int)port;
		}
	}
	/* http(s): user and password both go through the credential callback;
	 * ssh: the user stays in the URL (it is not a secret, and libgit2 wants it). */
	if (http || !u.username)
		u.clean = gs_asprintf("%.*s%s", (int)(auth_start - url), url, host_start);
	else
		u.clean = gs_asprintf("%.*s%s@%s", (int)(auth_start - url), url, u.username,
				      host_start);
	*out = u;
	return GS_OK;
}

/* The userinfo of a URL starting at auth_start (just after "://"), when it
 * holds a secret: its length through the '@', the scheme being http(s)
 * (a lone user name there is a token: https://TOKEN@host) or any scheme
 * with a password (user:pass@).  0 when there is nothing to hide. */
static size_t secret_userinfo(const char *scheme, size_t scheme_len, const char *auth_start,
			      size_t *user_len)
{
	size_t n = strcspn(auth_start, "/?#@ \t\r\n\"'<>`\\");
	const char *colon;
	bool http = (scheme_len == 4 && !strncasecmp(scheme, "http", 4)) ||
		    (scheme_len == 5 && !strncasecmp(scheme, "https", 5));

	if (auth_start[n] != '@' || !n)
		return 0;
	colon = memchr(auth_start, ':', n);
	if (colon) {
		*user_len = (size_t)(colon - auth_start);
		return n + 1;
	}
	*user_len = 0;
	return http ? n + 1 : 0;
}

char *gitsrc_text_redact(const char *text)
{
	struct gs_buf b = GS_BUF_INIT;
	const char *p, *mark;

	if (!text)
		return gs_strdup("");
	for (p = mark = text; (p = strstr(p, "://")) != NULL;) {
		const char *scheme = p;
		size_t user_len = 0, skip;

		while (scheme > mark && (isalnum((unsigned char)scheme[-1]) || scheme[-1] == '+' ||
					 scheme[-1] == '-' || scheme[-1] == '.'))
			scheme--;
		skip = secret_userinfo(scheme, (size_t)(p - scheme), p + 3, &user_len);
		p += 3;
		if (!skip)
			continue;
		gs_buf_add(&b, mark, (size_t)(p - mark));
		if (user_len) {
			gs_buf_add(&b, p, user_len);
			gs_buf_puts(&b, ":***@");
		} else {
			gs_buf_puts(&b, "***@");
		}
		p += skip;
		mark = p;
	}
	gs_buf_puts(&b, mark);
	return gs_buf_detach(&b, NULL);
}

char *gitsrc_url_redact(const char *url)
{
	return gitsrc_text_redact(url);
}

bool gitsrc_text_has_secret(const char *text)
{
	char *r = gitsrc_text_redact(text);
	bool changed = strcmp(r, text ? text : "") != 0;

	free(r);
	return changed;
}

void gitsrc_node_redact(struct mf_node *n)
{
	size_t i;

	if (mf_node_type(n) == MF_STR) {
		const char *v = mf_node_str(n);

		if (v && strstr(v, "://") && gitsrc_text_has_secret(v)) {
			char *r = gitsrc_text_redact(v);

			mf_node_set_str(n, r);
			free(r);
		}
		return;
	}
	for (i = 0; i < mf_node_len(n); i++)
		gitsrc_node_redact(mf_node_at(n, i));
}

/* --- known_hosts ------------------------------------------------------- */

/* known_hosts fields: strict base64, at most 64 KiB; NULL otherwise */
static unsigned char *b64_decode(const char *s, size_t len, size_t *out_len)
{
	struct gs_buf b = GS_BUF_INIT;
	struct gs_error err = GS_ERROR_INIT;

	b.max = 65536;
	if (!len || gs_base64_decode(&b, s, len, 0, &err) < 0) {
		gs_buf_release(&b);
		return NULL;
	}
	return (unsigned char *)gs_buf_detach(&b, out_len);
}

/* Does one comma-separated host pattern list (or a |1|salt|hash entry) name host? */
static bool host_matches(const char *field, size_t flen, const char *name)
{
	if (flen > 3 && !strncmp(field, "|1|", 3)) {
		const char *salt = field + 3;
		const char *bar = memchr(salt, '|', flen - 3);
		unsigned char *salt_raw = NULL, *hash_raw = NULL, mac[EVP_MAX_MD_SIZE];
		size_t salt_len = 0, hash_len = 0;
		unsigned int mac_len = 0;
		bool ok = false;

		if (!bar)
			return false;
		salt_raw = b64_decode(salt, (size_t)(bar - salt), &salt_len);
		hash_raw = b64_decode(bar + 1, (size_t)(field + flen - bar - 1), &hash_len);
		if (salt_raw && hash_raw &&
		    HMAC(EVP_sha1(), salt_raw, (int)salt_len, (const unsigned char *)name,
			 strlen(name), mac, &mac_len) &&
		    mac_len == hash_len && !memcmp(mac, hash_raw, hash_len))
			ok = true;
		free(salt_raw);
		free(hash_raw);
		return ok;
	}
	while (flen > 0) {
		size_t n = 0;

		while (n < flen && field[n] != ',')
			n++;
		/* negated patterns and wildcards are rare in a deploy key's known_hosts;
		 * a plain (case-insensitive) comparison keeps this predictable */
		if (n == strlen(name) && !strncasecmp(field, name, n))
			return true;
		field += n;
		flen -= n;
		if (flen) {
			field++;
			flen--;
		}
	}
	return false;
}

int gitsrc_known_hosts_check(const char *known_hosts, const char *host, int port,
			     const unsigned char *key, size_t key_len)
{
	char name[300];
	const char *line = known_hosts;
	int found = 0;
	bool revoked = false, accepted = false;

	if (!known_hosts || !host)
		return 0;
	if (port && port != 22)
		snprintf(name, sizeof(name), "[%s]:%d", host, port);
	else
		snprintf(name, sizeof(name), "%s", host);
	while (line && *line) {
		const char *eol = strchr(line, '\n');
		size_t len = eol ? (size_t)(eol - line) : strlen(line);
		const char *f[4];
		size_t fl[4];
		size_t i = 0, nf = 0;

		/* fields: [@marker] hosts keytype base64 [comment] */
		while (nf < 4 && i < len) {
			while (i < len && (line[i] == ' ' || line[i] == '\t'))
				i++;
			if (i >= len)
				break;
			f[nf] = line + i;
			while (i < len && line[i] != ' ' && line[i] != '\t' && line[i] != '\r')
				i++;
			fl[nf] = (size_t)(line + i - f[nf]);
			nf++;
		}
		if (nf >= 3 && f[0][0] != '#') {
			size_t h = 0;

			if (f[0][0] == '@') {
				/* @revoked marks a key that must never be accepted;
				 * @cert-authority needs certificates we do not speak */
				h = 1;
			}
			if (nf >= h + 3 && host_matches(f[h], fl[h], name)) {
				size_t raw_len = 0;
				unsigned char *raw = b64_decode(f[h + 2], fl[h + 2], &raw_len);
				bool same = raw && raw_len == key_len && !memcmp(raw, key, key_len);

				free(raw);
				/* a revoked key is refused wherever its line is:
				 * read every line before accepting */
				if (h == 1 && fl[0] == 8 && !strncmp(f[0], "@revoked", 8) && same)
					revoked = true;
				if (h == 0) {
					if (same)
						accepted = true;
					else
						found = -1;
				}
			}
		}
		line = eol ? eol + 1 : NULL;
	}
	if (revoked)
		return -1;
	return accepted ? 1 : found;
}

/* --- HTTPS with a private CA ------------------------------------------- */

int gitsrc_verify_x509(const unsigned char *der, size_t der_len, const char *host,
		       const char *ca_pem, const char *ca_file, struct gs_error *err)
{
	const unsigned char *p = der;
	X509 *cert = NULL;
	X509_STORE *store = NULL;
	X509_STORE_CTX *ctx = NULL;
	BIO *bio = NULL;
	int rc = GS_EAUTH;

	cert = d2i_X509(NULL, &p, (long)der_len);
	if (!cert) {
		gs_error_set(err, GS_EAUTH, "TLS: cannot decode the server certificate");
		goto cleanup;
	}
	store = X509_STORE_new();
	if (!store)
		goto cleanup;
	if (ca_pem && *ca_pem) {
		X509 *ca;
		int n = 0;

		bio = BIO_new_mem_buf(ca_pem, -1);
		while (bio && (ca = PEM_read_bio_X509(bio, NULL, NULL, NULL))) {
			X509_STORE_add_cert(store, ca);
			X509_free(ca);
			n++;
		}
		if (!n) {
			gs_error_set(err, GS_EAUTH, "TLS: the CA bundle holds no PEM certificate");
			goto cleanup;
		}
	}
	if (ca_file && *ca_file && X509_STORE_load_file(store, ca_file) != 1) {
		gs_error_set(err, GS_EAUTH, "TLS: cannot load CA file '%s'", ca_file);
		goto cleanup;
	}
	/* A trust anchor in the bundle may be an intermediate or the server's own
	 * self-signed certificate, as private setups often have. */
	X509_STORE_set_flags(store, X509_V_FLAG_PARTIAL_CHAIN);
	ctx = X509_STORE_CTX_new();
	if (!ctx || X509_STORE_CTX_init(ctx, store, cert, NULL) != 1)
		goto cleanup;
	if (X509_verify_cert(ctx) != 1) {
		gs_error_set(err, GS_EAUTH, "TLS: server certificate not trusted by the CA bundle: %s",
			     X509_verify_cert_error_string(X509_STORE_CTX_get_error(ctx)));
		goto cleanup;
	}
	if (host && X509_check_host(cert, host, 0, 0, NULL) != 1 &&
	    X509_check_ip_asc(cert, host, 0) != 1) {
		gs_error_set(err, GS_EAUTH, "TLS: server certificate is not valid for '%s'", host);
		goto cleanup;
	}
	rc = GS_OK;
cleanup:
	if (rc && err && err->code == GS_OK)
		gs_error_set(err, GS_EAUTH, "TLS: cannot verify the server certificate");
	X509_STORE_CTX_free(ctx);
	X509_STORE_free(store);
	BIO_free(bio);
	X509_free(cert);
	return rc;
}
