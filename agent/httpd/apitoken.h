/* apitoken.h - bearer tokens for the agent's API.
 *
 * The agent stores only the SHA-256 of each token, one per line of the
 * Secret key `api.tokens`:
 *
 *     # NAME  SCOPE  HASH
 *     ci-prod sync   sha256:9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08
 *
 * SCOPE is `read` (list/get/diff/follow) or `sync` (read + request syncs and
 * refreshes).  A line may name the projects (projects.gitsync.io) whose
 * Applications the token sees and acts on, comma-separated, before the
 * hash; without that field the token reaches every project:
 *
 *     team-a-ci sync team-a,shared sha256:...
 *  Blank lines and lines starting with '#' are ignored.  A token
 * is checked by hashing it and comparing against every entry in constant
 * time (CRYPTO_memcmp, no early exit), so neither the hash nor which entry
 * matched leaks through timing.
 */
#ifndef GS_APITOKEN_H
#define GS_APITOKEN_H

#include <stdbool.h>
#include <stddef.h>

#include "gs-error.h"

enum apitoken_scope {
	APITOKEN_NONE = 0, /* unknown token */
	APITOKEN_READ = 1,
	APITOKEN_SYNC = 2, /* implies READ */
};

/* "read", "sync" (NULL for NONE). */
const char *apitoken_scope_name(enum apitoken_scope s);
/* Parse "read"/"sync"; APITOKEN_NONE otherwise. */
enum apitoken_scope apitoken_scope_parse(const char *s);

struct apitoken_table;

/* Parse the text of `api.tokens` (len bytes, need not be NUL-terminated).
 * GS_EINVAL naming the line on a malformed line (no line is echoed: it might
 * hold a pasted token).  *out owned by the caller. */
int apitoken_table_parse(struct apitoken_table **out, const char *text, size_t len,
			 struct gs_error *err);
void apitoken_table_free(struct apitoken_table *t);
size_t apitoken_table_count(const struct apitoken_table *t);

/* The scope of a presented token (len bytes), APITOKEN_NONE when no entry
 * matches.  *name_out (may be NULL) is set to the entry's name, borrowed
 * from t, or NULL.  t may be NULL (no tokens configured: nothing matches).
 * Thread-safe for concurrent readers. */
enum apitoken_scope apitoken_table_check(const struct apitoken_table *t, const char *token,
					 size_t len, const char **name_out);

/* As apitoken_table_check, and *projects_out (may be NULL) = the entry's
 * project list ("a,b", borrowed from t) or NULL for every project. */
enum apitoken_scope apitoken_table_lookup(const struct apitoken_table *t, const char *token,
					  size_t len, const char **name_out,
					  const char **projects_out);
/* Does a project list (as from apitoken_table_lookup; NULL = all) hold
 * project? */
bool apitoken_projects_allow(const char *projects, const char *project);

/* Make a new random token (32 bytes from the OpenSSL CSPRNG, base64url,
 * prefixed "gst_") and its `NAME SCOPE sha256:HEX` line.  name must be
 * [A-Za-z0-9._-]+.  Both outputs owned by the caller.  GS_EINVAL on a bad
 * name or scope, GS_ERR when the CSPRNG fails. */
int apitoken_generate(char **token_out, char **line_out, const char *name,
		      enum apitoken_scope scope, struct gs_error *err);

/* Hex SHA-256 of data into hex (65 bytes with NUL). */
void apitoken_sha256_hex(char hex[65], const void *data, size_t len);

#endif
