/* kz-hash.c - kustomize's content hash for generated ConfigMaps/Secrets.
 *
 * kustomize (api/hasher) hashes the Go json.Marshal encoding of a map
 * {"data", "kind", "name", and "binaryData" when present / "type" for
 * Secrets} with SHA-256 and keeps the first 10 hex digits, remapping
 * 0 1 3 a e to g h k m t so that the suffix never spells words.  The name is
 * hashed as "" (generated objects are hashed before naming), and Go escapes
 * HTML characters, so both are reproduced byte for byte here. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "gs-alloc.h"
#include "kz-private.h"
#include "mf-object.h"

/* Decode one UTF-8 sequence; returns its length or 0 when invalid. */
static size_t utf8_len(const unsigned char *s, size_t n, uint32_t *cp)
{
	uint32_t c;
	size_t len, i;

	if (s[0] < 0x80) {
		*cp = s[0];
		return 1;
	}
	if ((s[0] & 0xe0) == 0xc0) {
		len = 2;
		c = s[0] & 0x1fu;
	} else if ((s[0] & 0xf0) == 0xe0) {
		len = 3;
		c = s[0] & 0x0fu;
	} else if ((s[0] & 0xf8) == 0xf0) {
		len = 4;
		c = s[0] & 0x07u;
	} else {
		return 0;
	}
	if (len > n)
		return 0;
	for (i = 1; i < len; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		c = (c << 6) | (s[i] & 0x3fu);
	}
	if ((len == 2 && c < 0x80) || (len == 3 && c < 0x800) || (len == 4 && c < 0x10000) ||
	    c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff))
		return 0;
	*cp = c;
	return len;
}

void kz_json_quote(struct gs_buf *b, const char *str, size_t n)
{
	static const char hex[] = "0123456789abcdef";
	const unsigned char *s = (const unsigned char *)str;
	size_t i = 0;

	gs_buf_putc(b, '"');
	while (i < n) {
		unsigned char c = s[i];
		uint32_t cp;
		size_t len;

		if (c < 0x80) {
			if (c == '"' || c == '\\') {
				gs_buf_putc(b, '\\');
				gs_buf_putc(b, (char)c);
			} else if (c == '\n') {
				gs_buf_puts(b, "\\n");
			} else if (c == '\r') {
				gs_buf_puts(b, "\\r");
			} else if (c == '\t') {
				gs_buf_puts(b, "\\t");
			} else if (c < 0x20 || c == '<' || c == '>' || c == '&') {
				gs_buf_puts(b, "\\u00");
				gs_buf_putc(b, hex[c >> 4]);
				gs_buf_putc(b, hex[c & 15]);
			} else {
				gs_buf_putc(b, (char)c);
			}
			i++;
			continue;
		}
		len = utf8_len(s + i, n - i, &cp);
		if (!len) {
			gs_buf_puts(b, "\\ufffd");
			i++;
			continue;
		}
		if (cp == 0x2028 || cp == 0x2029)
			gs_buf_printf(b, "\\u%04x", (unsigned)cp);
		else
			gs_buf_add(b, s + i, len);
		i += len;
	}
	gs_buf_putc(b, '"');
}

static int key_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Go marshals map[string]string with sorted keys. */
static void json_strmap(struct gs_buf *b, const struct mf_node *map)
{
	size_t n = mf_node_len(map), i;
	const char **keys;

	if (!map) {
		/* kustomize's getNodeValues: a missing field hashes as "" */
		gs_buf_puts(b, "\"\"");
		return;
	}
	if (mf_node_type(map) != MF_MAP) {
		const char *s = mf_node_str(map);
		if (mf_node_type(map) == MF_NULL)
			gs_buf_puts(b, "null");
		else
			kz_json_quote(b, s ? s : "", s ? mf_node_strlen(map) : 0);
		return;
	}
	keys = n ? (const char **)calloc(n, sizeof(*keys)) : NULL;
	for (i = 0; i < n; i++)
		keys[i] = mf_node_key(map, i);
	if (n)
		qsort(keys, n, sizeof(*keys), key_cmp);
	gs_buf_putc(b, '{');
	for (i = 0; i < n; i++) {
		const struct mf_node *v = mf_node_get(map, keys[i]);
		const char *s = mf_node_str(v);

		if (i)
			gs_buf_putc(b, ',');
		kz_json_quote(b, keys[i], strlen(keys[i]));
		gs_buf_putc(b, ':');
		kz_json_quote(b, s ? s : "", s ? mf_node_strlen(v) : 0);
	}
	gs_buf_putc(b, '}');
	free(keys);
}

int kz_hash_object(char out[11], const struct mf_node *obj, struct gs_error *err)
{
	const char *kind = mf_obj_kind(obj);
	struct gs_buf b = GS_BUF_INIT;
	unsigned char md[32];
	static const char hex[] = "0123456789abcdef";
	int i;

	if (!kind || (strcmp(kind, "ConfigMap") && strcmp(kind, "Secret")))
		return gs_error_set(err, GS_EINVAL, "cannot hash a %s", kind ? kind : "object");
	if (!strcmp(kind, "ConfigMap")) {
		const struct mf_node *bin = mf_node_get(obj, "binaryData");

		if (mf_node_type(bin) == MF_MAP) {
			gs_buf_puts(&b, "{\"binaryData\":");
			json_strmap(&b, bin);
			gs_buf_puts(&b, ",\"data\":");
		} else {
			gs_buf_puts(&b, "{\"data\":");
		}
		json_strmap(&b, mf_node_get(obj, "data"));
		gs_buf_puts(&b, ",\"kind\":\"ConfigMap\",\"name\":\"\"}");
	} else {
		const char *type = mf_node_str(mf_node_get(obj, "type"));

		gs_buf_puts(&b, "{\"data\":");
		json_strmap(&b, mf_node_get(obj, "data"));
		gs_buf_puts(&b, ",\"kind\":\"Secret\",\"name\":\"\"");
		if (mf_node_type(mf_node_get(obj, "stringData")) == MF_MAP) {
			gs_buf_puts(&b, ",\"stringData\":");
			json_strmap(&b, mf_node_get(obj, "stringData"));
		}
		gs_buf_puts(&b, ",\"type\":");
		kz_json_quote(&b, type ? type : "", type ? strlen(type) : 0);
		gs_buf_putc(&b, '}');
	}
	/* OpenSSL is our one hash provider (fixed by design), even if its
	 * first use costs a few million instructions per render */
	if (!EVP_Digest(b.ptr, b.len, md, NULL, EVP_sha256(), NULL))
		abort();
	gs_buf_release(&b);
	for (i = 0; i < 10; i++) {
		char c = hex[(md[i / 2] >> ((i % 2) ? 0 : 4)) & 15];

		switch (c) {
		case '0': c = 'g'; break;
		case '1': c = 'h'; break;
		case '3': c = 'k'; break;
		case 'a': c = 'm'; break;
		case 'e': c = 't'; break;
		default: break;
		}
		out[i] = c;
	}
	out[10] = '\0';
	return GS_OK;
}

int kz_hash_names(struct kz_resmap *m, struct gs_error *err)
{
	size_t i;

	for (i = 0; i < m->n; i++) {
		struct kz_res *r = m->v[i];
		char h[11], *name;
		int rc;

		if (!(r->flags & KZ_RES_HASH))
			continue;
		if ((rc = kz_hash_object(h, r->obj, err)) < 0)
			return rc;
		name = gs_asprintf("%s-%s", mf_obj_name(r->obj), h);
		kz_res_set_name(r, name);
		free(name);
		r->flags &= ~(unsigned)KZ_RES_HASH;
	}
	return GS_OK;
}
