/* apitoken.c - API bearer tokens (see apitoken.h). */
#include "httpd/apitoken.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gs-alloc.h"
#include "gs-base64.h"

#define TOKEN_PREFIX "gst_"
#define MAX_TOKENS 1024 /* a Secret holds at most 1 MiB anyway */

struct apitoken_entry {
	char *name;
	char *projects; /* "a,b"; NULL = every project */
	enum apitoken_scope scope;
	unsigned char hash[32];
};

struct apitoken_table {
	struct apitoken_entry *v;
	size_t nr, alloc;
};

const char *apitoken_scope_name(enum apitoken_scope s)
{
	switch (s) {
	case APITOKEN_READ:
		return "read";
	case APITOKEN_SYNC:
		return "sync";
	case APITOKEN_ADMIN:
		return "admin";
	case APITOKEN_NONE:
		break;
	}
	return NULL;
}

enum apitoken_scope apitoken_scope_parse(const char *s)
{
	if (s && !strcmp(s, "read"))
		return APITOKEN_READ;
	if (s && !strcmp(s, "sync"))
		return APITOKEN_SYNC;
	if (s && !strcmp(s, "admin"))
		return APITOKEN_ADMIN;
	return APITOKEN_NONE;
}

static void sha256(unsigned char out[32], const void *data, size_t len)
{
	unsigned int n = 32;

	EVP_Digest(data, len, out, &n, EVP_sha256(), NULL);
}

void apitoken_sha256_hex(char hex[65], const void *data, size_t len)
{
	static const char digits[] = "0123456789abcdef";
	unsigned char h[32];
	size_t i;

	sha256(h, data, len);
	for (i = 0; i < 32; i++) {
		hex[2 * i] = digits[h[i] >> 4];
		hex[2 * i + 1] = digits[h[i] & 15];
	}
	hex[64] = '\0';
}

static int valid_name(const char *s, size_t n)
{
	size_t i;

	if (!n || n > 128)
		return 0;
	for (i = 0; i < n; i++) {
		char c = s[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '.' || c == '_' || c == '-'))
			return 0;
	}
	return 1;
}

/* Split the next whitespace-separated field of [*p, end). */
static int next_field(const char **p, const char *end, const char **start, size_t *n)
{
	while (*p < end && (**p == ' ' || **p == '\t'))
		(*p)++;
	*start = *p;
	while (*p < end && **p != ' ' && **p != '\t')
		(*p)++;
	*n = (size_t)(*p - *start);
	return *n > 0;
}

static int parse_line(struct apitoken_entry *e, const char *p, const char *end, unsigned lineno,
		      struct gs_error *err)
{
	const char *f[4], *extra;
	size_t n[4], nextra, i, nf = 0;
	char scope[8];

	while (nf < 4 && next_field(&p, end, &f[nf], &n[nf]))
		nf++;
	if (nf < 3)
		return gs_error_set(err, GS_EINVAL,
				    "api.tokens line %u: expected 'NAME SCOPE [PROJECT,...] sha256:HEX'",
				    lineno);
	if (next_field(&p, end, &extra, &nextra))
		return gs_error_set(err, GS_EINVAL,
				    "api.tokens line %u: unexpected text after the hash", lineno);
	if (nf == 4) {
		/* NAME SCOPE PROJECTS HASH: the projects are names, comma-separated */
		for (i = 0; i < n[2]; i++)
			if (f[2][i] != ',' && !valid_name(f[2] + i, 1))
				return gs_error_set(err, GS_EINVAL,
						    "api.tokens line %u: bad project list (names "
						    "separated by commas)",
						    lineno);
		e->projects = gs_strndup(f[2], n[2]);
		f[2] = f[3];
		n[2] = n[3];
	}
	if (!valid_name(f[0], n[0]))
		return gs_error_set(err, GS_EINVAL,
				    "api.tokens line %u: bad token name (use letters, digits, '.', '_', '-')",
				    lineno);
	if (n[1] >= sizeof(scope))
		n[1] = sizeof(scope) - 1;
	memcpy(scope, f[1], n[1]);
	scope[n[1]] = '\0';
	e->scope = apitoken_scope_parse(scope);
	if (e->scope == APITOKEN_NONE)
		return gs_error_set(err, GS_EINVAL,
				    "api.tokens line %u: scope must be 'read', 'sync' or 'admin'", lineno);
	/* Never echo the third field: someone may have pasted the token itself. */
	if (n[2] != 7 + 64 || memcmp(f[2], "sha256:", 7))
		return gs_error_set(err, GS_EINVAL,
				    "api.tokens line %u: hash must be 'sha256:' and 64 hex digits "
				    "(store the hash, not the token)",
				    lineno);
	for (i = 0; i < 32; i++) {
		int hi = gs_hex_digit(f[2][7 + 2 * i]), lo = gs_hex_digit(f[2][7 + 2 * i + 1]);
		if (hi < 0 || lo < 0)
			return gs_error_set(err, GS_EINVAL,
					    "api.tokens line %u: hash is not hexadecimal", lineno);
		e->hash[i] = (unsigned char)(hi << 4 | lo);
	}
	e->name = gs_strndup(f[0], n[0]);
	return 0;
}

int apitoken_table_parse(struct apitoken_table **out, const char *text, size_t len,
			 struct gs_error *err)
{
	struct apitoken_table *t = gs_calloc(1, sizeof(*t));
	const char *p = text, *end = text + len;
	unsigned lineno = 0;
	int rc = 0;

	*out = NULL;
	while (p < end) {
		const char *eol = memchr(p, '\n', (size_t)(end - p)), *s = p, *e;
		struct apitoken_entry entry = { 0 };

		if (!eol)
			eol = end;
		lineno++;
		e = eol;
		if (e > s && e[-1] == '\r')
			e--;
		p = eol < end ? eol + 1 : end;
		while (s < e && (*s == ' ' || *s == '\t'))
			s++;
		if (s == e || *s == '#')
			continue;
		if (t->nr >= MAX_TOKENS) {
			rc = gs_error_set(err, GS_ELIMIT, "api.tokens: more than %d tokens",
					  MAX_TOKENS);
			goto cleanup;
		}
		rc = parse_line(&entry, s, e, lineno, err);
		if (rc) {
			free(entry.projects);
			goto cleanup;
		}
		GS_ALLOC_GROW(t->v, t->nr + 1, t->alloc);
		t->v[t->nr++] = entry;
	}
	*out = t;
	t = NULL;
cleanup:
	apitoken_table_free(t);
	return rc;
}

void apitoken_table_free(struct apitoken_table *t)
{
	size_t i;

	if (!t)
		return;
	for (i = 0; i < t->nr; i++) {
		free(t->v[i].name);
		free(t->v[i].projects);
	}
	free(t->v);
	free(t);
}

size_t apitoken_table_count(const struct apitoken_table *t)
{
	return t ? t->nr : 0;
}

enum apitoken_scope apitoken_table_check(const struct apitoken_table *t, const char *token,
					 size_t len, const char **name_out)
{
	return apitoken_table_lookup(t, token, len, name_out, NULL);
}

bool apitoken_projects_allow(const char *projects, const char *project)
{
	size_t n = strlen(project);
	const char *p = projects;

	if (!projects)
		return true;
	while (*p) {
		size_t len = strcspn(p, ",");

		if (len == n && !memcmp(p, project, n))
			return true;
		p += len;
		if (*p == ',')
			p++;
	}
	return false;
}

enum apitoken_scope apitoken_table_lookup(const struct apitoken_table *t, const char *token,
					  size_t len, const char **name_out,
					  const char **projects_out)
{
	enum apitoken_scope scope = APITOKEN_NONE;
	unsigned char h[32];
	size_t i;

	if (name_out)
		*name_out = NULL;
	if (projects_out)
		*projects_out = NULL;
	if (!t || !token || !len)
		return APITOKEN_NONE;
	sha256(h, token, len);
	/* Visit every entry whatever matched, so the time taken does not say
	 * which entry (or whether any) matched. */
	for (i = 0; i < t->nr; i++) {
		if (CRYPTO_memcmp(h, t->v[i].hash, sizeof(h)) == 0 && scope == APITOKEN_NONE) {
			scope = t->v[i].scope;
			if (name_out)
				*name_out = t->v[i].name;
			if (projects_out)
				*projects_out = t->v[i].projects;
		}
	}
	OPENSSL_cleanse(h, sizeof(h));
	return scope;
}

int apitoken_generate(char **token_out, char **line_out, const char *name,
		      enum apitoken_scope scope, struct gs_error *err)
{
	unsigned char rnd[32];
	char tok[sizeof(TOKEN_PREFIX) + 44], hex[65];
	struct gs_buf enc = GS_BUF_INIT;
	size_t o = strlen(TOKEN_PREFIX);

	*token_out = *line_out = NULL;
	if (!name || !valid_name(name, strlen(name)))
		return gs_error_set(err, GS_EINVAL,
				    "bad token name '%s' (use letters, digits, '.', '_', '-')",
				    name ? name : "");
	if (!apitoken_scope_name(scope))
		return gs_error_set(err, GS_EINVAL, "scope must be 'read' or 'sync'");
	if (RAND_bytes(rnd, sizeof(rnd)) != 1)
		return gs_error_set(err, GS_ERR, "cannot generate a token: random source failed");
	memcpy(tok, TOKEN_PREFIX, o);
	gs_base64_encode(&enc, rnd, sizeof(rnd), GS_BASE64_URL);
	memcpy(tok + o, enc.ptr, enc.len + 1); /* 43 characters and the NUL */
	o += enc.len;
	OPENSSL_cleanse(enc.ptr, enc.len);
	gs_buf_release(&enc);
	apitoken_sha256_hex(hex, tok, o);
	*token_out = gs_strdup(tok);
	*line_out = gs_asprintf("%s %s sha256:%s", name, apitoken_scope_name(scope), hex);
	OPENSSL_cleanse(tok, sizeof(tok));
	OPENSSL_cleanse(rnd, sizeof(rnd));
	return 0;
}
