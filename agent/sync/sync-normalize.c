/* sync-normalize.c - what "equal" means between a desired and a live object.
 *
 * The server defaults fields, canonicalizes quantities and adds its own
 * metadata; none of that is drift.  These helpers let the engine decide
 * "in sync" locally when it safely can, and strip noise before a diff.
 */
#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "gs-alloc.h"
#include "mf-object.h"
#include "sync/sync-jq.h"
#include "sync/sync.h"

/* Annotations the server or its controllers write on their own. */
static const char *const server_annotations[] = {
	"kubectl.kubernetes.io/last-applied-configuration",
	"deployment.kubernetes.io/revision",
	"deprecated.daemonset.template.generation",
	"control-plane.alpha.kubernetes.io/leader",
	"pv.kubernetes.io/bind-completed",
	"pv.kubernetes.io/bound-by-controller",
	"volume.beta.kubernetes.io/storage-provisioner",
	"volume.kubernetes.io/storage-provisioner",
	"volume.kubernetes.io/selected-node",
};

struct mf_node *sync_normalize(const struct mf_node *obj)
{
	static const char *const meta_noise[] = {
		"managedFields", "resourceVersion", "generation", "uid", "creationTimestamp",
		"selfLink", "deletionGracePeriodSeconds",
	};
	struct mf_node *n = mf_node_clone(obj), *meta, *ann;
	size_t i;

	if (!n)
		return NULL;
	mf_node_remove(n, "status");
	meta = mf_node_get(n, "metadata");
	for (i = 0; i < sizeof(meta_noise) / sizeof(meta_noise[0]); i++)
		mf_node_remove(meta, meta_noise[i]);
	ann = mf_node_get(meta, "annotations");
	for (i = 0; i < sizeof(server_annotations) / sizeof(server_annotations[0]); i++)
		mf_node_remove(ann, server_annotations[i]);
	if (ann && mf_node_type(ann) == MF_MAP && mf_node_len(ann) == 0)
		mf_node_remove(meta, "annotations");
	return n;
}

/* Parse a Kubernetes quantity ("500m", "1Gi", "1e3", "0.5") into a double. */
static bool parse_quantity(const char *s, double *out)
{
	static const struct { const char *suf; double mul; } sufs[] = {
		{ "Ki", 1024.0 }, { "Mi", 1048576.0 }, { "Gi", 1073741824.0 },
		{ "Ti", 1099511627776.0 }, { "Pi", 1125899906842624.0 },
		{ "Ei", 1152921504606846976.0 }, { "n", 1e-9 }, { "u", 1e-6 }, { "m", 1e-3 },
		{ "k", 1e3 }, { "M", 1e6 }, { "G", 1e9 }, { "T", 1e12 }, { "P", 1e15 },
		{ "E", 1e18 }, { "", 1.0 },
	};
	char *end = NULL;
	double v;
	size_t i;

	if (!s || !(isdigit((unsigned char)s[0]) || s[0] == '.' || s[0] == '-' || s[0] == '+'))
		return false;
	v = strtod(s, &end);
	if (end == s)
		return false;
	for (i = 0; i < sizeof(sufs) / sizeof(sufs[0]); i++)
		if (!strcmp(end, sufs[i].suf)) {
			*out = v * sufs[i].mul;
			return true;
		}
	return false;
}

static bool is_number(const struct mf_node *n)
{
	return mf_node_type(n) == MF_INT || mf_node_type(n) == MF_FLOAT;
}

static bool scalar_equal(const struct mf_node *d, const struct mf_node *l)
{
	const char *a = mf_node_str(d), *b = mf_node_str(l);
	double x, y;

	if (mf_node_type(d) == MF_NULL || mf_node_type(l) == MF_NULL)
		return mf_node_type(d) == mf_node_type(l);
	if (mf_node_type(d) == MF_BOOL || mf_node_type(l) == MF_BOOL)
		return mf_node_type(d) == mf_node_type(l) && mf_node_bool(d) == mf_node_bool(l);
	if (!a || !b)
		return false;
	if (!strcmp(a, b))
		return true;
	if (is_number(d) && is_number(l))
		return strtod(a, NULL) == strtod(b, NULL);
	/* quantities: the server stores "0.5" as "500m" and "1024Mi" as "1Gi" */
	if (parse_quantity(a, &x) && parse_quantity(b, &y))
		return fabs(x - y) <= 1e-9 * fmax(fabs(x), fabs(y));
	return false;
}

/* Go's omitempty: the server drops false, 0, "" and empty lists/maps of
 * most fields, so a desired zero value matches an absent live field.  (A
 * pointer field set to false by hand-removal would go unseen locally; the
 * owned-fields check and the next dry-run still catch real edits.) */
static bool is_empty_container(const struct mf_node *n)
{
	const char *t = mf_node_str(n);

	switch (mf_node_type(n)) {
	case MF_MAP:
	case MF_SEQ:
		return mf_node_len(n) == 0;
	case MF_BOOL:
		return !mf_node_bool(n);
	case MF_INT:
		return t && !strcmp(t, "0");
	case MF_STR:
		return t && !t[0];
	default:
		return false;
	}
}

static bool subset(const struct mf_node *d, const struct mf_node *l, int depth)
{
	size_t i;

	switch (mf_node_type(d)) {
	case MF_MAP:
		if (mf_node_type(l) != MF_MAP)
			return false;
		for (i = 0; i < mf_node_len(d); i++) {
			const char *k = mf_node_key(d, i);
			const struct mf_node *dv = mf_node_at(d, i), *lv;

			/* null asks for nothing; status is the server's */
			if (mf_node_type(dv) == MF_NULL || (depth == 0 && !strcmp(k, "status")))
				continue;
			lv = mf_node_get(l, k);
			if (!lv) {
				if (is_empty_container(dv))
					continue;
				return false;
			}
			if (!subset(dv, lv, depth + 1))
				return false;
		}
		return true;
	case MF_SEQ:
		if (mf_node_type(l) != MF_SEQ || mf_node_len(l) != mf_node_len(d))
			return false;
		for (i = 0; i < mf_node_len(d); i++)
			if (!subset(mf_node_at(d, i), mf_node_at(l, i), depth + 1))
				return false;
		return true;
	default:
		return scalar_equal(d, l);
	}
}

bool sync_subset_equal(const struct mf_node *desired, const struct mf_node *live)
{
	return subset(desired, live, 0);
}

/* Text of a cJSON scalar the way a mf_node would show it. */
static bool json_scalar_matches(const cJSON *j, const struct mf_node *n)
{
	const char *t = mf_node_str(n);
	char buf[64];

	if (!t)
		return false;
	if (cJSON_IsString(j))
		return !strcmp(j->valuestring, t);
	if (cJSON_IsNumber(j)) {
		snprintf(buf, sizeof(buf), "%.17g", j->valuedouble);
		return is_number(n) ? strtod(t, NULL) == j->valuedouble : !strcmp(buf, t);
	}
	if (cJSON_IsBool(j))
		return mf_node_type(n) == MF_BOOL && mf_node_bool(n) == cJSON_IsTrue(j);
	return false;
}

/* Find the list item a "k:{...}" / "v:..." fieldsV1 key designates. */
static struct mf_node *find_item(const struct mf_node *seq, const char *key)
{
	cJSON *j = cJSON_Parse(key + 2);
	struct mf_node *found = NULL;
	size_t i;

	if (!j || mf_node_type(seq) != MF_SEQ) {
		cJSON_Delete(j);
		return NULL;
	}
	for (i = 0; i < mf_node_len(seq) && !found; i++) {
		struct mf_node *item = mf_node_at(seq, i);

		if (key[0] == 'k') {
			const cJSON *f;
			bool all = cJSON_IsObject(j);

			cJSON_ArrayForEach(f, j) {
				if (!json_scalar_matches(f, mf_node_get(item, f->string))) {
					all = false;
					break;
				}
			}
			if (all)
				found = item;
		} else if (json_scalar_matches(j, item)) {
			found = item;
		}
	}
	cJSON_Delete(j);
	return found;
}

static bool owned_in(const struct mf_node *fields, const struct mf_node *d)
{
	size_t i;

	for (i = 0; i < mf_node_len(fields); i++) {
		const char *k = mf_node_key(fields, i);
		const struct mf_node *sub = mf_node_at(fields, i);
		const struct mf_node *child = NULL;

		if (!strcmp(k, "."))
			continue;
		if (!strncmp(k, "f:", 2)) {
			if (mf_node_type(d) != MF_MAP || mf_node_index(d, k + 2) < 0)
				return false;
			child = mf_node_get(d, k + 2);
		} else if (!strncmp(k, "k:", 2) || !strncmp(k, "v:", 2)) {
			child = find_item(d, k);
			if (!child)
				return false;
		} else if (!strncmp(k, "i:", 2)) {
			long idx = strtol(k + 2, NULL, 10);

			if (idx < 0 || (size_t)idx >= mf_node_len(d))
				return false;
			child = mf_node_at(d, (size_t)idx);
		} else {
			return false;
		}
		if (mf_node_len(sub) && !owned_in(sub, child))
			return false;
	}
	return true;
}

static const struct mf_node *manager_entry(const struct mf_node *live, const char *manager,
					   const char *operation)
{
	const struct mf_node *mf = mf_node_dig(live, "metadata", "managedFields", NULL);
	size_t i;

	for (i = 0; i < mf_node_len(mf); i++) {
		const struct mf_node *e = mf_node_at(mf, i);
		const char *m = mf_node_dig_str(e, "manager", NULL);
		const char *op = mf_node_dig_str(e, "operation", NULL);

		if (m && !strcmp(m, manager) && (!operation || (op && !strcmp(op, operation))))
			return e;
	}
	return NULL;
}

bool sync_owned_fields_desired(const struct mf_node *live, const struct mf_node *desired,
			       const char *manager)
{
	const struct mf_node *e = manager_entry(live, manager, "Apply");

	/* the aggregator's kinds (APIService) have no field manager on v1.20:
	 * with no ownership recorded, the subset check is all there is */
	if (!mf_node_dig(live, "metadata", "managedFields", NULL))
		return true;

	/* kinds the server cannot server-side apply (APIService on v1.20) are
	 * written with update: our Update entry stands for the Apply one */
	if (!e)
		e = manager_entry(live, manager, "Update");
	if (!e)
		return false;
	return owned_in(mf_node_get(e, "fieldsV1"), desired);
}

static void default_ports(struct mf_node *ports)
{
	size_t i;

	for (i = 0; i < mf_node_len(ports); i++) {
		struct mf_node *p = mf_node_at(ports, i);

		if (mf_node_type(p) == MF_MAP && !mf_node_get(p, "protocol"))
			mf_node_set_str_value(p, "protocol", "TCP");
	}
}

/* Walk a pod spec-bearing tree and default container ports. */
static void default_containers(struct mf_node *n, int depth)
{
	size_t i, j;

	if (depth > 12)
		return;
	if (mf_node_type(n) == MF_MAP) {
		for (i = 0; i < mf_node_len(n); i++) {
			const char *k = mf_node_key(n, i);
			struct mf_node *v = mf_node_at(n, i);

			if (!strcmp(k, "containers") || !strcmp(k, "initContainers") ||
			    !strcmp(k, "ephemeralContainers")) {
				for (j = 0; j < mf_node_len(v); j++)
					default_ports(mf_node_get(mf_node_at(v, j), "ports"));
			} else if (!strcmp(k, "spec") || !strcmp(k, "template") ||
				   !strcmp(k, "jobTemplate")) {
				default_containers(v, depth + 1);
			}
		}
	}
}

void sync_default_protocols(struct mf_node *obj)
{
	char *group = NULL, *version = NULL;
	const char *kind = mf_obj_kind(obj);

	if (!kind)
		return;
	mf_split_api_version(mf_obj_api_version(obj), &group, &version);
	if (!group[0] && !strcmp(kind, "Service"))
		default_ports(mf_node_dig(obj, "spec", "ports", NULL));
	else if (!group[0] || !strcmp(group, "apps") || !strcmp(group, "batch") ||
		 !strcmp(group, "extensions"))
		default_containers(obj, 0);
	free(group);
	free(version);
}

/* JSON pointer removal ("/spec/replicas", "~1" = '/', "~0" = '~'). */
static void remove_pointer(struct mf_node *obj, const char *ptr)
{
	struct mf_node *cur = obj;
	char *copy = gs_strdup(ptr), *tok, *save = NULL, *next;

	if (ptr[0] != '/')
		goto cleanup;
	tok = strtok_r(copy, "/", &save);
	while (tok && cur) {
		char *r, *w;

		for (r = w = tok; *r; r++, w++) {
			if (r[0] == '~' && r[1] == '1') {
				*w = '/';
				r++;
			} else if (r[0] == '~' && r[1] == '0') {
				*w = '~';
				r++;
			} else {
				*w = *r;
			}
		}
		*w = '\0';
		next = strtok_r(NULL, "/", &save);
		if (mf_node_type(cur) == MF_MAP) {
			if (!next) {
				mf_node_remove(cur, tok);
				break;
			}
			cur = mf_node_get(cur, tok);
		} else if (mf_node_type(cur) == MF_SEQ) {
			char *end;
			long i = strtol(tok, &end, 10);

			if (*end || i < 0 || (size_t)i >= mf_node_len(cur))
				break;
			if (!next) {
				mf_node_remove_at(cur, (size_t)i);
				break;
			}
			cur = mf_node_at(cur, (size_t)i);
		} else {
			break;
		}
		tok = next;
	}
cleanup:
	free(copy);
}

/* Remove from n the leaves that fields (a fieldsV1 tree) designates. */
static void remove_owned(struct mf_node *n, const struct mf_node *fields)
{
	size_t i;

	for (i = 0; i < mf_node_len(fields); i++) {
		const char *k = mf_node_key(fields, i);
		const struct mf_node *sub = mf_node_at(fields, i);
		bool leaf = mf_node_len(sub) == 0 ||
			    (mf_node_len(sub) == 1 && mf_node_get(sub, "."));

		if (!strncmp(k, "f:", 2) && mf_node_type(n) == MF_MAP) {
			if (leaf)
				mf_node_remove(n, k + 2);
			else if (mf_node_get(n, k + 2))
				remove_owned(mf_node_get(n, k + 2), sub);
		} else if (!strncmp(k, "k:", 2) || !strncmp(k, "v:", 2)) {
			struct mf_node *item = find_item(n, k);

			if (item && !leaf)
				remove_owned(item, sub);
		}
	}
}

/* Deepest and last first, list indexes compared as numbers, so that
 * removing one path does not move the items another one names (jq's
 * delpaths order). */
static int pointer_cmp_desc(const void *a, const void *b)
{
	const char *x = *(const char *const *)a, *y = *(const char *const *)b;

	while (*x && *y) {
		size_t lx = strcspn(x + 1, "/"), ly = strcspn(y + 1, "/");
		char *ex, *ey;
		unsigned long nx = strtoul(x + 1, &ex, 10), ny = strtoul(y + 1, &ey, 10);
		int c;

		if (lx && ly && ex == x + 1 + lx && ey == y + 1 + ly && nx != ny)
			return nx < ny ? 1 : -1;
		c = strncmp(x + 1, y + 1, lx < ly ? lx : ly);
		if (c)
			return -c;
		if (lx != ly)
			return lx < ly ? 1 : -1;
		x += 1 + lx;
		y += 1 + ly;
	}
	return *x ? -1 : *y ? 1 : 0;
}

/* The paths ig's jqPathExpressions select in obj, in removal order;
 * *ptrs_out owned (sync_jq_paths_free). */
static int jq_pointers(char ***ptrs_out, size_t *n_out, const struct mf_node *obj,
		       const struct sync_ignore *ig, struct gs_error *err)
{
	int rc = sync_jq_paths(ptrs_out, n_out, obj, ig->jq, ig->n_jq, err);

	if (!rc && *n_out > 1)
		qsort(*ptrs_out, *n_out, sizeof(**ptrs_out), pointer_cmp_desc);
	return rc;
}

int sync_apply_ignore(struct mf_node *obj, const struct sync_ignore *ig,
		      const struct mf_node *fields_from, struct gs_error *err)
{
	char **jq = NULL;
	size_t i, njq = 0;
	int rc;

	if (ig->n_jq && (rc = jq_pointers(&jq, &njq, obj, ig, err)))
		return rc;
	for (i = 0; i < njq; i++)
		remove_pointer(obj, jq[i]);
	sync_jq_paths_free(jq, njq);
	for (i = 0; i < ig->n_pointers; i++)
		remove_pointer(obj, ig->pointers[i]);
	for (i = 0; fields_from && i < ig->n_managers; i++) {
		const struct mf_node *e = manager_entry(fields_from, ig->managers[i], NULL);

		if (e)
			remove_owned(obj, mf_node_get(e, "fieldsV1"));
	}
	return GS_OK;
}

/* The decoded tokens of a JSON pointer ("~1" = '/', "~0" = '~'); NULL when
 * it does not start with '/'.  Owned: free each token and the array. */
static char **pointer_tokens(const char *ptr, size_t *n_out)
{
	char **v = NULL;
	size_t n = 0;
	const char *p = ptr;

	*n_out = 0;
	if (ptr[0] != '/')
		return NULL;
	while (*p == '/') {
		const char *end = strchr(p + 1, '/');
		size_t len = end ? (size_t)(end - p - 1) : strlen(p + 1);
		char *tok = gs_malloc(len + 1), *w = tok;
		size_t i;

		for (i = 0; i < len; i++) {
			if (p[1 + i] == '~' && i + 1 < len && (p[2 + i] == '1' || p[2 + i] == '0')) {
				*w++ = p[2 + i] == '1' ? '/' : '~';
				i++;
			} else {
				*w++ = p[1 + i];
			}
		}
		*w = '\0';
		v = gs_realloc(v, (n + 1) * sizeof(*v));
		v[n++] = tok;
		p += 1 + len;
	}
	*n_out = n;
	return v;
}

/* The child of n at token tok (map key or list index), or NULL. */
static struct mf_node *child_at(const struct mf_node *n, const char *tok, size_t *idx_out)
{
	char *end;
	long i;

	if (mf_node_type(n) == MF_MAP)
		return mf_node_get(n, tok);
	if (mf_node_type(n) != MF_SEQ)
		return NULL;
	i = strtol(tok, &end, 10);
	if (!tok[0] || *end || i < 0 || (size_t)i >= mf_node_len(n))
		return NULL;
	*idx_out = (size_t)i;
	return mf_node_at(n, (size_t)i);
}

/* desired at ptr takes live's value at ptr (removed when live has none).
 * Maps missing on the way in desired are created; list items are not. */
static void respect_pointer(struct mf_node *desired, const struct mf_node *live, const char *ptr)
{
	size_t n = 0, i, idx = 0;
	char **tok = pointer_tokens(ptr, &n);
	const struct mf_node *l = live;
	struct mf_node *d = desired;

	for (i = 0; i < n && l; i++)
		l = child_at(l, tok[i], &idx);
	if (!l) {
		remove_pointer(desired, ptr);
		goto cleanup;
	}
	for (i = 0; n && i + 1 < n && d; i++) {
		struct mf_node *next = child_at(d, tok[i], &idx);

		if (!next && mf_node_type(d) == MF_MAP)
			next = mf_node_ensure(d, tok[i], MF_MAP);
		d = next;
	}
	if (!n || !d)
		goto cleanup;
	if (mf_node_type(d) == MF_MAP)
		mf_node_set(d, tok[n - 1], mf_node_clone(l));
	else if (child_at(d, tok[n - 1], &idx))
		mf_node_replace_at(d, idx, mf_node_clone(l));
cleanup:
	for (i = 0; i < n; i++)
		free(tok[i]);
	free(tok);
}

/* desired takes live's values of the leaves that fields (a fieldsV1 tree
 * of live) designates.  List items desired lacks are left out. */
static void respect_owned(struct mf_node *d, const struct mf_node *l, const struct mf_node *fields)
{
	size_t i;

	for (i = 0; i < mf_node_len(fields); i++) {
		const char *k = mf_node_key(fields, i);
		const struct mf_node *sub = mf_node_at(fields, i);
		bool leaf = mf_node_len(sub) == 0 ||
			    (mf_node_len(sub) == 1 && mf_node_get(sub, "."));

		if (!strncmp(k, "f:", 2) && mf_node_type(d) == MF_MAP &&
		    mf_node_type(l) == MF_MAP) {
			const struct mf_node *lv = mf_node_get(l, k + 2);

			if (!lv)
				mf_node_remove(d, k + 2);
			else if (leaf)
				mf_node_set(d, k + 2, mf_node_clone(lv));
			else if (mf_node_get(d, k + 2) || mf_node_type(lv) == MF_MAP)
				respect_owned(mf_node_ensure(d, k + 2, mf_node_type(lv)), lv, sub);
			/* a list desired lacks: an empty one would drop our items */
		} else if (!strncmp(k, "k:", 2) || !strncmp(k, "v:", 2)) {
			struct mf_node *di = find_item(d, k);
			const struct mf_node *li = find_item(l, k);
			size_t j;

			if (!di || !li)
				continue;
			if (!leaf) {
				respect_owned(di, li, sub);
				continue;
			}
			for (j = 0; j < mf_node_len(d); j++)
				if (mf_node_at(d, j) == di)
					mf_node_replace_at(d, j, mf_node_clone(li));
		}
	}
}

int sync_respect_ignore(struct mf_node *desired, const struct sync_ignore *ig,
			const struct mf_node *live, struct gs_error *err)
{
	char **jq = NULL, **jq2 = NULL;
	size_t i, njq = 0, njq2 = 0;
	int rc = GS_OK;

	/* what the expressions select on either side: a field live has takes
	 * its value, one only desired has goes */
	if (ig->n_jq) {
		if ((rc = jq_pointers(&jq, &njq, live, ig, err)) ||
		    (rc = jq_pointers(&jq2, &njq2, desired, ig, err)))
			goto cleanup;
		jq = gs_realloc(jq, (njq + njq2 + 1) * sizeof(*jq));
		memcpy(jq + njq, jq2, njq2 * sizeof(*jq2));
		njq += njq2;
		free(jq2);
		jq2 = NULL;
		njq2 = 0;
		qsort(jq, njq, sizeof(*jq), pointer_cmp_desc);
	}
	for (i = 0; i < njq; i++)
		if (!i || strcmp(jq[i], jq[i - 1]))
			respect_pointer(desired, live, jq[i]);
	for (i = 0; i < ig->n_pointers; i++)
		respect_pointer(desired, live, ig->pointers[i]);
	for (i = 0; i < ig->n_managers; i++) {
		const struct mf_node *e = manager_entry(live, ig->managers[i], NULL);

		if (e)
			respect_owned(desired, live, mf_node_get(e, "fieldsV1"));
	}
cleanup:
	sync_jq_paths_free(jq, njq);
	sync_jq_paths_free(jq2, njq2);
	return rc;
}
