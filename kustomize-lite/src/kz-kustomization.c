/* kz-kustomization.c - strict validation of kustomization.yaml.
 *
 * kustomize decodes the file with sigs.k8s.io/yaml (YAML 1.1 -> JSON) into
 * Go structs with unknown fields disallowed, so `nameSuffix: -001` (a
 * number) and a mis-indented `kind:` under a patch are errors.  The schema
 * below mirrors types.Kustomization of kustomize v5; a null value is always
 * accepted, as Go leaves the field at its zero value. */
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "kz-private.h"

const char *const kz_kustomization_names[3] = { "kustomization.yaml", "kustomization.yml",
						"Kustomization" };

enum st { T_STR, T_BOOL, T_INT, T_STRMAP, T_BOOLMAP, T_ANY, T_LIST, T_OBJ };

struct field;
struct schema {
	enum st type;
	const char *go_name;       /* for messages */
	const struct field *fields; /* T_OBJ, NULL-terminated */
	const struct schema *item;  /* T_LIST */
};
struct field {
	const char *name;
	const struct schema *s;
};

static const struct schema s_str = { T_STR, "string", NULL, NULL };
static const struct schema s_bool = { T_BOOL, "bool", NULL, NULL };
static const struct schema s_int = { T_INT, "int", NULL, NULL };
static const struct schema s_strmap = { T_STRMAP, "map[string]string", NULL, NULL };
static const struct schema s_boolmap = { T_BOOLMAP, "map[string]bool", NULL, NULL };
static const struct schema s_any = { T_ANY, "interface {}", NULL, NULL };
static const struct schema s_strlist = { T_LIST, "[]string", NULL, &s_str };

static const struct field f_selector[] = {
	{ "group", &s_str }, { "version", &s_str }, { "kind", &s_str }, { "name", &s_str },
	{ "namespace", &s_str }, { "labelSelector", &s_str }, { "annotationSelector", &s_str },
	{ NULL, NULL },
};
static const struct schema s_selector = { T_OBJ, "Selector", f_selector, NULL };
static const struct schema s_selector_list = { T_LIST, "[]Selector", NULL, &s_selector };

static const struct field f_patch[] = {
	{ "path", &s_str }, { "patch", &s_str }, { "target", &s_selector },
	{ "options", &s_boolmap }, { NULL, NULL },
};
static const struct schema s_patch = { T_OBJ, "Patch", f_patch, NULL };
static const struct schema s_patch_list = { T_LIST, "[]Patch", NULL, &s_patch };

static const struct field f_fieldspec[] = {
	{ "group", &s_str }, { "version", &s_str }, { "kind", &s_str }, { "name", &s_str },
	{ "namespace", &s_str }, { "path", &s_str }, { "create", &s_bool }, { NULL, NULL },
};
static const struct schema s_fieldspec = { T_OBJ, "FieldSpec", f_fieldspec, NULL };
static const struct schema s_fieldspec_list = { T_LIST, "[]FieldSpec", NULL, &s_fieldspec };

static const struct field f_label[] = {
	{ "pairs", &s_strmap }, { "includeSelectors", &s_bool }, { "includeTemplates", &s_bool },
	{ "fields", &s_fieldspec_list }, { NULL, NULL },
};
static const struct schema s_label = { T_OBJ, "Label", f_label, NULL };

static const struct field f_image[] = {
	{ "name", &s_str }, { "newName", &s_str }, { "newTag", &s_str }, { "digest", &s_str },
	{ "tagSuffix", &s_str }, { NULL, NULL },
};
static const struct schema s_image = { T_OBJ, "Image", f_image, NULL };

static const struct field f_replica[] = { { "name", &s_str }, { "count", &s_int }, { NULL, NULL } };
static const struct schema s_replica = { T_OBJ, "Replica", f_replica, NULL };

static const struct field f_objref[] = {
	{ "kind", &s_str }, { "group", &s_str }, { "version", &s_str }, { "apiVersion", &s_str },
	{ "name", &s_str }, { "namespace", &s_str }, { NULL, NULL },
};
static const struct schema s_objref = { T_OBJ, "Target", f_objref, NULL };
static const struct field f_fieldref[] = { { "fieldPath", &s_str }, { NULL, NULL } };
static const struct schema s_fieldref = { T_OBJ, "FieldSelector", f_fieldref, NULL };
static const struct field f_var[] = {
	{ "name", &s_str }, { "objref", &s_objref }, { "fieldref", &s_fieldref }, { NULL, NULL },
};
static const struct schema s_var = { T_OBJ, "Var", f_var, NULL };

static const struct field f_fpopts[] = {
	{ "delimiter", &s_str }, { "index", &s_int }, { "encoding", &s_str }, { "create", &s_bool },
	{ NULL, NULL },
};
static const struct schema s_fpopts = { T_OBJ, "FieldOptions", f_fpopts, NULL };
static const struct field f_source[] = {
	{ "group", &s_str }, { "version", &s_str }, { "kind", &s_str }, { "name", &s_str },
	{ "namespace", &s_str }, { "fieldPath", &s_str }, { "options", &s_fpopts }, { NULL, NULL },
};
static const struct schema s_source = { T_OBJ, "SourceSelector", f_source, NULL };
static const struct field f_target[] = {
	{ "select", &s_selector }, { "reject", &s_selector_list }, { "fieldPaths", &s_strlist },
	{ "options", &s_fpopts }, { NULL, NULL },
};
static const struct schema s_target = { T_OBJ, "TargetSelector", f_target, NULL };
static const struct schema s_target_list = { T_LIST, "[]TargetSelector", NULL, &s_target };
static const struct field f_replacement[] = {
	{ "path", &s_str }, { "source", &s_source }, { "targets", &s_target_list }, { NULL, NULL },
};
static const struct schema s_replacement = { T_OBJ, "ReplacementField", f_replacement, NULL };
/* kustomize's types.HelmGlobals and types.HelmChart (v5.7.1) */
static const struct field f_helmglobals[] = {
	{ "chartHome", &s_str }, { "configHome", &s_str }, { NULL, NULL },
};
static const struct schema s_helmglobals = { T_OBJ, "HelmGlobals", f_helmglobals, NULL };
static const struct field f_helmchart[] = {
	{ "name", &s_str }, { "version", &s_str }, { "repo", &s_str }, { "releaseName", &s_str },
	{ "namespace", &s_str }, { "additionalValuesFiles", &s_strlist },
	{ "valuesFile", &s_str }, { "valuesInline", &s_any }, { "valuesMerge", &s_str },
	{ "includeCRDs", &s_bool }, { "skipHooks", &s_bool }, { "apiVersions", &s_strlist },
	{ "kubeVersion", &s_str }, { "nameTemplate", &s_str }, { "skipTests", &s_bool },
	{ "debug", &s_bool }, { NULL, NULL },
};
static const struct schema s_helmchart = { T_OBJ, "HelmChart", f_helmchart, NULL };
static const struct schema s_helmchart_list = { T_LIST, "[]HelmChart", NULL, &s_helmchart };

static const struct field f_genopts[] = {
	{ "labels", &s_strmap }, { "annotations", &s_strmap }, { "disableNameSuffixHash", &s_bool },
	{ "immutable", &s_bool }, { NULL, NULL },
};
static const struct schema s_genopts = { T_OBJ, "GeneratorOptions", f_genopts, NULL };

#define GEN_FIELDS                                                                              \
	{ "name", &s_str }, { "namespace", &s_str }, { "behavior", &s_str },                     \
		{ "literals", &s_strlist }, { "files", &s_strlist }, { "envs", &s_strlist },     \
		{ "env", &s_str }, { "options", &s_genopts }
static const struct field f_cmgen[] = { GEN_FIELDS, { NULL, NULL } };
static const struct field f_secgen[] = { GEN_FIELDS, { "type", &s_str }, { NULL, NULL } };
static const struct schema s_cmgen = { T_OBJ, "ConfigMapArgs", f_cmgen, NULL };
static const struct schema s_secgen = { T_OBJ, "SecretArgs", f_secgen, NULL };

static const struct field f_legacy[] = {
	{ "orderFirst", &s_strlist }, { "orderLast", &s_strlist }, { NULL, NULL },
};
static const struct schema s_legacy = { T_OBJ, "LegacySortOptions", f_legacy, NULL };
static const struct field f_sort[] = {
	{ "order", &s_str }, { "legacySortOptions", &s_legacy }, { NULL, NULL },
};
static const struct schema s_sort = { T_OBJ, "SortOptions", f_sort, NULL };

#define LIST_OF(name, itm) static const struct schema name = { T_LIST, "[]" #itm, NULL, &itm }
LIST_OF(s_label_list, s_label);
LIST_OF(s_image_list, s_image);
LIST_OF(s_replica_list, s_replica);
LIST_OF(s_var_list, s_var);
LIST_OF(s_replacement_list, s_replacement);
LIST_OF(s_cmgen_list, s_cmgen);
LIST_OF(s_secgen_list, s_secgen);
static const struct schema s_any_list = { T_LIST, "[]interface {}", NULL, &s_any };

static const struct field f_kustomization[] = {
	{ "apiVersion", &s_str }, { "kind", &s_str }, { "metadata", &s_any },
	{ "openapi", &s_strmap }, { "namePrefix", &s_str }, { "nameSuffix", &s_str },
	{ "namespace", &s_str }, { "commonLabels", &s_strmap }, { "labels", &s_label_list },
	{ "commonAnnotations", &s_strmap }, { "patchesStrategicMerge", &s_strlist },
	{ "patchesJson6902", &s_patch_list }, { "patches", &s_patch_list },
	{ "images", &s_image_list }, { "imageTags", &s_image_list },
	{ "replacements", &s_replacement_list }, { "replicas", &s_replica_list },
	{ "vars", &s_var_list }, { "sortOptions", &s_sort }, { "resources", &s_strlist },
	{ "components", &s_strlist }, { "crds", &s_strlist }, { "bases", &s_strlist },
	{ "configMapGenerator", &s_cmgen_list }, { "secretGenerator", &s_secgen_list },
	{ "helmGlobals", &s_helmglobals }, { "helmCharts", &s_helmchart_list },
	{ "helmChartInflationGenerator", &s_any_list }, { "generatorOptions", &s_genopts },
	{ "configurations", &s_strlist }, { "generators", &s_strlist },
	{ "transformers", &s_strlist }, { "validators", &s_strlist },
	{ "buildMetadata", &s_strlist }, { NULL, NULL },
};
static const struct schema s_kustomization = { T_OBJ, "Kustomization", f_kustomization, NULL };

static const char *json_type(const struct mf_node *n)
{
	switch (mf_node_type(n)) {
	case MF_BOOL: return "bool";
	case MF_INT:
	case MF_FLOAT: return "number";
	case MF_STR: return "string";
	case MF_SEQ: return "array";
	case MF_MAP: return "object";
	default: return "null";
	}
}

static int type_error(const struct mf_node *n, const char *where, const struct schema *s,
		      const char *file, struct gs_error *err)
{
	struct mf_pos pos = *mf_node_pos(n);

	if (!pos.file)
		pos.file = file;
	return gs_error_at(err, GS_EINVAL, &pos,
			   "invalid Kustomization: json: cannot unmarshal %s into Go struct field %s of type %s",
			   json_type(n), where, s->go_name);
}

static int check(const struct mf_node *n, const struct schema *s, const char *where,
		 const char *file, struct gs_error *err)
{
	size_t i;
	int rc;

	if (mf_node_type(n) == MF_NULL || s->type == T_ANY)
		return GS_OK;
	switch (s->type) {
	case T_STR:
		return mf_node_type(n) == MF_STR ? GS_OK : type_error(n, where, s, file, err);
	case T_BOOL:
		return mf_node_type(n) == MF_BOOL ? GS_OK : type_error(n, where, s, file, err);
	case T_INT:
		return mf_node_type(n) == MF_INT ? GS_OK : type_error(n, where, s, file, err);
	case T_STRMAP:
	case T_BOOLMAP:
		if (mf_node_type(n) != MF_MAP)
			return type_error(n, where, s, file, err);
		for (i = 0; i < mf_node_len(n); i++) {
			const struct mf_node *v = mf_node_at(n, i);
			enum mf_type want = s->type == T_STRMAP ? MF_STR : MF_BOOL;

			if (mf_node_type(v) != want && mf_node_type(v) != MF_NULL)
				return type_error(v, where, s->type == T_STRMAP ? &s_str : &s_bool,
						  file, err);
		}
		return GS_OK;
	case T_LIST:
		if (mf_node_type(n) != MF_SEQ)
			return type_error(n, where, s, file, err);
		for (i = 0; i < mf_node_len(n); i++)
			if ((rc = check(mf_node_at(n, i), s->item, where, file, err)) < 0)
				return rc;
		return GS_OK;
	case T_OBJ:
		if (mf_node_type(n) != MF_MAP)
			return type_error(n, where, s, file, err);
		for (i = 0; i < mf_node_len(n); i++) {
			const char *key = mf_node_key(n, i);
			const struct field *f;
			char sub[256];

			for (f = s->fields; f->name; f++)
				if (!strcmp(f->name, key))
					break;
			if (!f->name) {
				/* Go's encoding/json matches field names case-insensitively */
				for (f = s->fields; f->name; f++)
					if (!strcasecmp(f->name, key))
						break;
				if (f->name) {
					mf_node_rename_key((struct mf_node *)n, i, f->name);
					key = f->name; /* the old key text is freed */
				}
			}
			if (!f->name) {
				struct mf_pos pos = *mf_node_pos(mf_node_at(n, i));
				if (!pos.file)
					pos.file = file;
				return gs_error_at(err, GS_EINVAL, &pos,
						   "invalid Kustomization: json: unknown field \"%s\"",
						   key);
			}
			snprintf(sub, sizeof(sub), "%s.%s", s->go_name, key);
			if ((rc = check(mf_node_at(n, i), f->s, sub, file, err)) < 0)
				return rc;
		}
		return GS_OK;
	default:
		return GS_OK;
	}
}

int kz_kustomization_validate(const struct mf_node *k, const char *file, struct gs_error *err)
{
	return check(k, &s_kustomization, "Kustomization", file, err);
}
