/* kube-json.c - cJSON <-> mf_node for API bodies.
 *
 * The engine's mf-json.h parses text; the client gets cJSON trees page by
 * page from LIST and converts one item at a time, so memory stays bounded by
 * a page rather than by the whole list.
 */
#include "kube/kube-private.h"

#include "gs-alloc.h"
#include "mf-json.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct mf_node *kube_json_to_node(const cJSON *j)
{
	struct mf_node *n;
	const cJSON *c;
	char num[64];

	if (!j || cJSON_IsNull(j))
		return mf_node_new_null();
	if (cJSON_IsBool(j))
		return mf_node_new_bool(cJSON_IsTrue(j));
	if (cJSON_IsString(j))
		return mf_node_new_str(j->valuestring ? j->valuestring : "");
	if (cJSON_IsNumber(j)) {
		double d = j->valuedouble;

		if (d == floor(d) && fabs(d) < 9007199254740992.0) {
			snprintf(num, sizeof(num), "%.0f", d);
			return mf_node_new_number(MF_INT, num, strlen(num));
		}
		snprintf(num, sizeof(num), "%.17g", d);
		return mf_node_new_number(MF_FLOAT, num, strlen(num));
	}
	if (cJSON_IsArray(j)) {
		n = mf_node_new(MF_SEQ);
		cJSON_ArrayForEach(c, j)
			mf_node_append(n, kube_json_to_node(c));
		return n;
	}
	n = mf_node_new(MF_MAP);
	cJSON_ArrayForEach(c, j)
		mf_node_set(n, c->string ? c->string : "", kube_json_to_node(c));
	return n;
}

/* ---- LIST bodies, one item at a time ---- */

static const char *skip_ws(const char *p, const char *end)
{
	while (p < end && (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r'))
		p++;
	return p;
}

/* p at '"': the character after the closing quote, NULL when unterminated. */
static const char *skip_string(const char *p, const char *end)
{
	for (p++; p < end; p++) {
		if (*p == '\\') {
			if (p + 1 >= end)
				break;
			p++; /* the escaped character, whatever it is */
		} else if (*p == '"') {
			return p + 1;
		}
	}
	return NULL;
}

/* The character after the JSON value at p (NULL when malformed). */
static const char *skip_value(const char *p, const char *end)
{
	int depth = 0;

	if (p >= end)
		return NULL;
	if (*p == '"')
		return skip_string(p, end);
	if (*p != '{' && *p != '[') {
		while (p < end && *p != ',' && *p != '}' && *p != ']' && *p != ' ' &&
		       *p != '\n' && *p != '\r' && *p != '\t')
			p++;
		return p;
	}
	while (p < end) {
		if (*p == '"') {
			if (!(p = skip_string(p, end)))
				return NULL;
			continue;
		}
		if (*p == '{' || *p == '[')
			depth++;
		else if ((*p == '}' || *p == ']') && --depth == 0)
			return p + 1;
		p++;
	}
	return NULL;
}

int kube_list_scan(const char *body, size_t len, kube_list_item_fn fn, void *payload,
		   char **continue_out, char **rv_out, struct gs_error *err)
{
	const char *p = body, *end = body + len;
	int rc;

	*continue_out = NULL;
	*rv_out = NULL;
	p = skip_ws(p, end);
	if (p >= end || *p != '{')
		return gs_error_set(err, GS_ERR, "invalid JSON (not an object)");
	for (p++;;) {
		const char *k, *kend, *v, *vend;

		p = skip_ws(p, end);
		if (p < end && *p == '}')
			return GS_OK;
		if (p >= end || *p != '"' || !(kend = skip_string(p, end)))
			break;
		k = p + 1;
		p = skip_ws(kend, end);
		if (p >= end || *p != ':')
			break;
		v = skip_ws(p + 1, end);
		if (!(vend = skip_value(v, end)))
			break;
		if (kend - k - 1 == 5 && !memcmp(k, "items", 5) && *v == '[') {
			const char *q = skip_ws(v + 1, vend);

			while (q < vend && *q != ']') {
				const char *qe = skip_value(q, vend);

				if (!qe || qe == q)
					return gs_error_set(err, GS_ERR, "invalid JSON in items");
				if ((rc = fn(q, (size_t)(qe - q), payload)) != 0)
					return rc;
				q = skip_ws(qe, vend);
				if (q < vend && *q == ',')
					q = skip_ws(q + 1, vend);
			}
		} else if (kend - k - 1 == 8 && !memcmp(k, "metadata", 8) && *v == '{') {
			cJSON *m = cJSON_ParseWithLength(v, (size_t)(vend - v));
			const char *c = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(m, "continue"));
			const char *rv = cJSON_GetStringValue(
				cJSON_GetObjectItemCaseSensitive(m, "resourceVersion"));

			free(*continue_out);
			free(*rv_out);
			*continue_out = c && c[0] ? gs_strdup(c) : NULL;
			*rv_out = rv ? gs_strdup(rv) : NULL;
			cJSON_Delete(m);
		}
		p = skip_ws(vend, end);
		if (p < end && *p == ',')
			p++;
	}
	return gs_error_set(err, GS_ERR, "invalid JSON");
}
