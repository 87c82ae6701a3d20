/* test-health-lua.c - users' Lua health checks: the script contract, the
 * sandbox, the budgets, where scripts come from and which one applies. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "gs-alloc.h"
#include "health/health-lua.h"
#include "mf-yaml.h"

static struct mf_node *parse(const char *text)
{
	struct mf_docs docs = MF_DOCS_INIT;
	struct gs_error err = GS_ERROR_INIT;
	struct mf_node *obj;

	assert_int_equal(mf_yaml_parse(&docs, text, strlen(text), "t.yaml", NULL, &err), 0);
	obj = mf_docs_take(&docs, 0);
	mf_docs_release(&docs);
	return obj;
}

/* Health of text through set (hl_health_of); message must contain want
 * (NULL: no check); the rule used is copied to rule (may be NULL). */
static enum sync_health check(const struct hl_set *set, const char *text, const char *want,
			      char *rule, size_t rule_len)
{
	struct mf_node *obj = parse(text);
	const char *r = NULL;
	enum sync_health h;
	char *msg = NULL;

	h = hl_health_of(set, obj, &msg, &r);
	if (want && (!msg || !strstr(msg, want)))
		fail_msg("message \"%s\" lacks \"%s\"", msg ? msg : "(null)", want);
	if (rule)
		snprintf(rule, rule_len, "%s", r ? r : "");
	free(msg);
	mf_node_free(obj);
	return h;
}

static struct hl_set *set_with(const char *group, const char *kind, const char *src)
{
	struct gs_error err = GS_ERROR_INIT;
	struct hl_set *set = hl_set_new(NULL);

	if (hl_set_add(set, group, kind, src, strlen(src), "test.lua", &err))
		fail_msg("add: %s", err.msg);
	return set;
}

#define THING "apiVersion: example.com/v1\nkind: Thing\nmetadata:\n  name: t\n"

static void test_health_lua__script_sees_obj_and_returns_status_and_message(void **state)
{
	struct hl_set *set = set_with("example.com", "Thing",
				      "local hs = {}\n"
				      "if obj.status.items[2].ok and obj.status.gone == nil\n"
				      "   and obj.spec.replicas == 3 and obj.status.flag == false then\n"
				      "  hs.status = 'Healthy'\n"
				      "  hs.message = obj.metadata.name .. ' has ' .. #obj.status.items\n"
				      "else hs.status = 'Degraded' end\nreturn hs\n");
	char rule[128];

	(void)state;
	assert_int_equal(check(set, THING "spec: {replicas: 3}\nstatus: {flag: false, gone: null,"
				" items: [{ok: false}, {ok: true}]}\n", "t has 2", rule, sizeof(rule)),
			 SYNC_HEALTH_HEALTHY);
	assert_string_equal(rule, "lua:test.lua");
	hl_set_free(set);
}

static void test_health_lua__script_errors_and_bad_results_are_unknown(void **state)
{
	struct hl_set *set;

	(void)state;
	set = set_with("example.com", "Thing", "local hs = {}\nhs.status = obj.status.phase.x\nreturn hs\n");
	/* the message names the script and its line */
	assert_int_equal(check(set, THING, "test.lua:2:", NULL, 0), SYNC_HEALTH_UNKNOWN);
	hl_set_free(set);
	set = set_with("example.com", "Thing", "return {status = 'Fine'}\n");
	assert_int_equal(check(set, THING, "unknown status \"Fine\"", NULL, 0), SYNC_HEALTH_UNKNOWN);
	hl_set_free(set);
	set = set_with("example.com", "Thing", "return 'Healthy'\n");
	assert_int_equal(check(set, THING, "not a table", NULL, 0), SYNC_HEALTH_UNKNOWN);
	hl_set_free(set);
	set = set_with("example.com", "Thing", "error('custom failure')\n");
	assert_int_equal(check(set, THING, "custom failure", NULL, 0), SYNC_HEALTH_UNKNOWN);
	hl_set_free(set);
	/* nil: the script has nothing to say, no health */
	set = set_with("example.com", "Thing", "return nil\n");
	assert_int_equal(check(set, THING, NULL, NULL, 0), SYNC_HEALTH_NONE);
	hl_set_free(set);
}

static void test_health_lua__scripts_that_do_not_compile_are_refused_when_loaded(void **state)
{
	static const char bytecode[] = "\033Lua\x51\x00\x01\x04\x08\x04\x08\x00";
	struct gs_error err = GS_ERROR_INIT;
	struct hl_set *set = hl_set_new(NULL);

	(void)state;
	assert_int_equal(hl_set_add(set, "example.com", "Thing", "if then end", 11, "bad.lua", &err),
			 GS_EINVAL);
	assert_non_null(strstr(err.msg, "bad.lua:1:"));
	assert_int_equal(hl_set_add(set, "example.com", "Thing", bytecode, sizeof(bytecode) - 1,
				    "dump.luac", &err),
			 GS_EINVAL);
	assert_non_null(strstr(err.msg, "precompiled"));
	assert_int_equal(hl_set_count(set), 0);
	hl_set_free(set);
}

static void test_health_lua__sandbox_has_argo_library_subset_only(void **state)
{
	struct hl_set *set = set_with(
		"example.com", "Thing",
		"local hs = {status = 'Healthy'}\n"
		"local bad = {}\n"
		"if io ~= nil then bad[#bad+1] = 'io' end\n"
		"if debug ~= nil then bad[#bad+1] = 'debug' end\n"
		"if package ~= nil then bad[#bad+1] = 'package' end\n"
		"if os.execute ~= nil or os.getenv ~= nil or os.remove ~= nil or os.exit ~= nil then\n"
		"  bad[#bad+1] = 'os' end\n"
		"if dofile ~= nil or loadfile ~= nil or loadstring ~= nil or load ~= nil then\n"
		"  bad[#bad+1] = 'load' end\n"
		"if string.dump ~= nil then bad[#bad+1] = 'dump' end\n"
		"if pcall(require, 'io') then bad[#bad+1] = 'require io' end\n"
		"local t = os.time({year='2024', month='05', day='01', hour='10', min='00', sec='00'})\n"
		"if type(t) ~= 'number' or os.time() < t then bad[#bad+1] = 'time' end\n"
		"if os.date('!%Y-%m-%d', 0) ~= '1970-01-01' or os.date('!*t', 86400).day ~= 2 then\n"
		"  bad[#bad+1] = 'date' end\n"
		"if pcall(os.date, {}) or os.date('!%Y', 0) ~= '1970' then bad[#bad+1] = 'date lock' end\n"
		"if require('string').upper('a') ~= 'A' or math.max(1, 2) ~= 2 then\n"
		"  bad[#bad+1] = 'libs' end\n"
		"table.insert(bad, 'x'); table.remove(bad)\n"
		"print('debug output goes nowhere')\n"
		"if #bad > 0 then hs.status = 'Degraded'; hs.message = table.concat(bad, ',') end\n"
		"return hs\n");

	(void)state;
	assert_int_equal(check(set, THING, NULL, NULL, 0), SYNC_HEALTH_HEALTHY);
	hl_set_free(set);
}

/* Argo CD's scripts decode JSON held in annotations (the v1 HPA's
 * conditions) with require("json"). */
static void test_health_lua__json_module_decodes_and_encodes(void **state)
{
	struct hl_set *set = set_with(
		"example.com", "Thing",
		"local json = require('json')\n"
		"local c = json.decode(obj.metadata.annotations['example.com/conditions'])\n"
		"local back = json.encode({a = {1, 2, 3}, b = 'x', c = true, d = 1.5})\n"
		"local again = json.decode(back)\n"
		"if #c ~= 2 or c[2].reason ~= 'Broken' or c[1].gone ~= nil or again.a[3] ~= 3\n"
		"   or again.b ~= 'x' or again.c ~= true or again.d ~= 1.5 then\n"
		"  return {status = 'Unknown', message = back}\n"
		"end\n"
		"local ok, err = pcall(json.decode, '{nope')\n"
		"local t = {}; t.self = t\n"
		"local ok2, err2 = pcall(json.encode, t)\n"
		"if ok or ok2 then return {status = 'Unknown', message = 'no error'} end\n"
		"return {status = 'Degraded', message = c[2].message .. ' / ' .. err2}\n");

	(void)state;
	assert_int_equal(check(set, THING "  annotations:\n    example.com/conditions: "
			       "'[{\"type\":\"A\",\"gone\":null},{\"type\":\"B\",\"reason\":\"Broken\","
			       "\"message\":\"it broke\"}]'\n", "it broke / ", NULL, 0),
			 SYNC_HEALTH_DEGRADED);
	assert_int_equal(check(set, THING "  annotations:\n    example.com/conditions: "
			       "'[{\"type\":\"A\"},{\"type\":\"B\",\"reason\":\"Broken\",\"message\":\"m\"}]'\n",
			       "nested too deep", NULL, 0),
			 SYNC_HEALTH_DEGRADED);
	hl_set_free(set);
}

static void test_health_lua__time_and_memory_budgets_per_call(void **state)
{
	struct hl_limits lim = { .instructions = 100000, .memory = 2u << 20, .seconds = 5 };
	struct gs_error err = GS_ERROR_INIT;
	struct hl_set *set = hl_set_new(&lim);
	static const char loop[] = "while true do end\n";
	static const char hog[] = "local t = {}\nfor i = 1, 1e9 do t[i] = string.rep('x', 1000) .. i end\n";
	static const char fine[] = "local n = 0\nfor i = 1, 10000 do n = n + i end\n"
				   "return {status = 'Healthy', message = tostring(n)}\n";

	(void)state;
	assert_int_equal(hl_set_add(set, "a.example.com", "Loop", loop, strlen(loop), "loop.lua", &err), 0);
	assert_int_equal(hl_set_add(set, "a.example.com", "Hog", hog, strlen(hog), "hog.lua", &err), 0);
	assert_int_equal(hl_set_add(set, "a.example.com", "Fine", fine, strlen(fine), "fine.lua", &err), 0);
	assert_int_equal(check(set, "apiVersion: a.example.com/v1\nkind: Loop\nmetadata: {name: l}\n",
			       "budget of 100000 instructions", NULL, 0),
			 SYNC_HEALTH_UNKNOWN);
	assert_int_equal(check(set, "apiVersion: a.example.com/v1\nkind: Hog\nmetadata: {name: h}\n",
			       "memory budget", NULL, 0),
			 SYNC_HEALTH_UNKNOWN);
	/* memory running out inside json.decode: reported, nothing leaks */
	{
		static const char jhog[] = "local j = require('json')\nlocal t = {}\n"
					   "local s = '[' .. string.rep('1,', 20000) .. '1]'\n"
					   "for i = 1, 1e6 do t[i] = j.decode(s) end\n";

		assert_int_equal(hl_set_add(set, "a.example.com", "JHog", jhog, strlen(jhog), "jhog.lua",
					    &err), 0);
		assert_int_equal(check(set, "apiVersion: a.example.com/v1\nkind: JHog\nmetadata: {name: h}\n",
				       "memory budget", NULL, 0),
				 SYNC_HEALTH_UNKNOWN);
	}
	/* the budget is per call: the next script runs normally */
	assert_int_equal(check(set, "apiVersion: a.example.com/v1\nkind: Fine\nmetadata: {name: f}\n",
			       "50005000", NULL, 0),
			 SYNC_HEALTH_HEALTHY);
	hl_set_free(set);

	/* wall-clock budget: a generous instruction count, a tiny time */
	lim.instructions = 4000000000UL;
	lim.seconds = 0.05;
	set = hl_set_new(&lim);
	assert_int_equal(hl_set_add(set, "a.example.com", "Loop", loop, strlen(loop), "loop.lua", &err), 0);
	assert_int_equal(check(set, "apiVersion: a.example.com/v1\nkind: Loop\nmetadata: {name: l}\n",
			       "time budget", NULL, 0),
			 SYNC_HEALTH_UNKNOWN);
	hl_set_free(set);
}

static void test_health_lua__wildcards_exact_first_then_most_specific(void **state)
{
	struct gs_error err = GS_ERROR_INIT;
	struct hl_set *set = hl_set_new(NULL);
	static const char any[] = "return {status = 'Progressing', message = 'any'}";
	static const char aws[] = "return {status = 'Degraded', message = 'aws'}";
	static const char exact[] = "return {status = 'Healthy', message = 'exact'}";
	char rule[128];

	(void)state;
	assert_int_equal(hl_set_add(set, "*.upbound.io", "*", any, strlen(any), "any", &err), 0);
	assert_int_equal(hl_set_add(set, "*.aws.upbound.io", "*", aws, strlen(aws), "aws", &err), 0);
	assert_int_equal(hl_set_add(set, "s3.aws.upbound.io", "Bucket", exact, strlen(exact), "exact", &err), 0);
	assert_int_equal(check(set, "apiVersion: s3.aws.upbound.io/v1beta1\nkind: Bucket\nmetadata: {name: b}\n",
			       "exact", rule, sizeof(rule)),
			 SYNC_HEALTH_HEALTHY);
	assert_int_equal(check(set, "apiVersion: ec2.aws.upbound.io/v1beta1\nkind: VPC\nmetadata: {name: v}\n",
			       "aws", NULL, 0),
			 SYNC_HEALTH_DEGRADED);
	assert_int_equal(check(set, "apiVersion: gcp.upbound.io/v1beta1\nkind: ProviderConfig\nmetadata: {name: p}\n",
			       "any", rule, sizeof(rule)),
			 SYNC_HEALTH_PROGRESSING);
	assert_string_equal(rule, "lua:any");
	/* no match: the built-in rule */
	assert_int_equal(check(set, "apiVersion: upbound.io.example/v1\nkind: X\nmetadata: {name: x}\n",
			       NULL, rule, sizeof(rule)),
			 SYNC_HEALTH_NONE);
	assert_string_equal(rule, "generic");
	/* a later add for the same pattern replaces the earlier one */
	assert_int_equal(hl_set_add(set, "*.upbound.io", "*", exact, strlen(exact), "any2", &err), 0);
	assert_int_equal(hl_set_count(set), 3);
	assert_string_equal(hl_set_find(set, "gcp.upbound.io", "ProviderConfig"), "lua:any2");
	hl_set_free(set);
}

static void test_health_lua__user_script_wins_over_builtin_rule(void **state)
{
	struct hl_set *set = set_with("apps", "Deployment",
				      "return {status = 'Degraded', message = 'policy: no latest tags'}");
	static const char dep[] = "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: w}\n"
				  "spec: {replicas: 1}\nstatus: {replicas: 1, updatedReplicas: 1,"
				  " availableReplicas: 1}\n";
	char rule[128];

	(void)state;
	assert_int_equal(check(NULL, dep, NULL, rule, sizeof(rule)), SYNC_HEALTH_HEALTHY);
	assert_string_equal(rule, "Deployment");
	assert_int_equal(check(set, dep, "no latest tags", rule, sizeof(rule)), SYNC_HEALTH_DEGRADED);
	assert_string_equal(rule, "lua:test.lua");
	hl_set_free(set);
}

static void write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

static void test_health_lua__folder_layout_with_underscore_wildcards(void **state)
{
	char dir[] = "/tmp/gs-health-lua-XXXXXX";
	struct gs_error err = GS_ERROR_INIT;
	struct hl_set *set = hl_set_new(NULL);
	char path[512], rule[256];

	(void)state;
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/_.crossplane.io", dir);
	assert_int_equal(mkdir(path, 0755), 0);
	snprintf(path, sizeof(path), "%s/_.crossplane.io/_", dir);
	assert_int_equal(mkdir(path, 0755), 0);
	snprintf(path, sizeof(path), "%s/_.crossplane.io/_/health.lua", dir);
	write_file(path, "return {status = 'Suspended', message = 'crossplane'}\n");
	/* core kinds have no group directory */
	snprintf(path, sizeof(path), "%s/Pod", dir);
	assert_int_equal(mkdir(path, 0755), 0);
	snprintf(path, sizeof(path), "%s/Pod/health.lua", dir);
	write_file(path, "return {status = 'Degraded', message = 'core pod'}\n");
	/* Argo's layout also has actions/ and testdata/ beside health.lua */
	snprintf(path, sizeof(path), "%s/_.crossplane.io/_/testdata", dir);
	assert_int_equal(mkdir(path, 0755), 0);
	snprintf(path, sizeof(path), "%s/README.md", dir);
	write_file(path, "not a group\n");
	assert_int_equal(hl_set_load_dir(set, dir, &err), 0);
	assert_int_equal(hl_set_count(set), 2);
	assert_int_equal(check(set, "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\n", "core pod", NULL, 0),
			 SYNC_HEALTH_DEGRADED);
	/* a core kind's script is not a wildcard for groups */
	assert_null(hl_set_find(set, "example.com", "Pod"));
	assert_int_equal(check(set, "apiVersion: pkg.crossplane.io/v1\nkind: Provider\nmetadata: {name: p}\n",
			       "crossplane", rule, sizeof(rule)),
			 SYNC_HEALTH_SUSPENDED);
	assert_non_null(strstr(rule, "_.crossplane.io/_/health.lua"));
	/* a broken script stops the load and is named */
	snprintf(path, sizeof(path), "%s/example.com", dir);
	assert_int_equal(mkdir(path, 0755), 0);
	snprintf(path, sizeof(path), "%s/example.com/Thing", dir);
	assert_int_equal(mkdir(path, 0755), 0);
	snprintf(path, sizeof(path), "%s/example.com/Thing/health.lua", dir);
	write_file(path, "return {status = \n");
	assert_int_equal(hl_set_load_dir(set, dir, &err), GS_EINVAL);
	assert_non_null(strstr(err.msg, "example.com/Thing/health.lua"));
	hl_set_free(set);
	set = hl_set_new(NULL);
	assert_int_equal(hl_set_load_dir(set, "/nonexistent/gs-lua", &err), GS_ENOTFOUND);
	hl_set_free(set);
	snprintf(path, sizeof(path), "rm -rf '%s'", dir);
	assert_int_equal(system(path), 0);
}

static void test_health_lua__configmap_keys_in_argo_spelling(void **state)
{
	struct mf_node *cm = parse(
		"apiVersion: v1\nkind: ConfigMap\nmetadata: {name: gitsync-health}\ndata:\n"
		"  cert-manager.io_Certificate: |\n"
		"    return {status = 'Healthy', message = 'cert'}\n"
		"  resource.customizations.health.argoproj.io_Rollout: |\n"
		"    return {status = 'Progressing', message = 'rollout'}\n"
		"  Pod: |\n"
		"    return {status = 'Suspended', message = 'pod'}\n"
		"  '*.fluxcd.io_*': |\n"
		"    return {status = 'Degraded', message = 'flux'}\n");
	struct mf_node *bad = parse("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: gitsync-health}\n"
				    "data:\n  apps/Deployment: 'return nil'\n");
	struct gs_error err = GS_ERROR_INIT;
	struct hl_set *set = hl_set_new(NULL);
	char rule[256];

	(void)state;
	assert_int_equal(hl_set_load_configmap(set, cm, &err), 0);
	assert_int_equal(hl_set_count(set), 4);
	assert_int_equal(check(set, "apiVersion: cert-manager.io/v1\nkind: Certificate\nmetadata: {name: c}\n",
			       "cert", rule, sizeof(rule)),
			 SYNC_HEALTH_HEALTHY);
	assert_string_equal(rule, "lua:ConfigMap gitsync-health key cert-manager.io_Certificate");
	assert_int_equal(check(set, "apiVersion: argoproj.io/v1alpha1\nkind: Rollout\nmetadata: {name: r}\n",
			       "rollout", NULL, 0),
			 SYNC_HEALTH_PROGRESSING);
	assert_int_equal(check(set, "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\n", "pod", NULL, 0),
			 SYNC_HEALTH_SUSPENDED);
	assert_int_equal(check(set, "apiVersion: kustomize.toolkit.fluxcd.io/v1\nkind: Kustomization\n"
			       "metadata: {name: k}\n", "flux", NULL, 0),
			 SYNC_HEALTH_DEGRADED);
	assert_int_equal(hl_set_load_configmap(set, bad, &err), GS_EINVAL);
	assert_non_null(strstr(err.msg, "apps/Deployment"));
	hl_set_free(set);
	mf_node_free(cm);
	mf_node_free(bad);
}

static void test_health_lua__deleting_object_stays_progressing(void **state)
{
	struct hl_set *set = set_with("example.com", "Thing", "return {status = 'Healthy'}");

	(void)state;
	assert_int_equal(check(set, "apiVersion: example.com/v1\nkind: Thing\nmetadata: {name: t,"
			       " deletionTimestamp: '2024-01-01T00:00:00Z'}\n", "deletion", NULL, 0),
			 SYNC_HEALTH_PROGRESSING);
	hl_set_free(set);
}

/* The agent's watch caches keep the health the users' checks give, and
 * flag a health other than Healthy that has a message (the entry cannot
 * hold it: a run reads the object for it). */
static void test_health_lua__watch_cache_health_uses_the_checks(void **state)
{
	struct hl_set *set = set_with("", "ConfigMap", "return {status = 'Degraded', message = 'no'}");
	struct hl_set *quiet = set_with("", "ConfigMap", "return {status = 'Degraded', message = ''}");
	struct hl_set *fine = set_with("", "ConfigMap", "return {status = 'Healthy', message = 'ok'}");
	struct mf_node *cm = parse("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\n");

	(void)state;
	assert_int_equal(sync_cache_fn(KUBE_EVENT_ADDED, cm, NULL, NULL) & 0xff,
			 SYNC_HEALTH_NONE + 1);
	assert_int_equal(sync_cache_fn(KUBE_EVENT_MODIFIED, cm, NULL, set) & 0x7f,
			 SYNC_HEALTH_DEGRADED + 1);
	assert_true(sync_cache_fn(KUBE_EVENT_MODIFIED, cm, NULL, set) & SYNC_CACHE_HEALTH_MSG);
	assert_int_equal(sync_cache_fn(KUBE_EVENT_MODIFIED, cm, NULL, quiet) & 0xff,
			 SYNC_HEALTH_DEGRADED + 1);
	/* a Healthy message is not worth a GET at every comparison */
	assert_int_equal(sync_cache_fn(KUBE_EVENT_MODIFIED, cm, NULL, fine) & 0xff,
			 SYNC_HEALTH_HEALTHY + 1);
	mf_node_free(cm);
	hl_set_free(fine);
	hl_set_free(quiet);
	hl_set_free(set);
}

/* Our own script for the postgres-operator example. */
static void test_health_lua__example_postgresql_script(void **state)
{
	const char *root = getenv("GS_SOURCE_ROOT");
	struct gs_error err = GS_ERROR_INIT;
	struct hl_set *set = hl_set_new(NULL);
	char *dir;

	(void)state;
	if (!root)
		skip();
	dir = gs_asprintf("%s/examples/health/resource_customizations", root);
	assert_int_equal(hl_set_load_dir(set, dir, &err), 0);
	free(dir);
#define PG "apiVersion: acid.zalan.do/v1\nkind: postgresql\nmetadata: {name: acid-minimal-cluster}\n"
	assert_int_equal(check(set, PG "spec: {numberOfInstances: 2}\n", "Waiting for the operator", NULL, 0),
			 SYNC_HEALTH_PROGRESSING);
	assert_int_equal(check(set, PG "status: {PostgresClusterStatus: Creating}\n", "creating", NULL, 0),
			 SYNC_HEALTH_PROGRESSING);
	assert_int_equal(check(set, PG "status: {PostgresClusterStatus: Running}\n", "running", NULL, 0),
			 SYNC_HEALTH_HEALTHY);
	assert_int_equal(check(set, PG "status: {PostgresClusterStatus: SyncFailed}\n", "SyncFailed", NULL, 0),
			 SYNC_HEALTH_DEGRADED);
	assert_int_equal(check(set, PG "status: {PostgresClusterStatus: Invalid}\n", "Invalid", NULL, 0),
			 SYNC_HEALTH_DEGRADED);
	assert_int_equal(check(set, PG "status: {PostgresClusterStatus: Sleeping}\n", "Unexpected", NULL, 0),
			 SYNC_HEALTH_UNKNOWN);
#undef PG
	hl_set_free(set);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_health_lua__script_sees_obj_and_returns_status_and_message),
		cmocka_unit_test(test_health_lua__script_errors_and_bad_results_are_unknown),
		cmocka_unit_test(test_health_lua__scripts_that_do_not_compile_are_refused_when_loaded),
		cmocka_unit_test(test_health_lua__sandbox_has_argo_library_subset_only),
		cmocka_unit_test(test_health_lua__json_module_decodes_and_encodes),
		cmocka_unit_test(test_health_lua__time_and_memory_budgets_per_call),
		cmocka_unit_test(test_health_lua__wildcards_exact_first_then_most_specific),
		cmocka_unit_test(test_health_lua__user_script_wins_over_builtin_rule),
		cmocka_unit_test(test_health_lua__folder_layout_with_underscore_wildcards),
		cmocka_unit_test(test_health_lua__configmap_keys_in_argo_spelling),
		cmocka_unit_test(test_health_lua__deleting_object_stays_progressing),
		cmocka_unit_test(test_health_lua__watch_cache_health_uses_the_checks),
		cmocka_unit_test(test_health_lua__example_postgresql_script),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
