/* kz-private.h - internals shared by the kustomize-lite modules. */
#ifndef KZ_PRIVATE_H
#define KZ_PRIVATE_H

#include <stdbool.h>
#include <time.h>
#include <stddef.h>

#include "gs-buf.h"
#include "gs-error.h"
#include "gs-hash.h"
#include "kz-build.h"
#include "kz-fs.h"
#include "mf-node.h"
#include "mf-patch.h"

/* ---- resources and the resource map (kz-resmap.c) ---- */

enum kz_res_flags {
	KZ_RES_GENERATED = 1 << 0, /* made by a generator */
	KZ_RES_HASH = 1 << 1,      /* gets the content-hash suffix at the end */
};

/* One object plus the history kustomize keeps for name references: every
 * (name, namespace) it had before the current one, oldest first. */
struct kz_res {
	struct mf_node *obj;
	char **prev_name, **prev_ns;
	size_t nprev, aprev;
	unsigned flags;
	/* buildMetadata bookkeeping (only when the top kustomization asks for
	 * it): where the object came from, and which transformers ran over it
	 * (both kustomize resource.Origin maps; NULL = none) */
	struct mf_node *origin;
	struct mf_node *transforms; /* SEQ of origins */
};

struct kz_resmap {
	struct kz_res **v;
	size_t n, alloc;
	/* Id index, live only while resources accumulate (kz_resmap_index_begin
	 * .. _end): ids do not change then, so duplicate checks stay O(1).
	 * Transformers rename in place, so outside that window there is none. */
	struct gs_hidx *idx; /* gs-hash.h */
};

struct kz_res *kz_res_new(struct mf_node *obj); /* takes obj */
/* A deep copy (object, name history, flags, origins). */
struct kz_res *kz_res_clone(const struct kz_res *r);
/* Append deep copies of src's resources to dst (GS_ECONFLICT on an id
 * already in dst, as kz_resmap_add). */
int kz_resmap_add_copies(struct kz_resmap *dst, const struct kz_resmap *src,
			 struct gs_error *err);
void kz_res_free(struct kz_res *r);
/* Remember the current id as a previous one (kustomize StorePreviousId). */
void kz_res_store_id(struct kz_res *r);
/* Change name / namespace, remembering the old id. */
void kz_res_set_name(struct kz_res *r, const char *name);
void kz_res_set_ns(struct kz_res *r, const char *ns);
/* Original name/namespace (before any transformer). Borrowed. */
const char *kz_res_orig_name(const struct kz_res *r);
const char *kz_res_orig_ns(const struct kz_res *r);
/* Did the object ever have this name (any namespace)? */
bool kz_res_had_name(const struct kz_res *r, const char *name);
/* Group of obj's apiVersion copied into buf ("" for core); returns buf. */
const char *kz_obj_group(const struct mf_node *obj, char *buf, size_t size);
bool kz_res_cluster_scoped(const struct kz_res *r);

void kz_resmap_release(struct kz_resmap *m);
/* Add r (taken).  GS_ECONFLICT if an object with the same current id is there. */
int kz_resmap_add(struct kz_resmap *m, struct kz_res *r, struct gs_error *err);
/* Move all of src into dst (src emptied).  Conflicts as above. */
int kz_resmap_absorb(struct kz_resmap *dst, struct kz_resmap *src, struct gs_error *err);
/* Index ids for the duplicate check of kz_resmap_add until _end (which
 * kz_resmap_release also does).  Only while no id in m changes. */
void kz_resmap_index_begin(struct kz_resmap *m);
void kz_resmap_index_end(struct kz_resmap *m);
/* "Kind.version.[group]/name.[ns]"-style id like kustomize's messages; owned. */
char *kz_res_id_str(const struct kz_res *r);

/* ---- field specs (kz-fieldspec.c) ---- */

struct kz_fieldspec {
	char *group, *version, *kind; /* NULL = any */
	char *path;                   /* "spec/template/metadata/labels", "\/" escapes '/' */
	bool create;
};

struct kz_fslist {
	struct kz_fieldspec *v;
	size_t n, alloc;
};

void kz_fslist_add(struct kz_fslist *l, const char *group, const char *version, const char *kind,
		   const char *path, bool create);
void kz_fslist_release(struct kz_fslist *l);
/* Add entries from a YAML sequence of {group, version, kind, path, create}. */
int kz_fslist_add_node(struct kz_fslist *l, const struct mf_node *seq, struct gs_error *err);
bool kz_fieldspec_matches(const struct kz_fieldspec *fs, const struct mf_node *obj);

/* Visit the node at fs->path in obj: cb(parent, key_or_NULL, index, node, payload).
 * Sequences met along the way are traversed element by element.  With
 * create, missing maps are created and the final node created with type
 * final_type (MF_MAP, MF_STR, ...; MF_NULL = do not create the last one).
 * cb returns < 0 to stop with an error. */
typedef int (*kz_field_cb)(struct mf_node *parent, const char *key, struct mf_node *node,
			   void *payload, struct gs_error *err);
int kz_fieldspec_apply(const struct kz_fieldspec *fs, struct mf_node *obj, enum mf_type final_type,
		       kz_field_cb cb, void *payload, struct gs_error *err);

/* ---- transformer configuration (kz-config.c) ---- */

struct kz_nameref {
	char *group, *version, *kind; /* the referenced kind */
	struct kz_fslist referrers;
};

struct kz_config {
	struct kz_fslist prefix, suffix, ns, common_labels, template_labels, annotations, images,
		replicas, var_refs;
	struct kz_nameref *nameref;
	size_t n_nameref, a_nameref;
	struct mf_smp_schema *schema; /* openapi / crds merge keys; NULL = built-in */
	char **cluster_kinds; /* extra cluster-scoped kinds from openapi */
	size_t n_cluster_kinds, a_cluster_kinds;
};

void kz_config_init_defaults(struct kz_config *c);
void kz_config_release(struct kz_config *c);
/* Merge a `configurations:` file (namePrefix, commonLabels, nameReference, ...). */
int kz_config_merge_node(struct kz_config *c, const struct mf_node *doc, struct gs_error *err);
void kz_config_add_nameref(struct kz_config *c, const char *group, const char *version,
			   const char *kind, const char *ref_group, const char *ref_version,
			   const char *ref_kind, const char *path);

/* ---- the build context (kz-build.c) ---- */

struct kz_var {
	char *name, *kind, *api_version, *obj_name, *obj_ns, *fieldpath;
};

struct kz_ctx {
	const struct kz_fs *fs;
	struct kz_output *out; /* owns interned file names */
	struct kz_config cfg;
	char **stack;          /* kustomization dirs being built: cycle detection */
	size_t depth, astack;
	struct kz_var *vars;
	size_t nvars, avars;
	unsigned n_builds;     /* limit on total kustomizations (diamonds can explode) */
	/* buildMetadata: origins are tracked when the top kustomization lists
	 * any option (kustomize then tracks them at every level) */
	bool origins;
	char *origin_path; /* current kustomization dir relative to the top, "" at the top */
	const char *kust_file; /* base name of the kustomization file being built */
	const char **intern;   /* hash table of ctx->out->files entries (kz_intern) */
	struct kz_budget budget; /* defaults filled in */
	struct kz_cost cost;
	struct timespec t0;
	bool budget_hit;         /* the error being returned is a budget's */
	size_t nintern, cintern;
	/* Memoized bases (kz-build.c build_base): a directory included as a
	 * resource again is built once more, then copied, so a "diamond" of
	 * bases costs its output, not 4^layers builds.  Keyed by the directory,
	 * the origin path and the epoch. */
	struct gs_strmap memo_idx;
	struct kz_memo *memo;
	size_t nmemo, amemo;
	size_t memo_nodes;  /* nodes held by the copies (capped: budget.max_nodes) */
	unsigned epoch;     /* bumped by what changes later builds' result:
			     * configurations, openapi/crds, vars */
	size_t deepest;     /* deepest ctx->depth reached (a base's height) */
	/* remote resources (kz-remote.c): the caller's loader, the fetches of
	 * this render (repository and ref -> directory), how deep remote bases
	 * nest now, and the name files of the current fs are shown under
	 * (NULL: the fs root; a remote's URL@ref, never its cache path) */
	struct kz_hooks hooks;
	struct kz_remote_dir { char *key, *dir; } *remote;
	size_t nremote, aremote;
	unsigned remote_depth;
	const char *display_root;
};

/* Charge nodes (read from or built in file, root-relative) to the render
 * budget and check its time: GS_ELIMIT naming the limit and the file. */
/* Seconds since the render started. */
double kz_budget_elapsed(const struct kz_ctx *ctx);
/* Build the kustomization in dir of ctx->fs into ra (kz-build.c). */
int kz_build_dir(struct kz_ctx *ctx, const char *dir, struct kz_resmap *ra, struct gs_error *err);
/* Load the remote resource entry_str (a `resources:` entry, node entry)
 * through ctx->hooks.remote into ra; errors name the entry (kz-remote.c). */
int kz_remote_accumulate(struct kz_ctx *ctx, const char *entry_str, const struct mf_node *entry,
			 struct kz_resmap *ra, struct gs_error *err);
void kz_remote_release(struct kz_ctx *ctx);

int kz_budget_charge(struct kz_ctx *ctx, size_t nodes, bool read, const char *file,
		     struct gs_error *err);

/* Intern a file name for mf_pos (owned by ctx->out). */
const char *kz_intern(struct kz_ctx *ctx, const char *path);
/* Read and parse a YAML file (root-relative) into docs. */
int kz_load_yaml(struct kz_ctx *ctx, struct mf_docs *docs, const char *path, struct gs_error *err);
/* Parse in-memory YAML text found in file (e.g. an inline patch). */
int kz_parse_yaml(struct kz_ctx *ctx, struct mf_docs *docs, const char *text, size_t len,
		  const char *file, struct gs_error *err);
/* Turn the docs of one manifest file into resources (List expanded,
 * validation of kind/name). */
int kz_docs_to_resmap(struct kz_resmap *m, struct mf_docs *docs, const char *file, bool strict,
		      struct gs_error *err);

/* ---- kustomization file (kz-kustomization.c) ---- */

/* Validate a kustomization document like kustomize's strict JSON decode:
 * unknown fields and wrongly typed values are errors. */
int kz_kustomization_validate(const struct mf_node *k, const char *file, struct gs_error *err);
/* Names kustomize accepts for the file in a directory. */
extern const char *const kz_kustomization_names[3];

/* ---- generators (kz-generator.c) ---- */

/* Run configMapGenerator and secretGenerator of kustomization k (in dir)
 * against m. */
int kz_generate(struct kz_ctx *ctx, struct kz_resmap *m, const struct mf_node *k, const char *dir,
		struct gs_error *err);

/* ---- helmCharts (kz-helm.c) ---- */

/* Inflate the helmCharts of kustomization k (file kfile, in dir) through
 * ctx->hooks.helm into m, after the built-in generators as kustomize does.
 * Without a hook, any helmCharts entry is GS_EINVAL saying to enable helm. */
int kz_helm_generate(struct kz_ctx *ctx, struct kz_resmap *m, const struct mf_node *k,
		     const char *dir, const char *kfile, struct gs_error *err);

/* ---- transformers (kz-transform.c) ---- */

int kz_transform_namespace(struct kz_ctx *ctx, struct kz_resmap *m, const char *ns,
			   struct gs_error *err);
int kz_transform_prefix_suffix(struct kz_ctx *ctx, struct kz_resmap *m, const char *prefix,
			       const char *suffix, const struct kz_fslist *specs,
			       struct gs_error *err);
/* labels: map of pairs; selectors/templates choose the field spec sets. */
int kz_transform_labels(struct kz_ctx *ctx, struct kz_resmap *m, const struct mf_node *pairs,
			bool selectors, bool templates, const struct kz_fslist *extra,
			struct gs_error *err);
int kz_transform_annotations(struct kz_ctx *ctx, struct kz_resmap *m, const struct mf_node *pairs,
			     const struct kz_fslist *specs, struct gs_error *err);
int kz_transform_images(struct kz_ctx *ctx, struct kz_resmap *m, const struct mf_node *images,
			struct gs_error *err);
int kz_transform_replicas(struct kz_ctx *ctx, struct kz_resmap *m, const struct mf_node *replicas,
			  const char *file, struct gs_error *err);

/* ---- patches (kz-patch.c) ---- */

int kz_patches_strategic(struct kz_ctx *ctx, struct kz_resmap *m, const struct mf_node *list,
			 const char *dir, struct gs_error *err);
int kz_patches(struct kz_ctx *ctx, struct kz_resmap *m, const struct mf_node *list,
	       const char *dir, bool json6902_only, struct gs_error *err);
/* Does r match a kustomize selector map {group, version, kind, name, namespace,
 * labelSelector, annotationSelector}? */
int kz_selector_match(bool *out, const struct mf_node *sel, const struct kz_res *r,
		      struct gs_error *err);

/* ---- name references (kz-nameref.c) ---- */

int kz_nameref_fix(struct kz_ctx *ctx, struct kz_resmap *m, struct gs_error *err);

/* ---- replacements and vars (kz-replace.c) ---- */

int kz_replacements(struct kz_ctx *ctx, struct kz_resmap *m, const struct mf_node *list,
		    const char *dir, struct gs_error *err);
int kz_vars_resolve(struct kz_ctx *ctx, struct kz_resmap *m, struct gs_error *err);
/* Read a field by kustomize field path ("spec.template.spec.containers.[name=x].image"). */
struct mf_node *kz_field_path_get(struct mf_node *obj, const char *path);

/* ---- output order and normalisation (kz-order.c, kz-normalize.c) ---- */

int kz_sort(struct kz_resmap *m, const struct mf_node *sort_options, struct gs_error *err);
/* Kustomize's JSON round trip: numbers re-typed, etc. */
int kz_normalize(struct mf_node *obj, struct gs_error *err);

/* ---- misc helpers shared across files ---- */
int kz_join_restricted(struct kz_ctx *ctx, char **out, const char *dir,
		       const struct mf_node *entry, struct gs_error *err);
int kz_load_openapi(struct kz_ctx *ctx, const char *dir, const struct mf_node *openapi,
		    const struct mf_node *crds, struct gs_error *err);
int kz_build_metadata(struct kz_ctx *ctx, struct kz_resmap *m, const struct mf_node *opts,
		      struct gs_error *err);

/* ---- origins for buildMetadata (kz-origin.c) ---- */

/* Go's path.Join(a, b): joined and cleaned, "" parts skipped; owned. */
char *kz_origin_join(const char *a, const char *b);
/* A resource.Origin map; NULL/"" fields are left out (omitempty).  Owned. */
struct mf_node *kz_origin_new(const char *path, const char *configured_in,
			      const char *api_version, const char *kind, const char *name,
			      const char *ns);
/* The origin of a builtin generator/transformer configured in the current
 * kustomization file (kfile, a base name).  Owned. */
struct mf_node *kz_origin_builtin(const struct kz_ctx *ctx, const char *kfile, const char *kind);
/* The origin of a plugin config read from file (root-relative entry as
 * written; NULL when inline in the kustomization).  Owned. */
struct mf_node *kz_origin_plugin(const struct kz_ctx *ctx, const struct mf_node *cfg,
				 const char *file);
/* Give r a copy of origin unless it has one (kustomize AddOriginAnnotation). */
void kz_res_set_origin_default(struct kz_res *r, const struct mf_node *origin);
/* kustomize AddTransformerAnnotation, `times` times: every resource of m
 * without an origin gets this one, the others record it as a transformation. */
void kz_resmap_note_transformer(struct kz_resmap *m, const struct mf_node *origin, size_t times);
/* Write the annotations kustomize writes (config.kubernetes.io/origin,
 * alpha.config.kubernetes.io/transformations), as asked. */
void kz_origin_annotate(struct kz_resmap *m, bool origins, bool transforms);
int kz_run_generator_files(struct kz_ctx *ctx, struct kz_resmap *ra, const char *dir,
			   const struct mf_node *list, struct gs_error *err);
int kz_hash_names(struct kz_resmap *m, struct gs_error *err);

/* ---- hashing (kz-hash.c) ---- */
/* Go json.Marshal of a string (HTML-escaped like encoding/json). */
void kz_json_quote(struct gs_buf *b, const char *s, size_t len);

#endif
