/* kz-origin.c - buildMetadata's originAnnotations and transformerAnnotations,
 * as kustomize v5 writes them (api/resource/origin.go, resmap's
 * AddOriginAnnotation / AddTransformerAnnotation).
 *
 * Kustomize keeps the origin in an annotation during the whole build; we keep
 * it next to the object in struct kz_res and write the annotations once at
 * the end, so patches and selectors never see them and a build without
 * buildMetadata pays nothing. */
#include <stdlib.h>
#include <string.h>

#include "gs-alloc.h"
#include "gs-buf.h"
#include "kz-private.h"
#include "mf-object.h"
#include "mf-yaml.h"

#define ORIGIN_KEY "config.kubernetes.io/origin"
#define TRANSFORMATIONS_KEY "alpha.config.kubernetes.io/transformations"

/* Go's path.Clean: "." and "x/.." dropped, leading ".." of a relative path
 * kept, "" becomes ".". */
static char *path_clean(const char *in)
{
	size_t len = strlen(in), n = 0, i = 0, k, o = 0;
	struct seg { const char *s; size_t len; } *segs = gs_malloc((len / 2 + 2) * sizeof(*segs));
	bool rooted = in[0] == '/';
	char *out = gs_malloc(len + 2);

	while (i <= len) {
		size_t j = i;

		while (j < len && in[j] != '/')
			j++;
		if (j - i == 2 && in[i] == '.' && in[i + 1] == '.') {
			if (n && !(segs[n - 1].len == 2 && !memcmp(segs[n - 1].s, "..", 2)))
				n--;
			else if (!rooted)
				segs[n++] = (struct seg){ in + i, 2 };
		} else if (j > i && !(j - i == 1 && in[i] == '.')) {
			segs[n++] = (struct seg){ in + i, j - i };
		}
		i = j + 1;
	}
	if (rooted)
		out[o++] = '/';
	for (k = 0; k < n; k++) {
		if (k)
			out[o++] = '/';
		memcpy(out + o, segs[k].s, segs[k].len);
		o += segs[k].len;
	}
	if (!o)
		out[o++] = '.';
	out[o] = '\0';
	free(segs);
	return out;
}

char *kz_origin_join(const char *a, const char *b)
{
	char *joined, *clean;

	if (!a || !*a)
		return b && *b ? path_clean(b) : gs_strdup("");
	if (!b || !*b)
		return path_clean(a);
	joined = gs_asprintf("%s/%s", a, b);
	clean = path_clean(joined);
	free(joined);
	return clean;
}

static void set_if(struct mf_node *map, const char *key, const char *val)
{
	if (val && *val)
		mf_node_set_str_value(map, key, val);
}

struct mf_node *kz_origin_new(const char *path, const char *configured_in,
			      const char *api_version, const char *kind, const char *name,
			      const char *ns)
{
	struct mf_node *o = mf_node_new(MF_MAP), *by;

	/* field order of resource.Origin: path, repo, ref, configuredIn, configuredBy */
	set_if(o, "path", path);
	set_if(o, "configuredIn", configured_in);
	by = mf_node_new(MF_MAP);
	set_if(by, "apiVersion", api_version);
	set_if(by, "kind", kind);
	set_if(by, "name", name);
	set_if(by, "namespace", ns);
	if (mf_node_len(by))
		mf_node_set(o, "configuredBy", by);
	else
		mf_node_free(by);
	return o;
}

struct mf_node *kz_origin_builtin(const struct kz_ctx *ctx, const char *kfile, const char *kind)
{
	char *in = kz_origin_join(ctx->origin_path, kfile);
	struct mf_node *o = kz_origin_new(NULL, in, "builtin", kind, NULL, NULL);

	free(in);
	return o;
}

void kz_res_set_origin_default(struct kz_res *r, const struct mf_node *origin)
{
	if (origin && !r->origin)
		r->origin = mf_node_clone(origin);
}

void kz_resmap_note_transformer(struct kz_resmap *m, const struct mf_node *origin, size_t times)
{
	size_t i, t;

	if (!origin)
		return;
	for (i = 0; i < m->n; i++) {
		struct kz_res *r = m->v[i];

		for (t = 0; t < times; t++) {
			if (!r->origin) {
				/* kustomize: no origin means the transformer made it */
				r->origin = mf_node_clone(origin);
				continue;
			}
			if (!r->transforms)
				r->transforms = mf_node_new(MF_SEQ);
			mf_node_append(r->transforms, mf_node_clone(origin));
		}
	}
}

/* kyaml.Marshal of an origin or a list of them: block style, 2 spaces,
 * sequences not indented, which is the layout our emitter writes. */
static char *to_yaml(const struct mf_node *n)
{
	struct gs_buf b = GS_BUF_INIT;

	if (mf_yaml_emit(&b, n, 0) < 0) {
		gs_buf_release(&b);
		return NULL;
	}
	return gs_buf_detach(&b, NULL);
}

void kz_origin_annotate(struct kz_resmap *m, bool origins, bool transforms)
{
	size_t i;

	for (i = 0; i < m->n; i++) {
		struct kz_res *r = m->v[i];
		char *text;

		if (origins && r->origin && (text = to_yaml(r->origin)) != NULL) {
			mf_obj_set_annotation(r->obj, ORIGIN_KEY, text);
			free(text);
		}
		if (transforms && mf_node_len(r->transforms) &&
		    (text = to_yaml(r->transforms)) != NULL) {
			mf_obj_set_annotation(r->obj, TRANSFORMATIONS_KEY, text);
			free(text);
		}
	}
}
