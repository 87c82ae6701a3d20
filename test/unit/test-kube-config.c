/* test-kube-config.c - kubeconfig parsing, merging, contexts, credentials. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

#include "gs-alloc.h"
#include "kube/kube-client.h"
#include "kube/kube-config.h"
#include "kube/kube-private.h"
#include "mf-json.h"
#include "mf-yaml.h"

static char tmpdir[64];

static int setup_dir(void **state)
{
	(void)state;
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/gs-kcfg-XXXXXX");
	return mkdtemp(tmpdir) ? 0 : -1;
}

static int teardown_dir(void **state)
{
	char *cmd = gs_asprintf("rm -rf '%s'", tmpdir);
	int rc;

	(void)state;
	rc = system(cmd);
	free(cmd);
	return rc == 0 ? 0 : -1;
}

static char *write_file(const char *name, const char *text)
{
	char *p = gs_asprintf("%s/%s", tmpdir, name);
	FILE *f = fopen(p, "w");

	assert_non_null(f);
	fputs(text, f);
	fclose(f);
	return p;
}

static const char two_contexts[] =
	"apiVersion: v1\n"
	"kind: Config\n"
	"current-context: dev\n"
	"clusters:\n"
	"- name: c1\n"
	"  cluster:\n"
	"    server: https://127.0.0.1:6443/\n"
	"    certificate-authority-data: LS0tLS1CRUdJTiBDRVJUSUZJQ0FURS0tLS0tCg==\n"
	"- name: c2\n"
	"  cluster:\n"
	"    server: https://10.0.0.1\n"
	"    certificate-authority: pki/ca.crt\n"
	"    insecure-skip-tls-verify: true\n"
	"users:\n"
	"- name: tok\n"
	"  user:\n"
	"    token: abc123\n"
	"- name: file\n"
	"  user:\n"
	"    tokenFile: secrets/token\n"
	"    client-certificate: certs/a.crt\n"
	"    client-key: certs/a.key\n"
	"- name: eks\n"
	"  user:\n"
	"    exec:\n"
	"      apiVersion: client.authentication.k8s.io/v1\n"
	"      command: aws\n"
	"      args: [eks, get-token, --cluster-name, prod]\n"
	"      env:\n"
	"      - name: AWS_PROFILE\n"
	"        value: prod\n"
	"contexts:\n"
	"- name: dev\n"
	"  context: {cluster: c1, user: tok, namespace: team-a}\n"
	"- name: prod\n"
	"  context: {cluster: c2, user: file}\n"
	"- name: eks\n"
	"  context: {cluster: c2, user: eks}\n"
	"- name: broken\n"
	"  context: {cluster: nope, user: tok}\n";

static struct mf_node *parse(struct mf_docs *docs, const char *text)
{
	struct gs_error err = GS_ERROR_INIT;

	assert_int_equal(mf_yaml_parse(docs, text, strlen(text), "kubeconfig", NULL, &err), 0);
	assert_true(docs->n >= 1);
	return docs->docs[0];
}

static void test_kube_config__current_context_token_and_ca_data(void **state)
{
	struct mf_docs docs = MF_DOCS_INIT;
	struct kube_config *cfg = NULL;
	struct gs_error err = GS_ERROR_INIT;
	(void)state;

	assert_int_equal(kube_config_from_node(&cfg, parse(&docs, two_contexts), "/etc/kube", NULL,
					       &err), 0);
	assert_string_equal(cfg->context, "dev");
	/* a trailing slash would double in request paths */
	assert_string_equal(cfg->server, "https://127.0.0.1:6443");
	assert_string_equal(cfg->namespace, "team-a");
	assert_string_equal(cfg->token, "abc123");
	assert_int_equal(cfg->ca_len, strlen("-----BEGIN CERTIFICATE-----\n"));
	assert_memory_equal(cfg->ca_data, "-----BEGIN CERTIFICATE-----\n", cfg->ca_len);
	assert_false(cfg->insecure);
	assert_null(cfg->exec);
	kube_config_free(cfg);
	mf_docs_release(&docs);
}

static void test_kube_config__context_option_resolves_relative_paths(void **state)
{
	struct mf_docs docs = MF_DOCS_INIT;
	struct kube_config *cfg = NULL;
	struct gs_error err = GS_ERROR_INIT;
	(void)state;

	assert_int_equal(kube_config_from_node(&cfg, parse(&docs, two_contexts), "/etc/kube", "prod",
					       &err), 0);
	assert_string_equal(cfg->server, "https://10.0.0.1");
	assert_string_equal(cfg->namespace, "default");
	assert_true(cfg->insecure);
	assert_string_equal(cfg->ca_file, "/etc/kube/pki/ca.crt");
	assert_string_equal(cfg->token_file, "/etc/kube/secrets/token");
	assert_string_equal(cfg->cert_file, "/etc/kube/certs/a.crt");
	assert_string_equal(cfg->key_file, "/etc/kube/certs/a.key");
	assert_null(cfg->token);
	kube_config_free(cfg);
	mf_docs_release(&docs);
}

static void test_kube_config__exec_plugin_args_and_env(void **state)
{
	struct mf_docs docs = MF_DOCS_INIT;
	struct kube_config *cfg = NULL;
	struct gs_error err = GS_ERROR_INIT;
	(void)state;

	assert_int_equal(kube_config_from_node(&cfg, parse(&docs, two_contexts), "/etc/kube", "eks",
					       &err), 0);
	assert_non_null(cfg->exec);
	/* a bare command name is looked up in PATH, not made relative */
	assert_string_equal(cfg->exec->command, "aws");
	assert_string_equal(cfg->exec->api_version, "client.authentication.k8s.io/v1");
	assert_string_equal(cfg->exec->args[0], "eks");
	assert_string_equal(cfg->exec->args[3], "prod");
	assert_null(cfg->exec->args[4]);
	assert_string_equal(cfg->exec->env[0], "AWS_PROFILE=prod");
	assert_null(cfg->exec->env[1]);
	kube_config_free(cfg);
	mf_docs_release(&docs);
}

static void test_kube_config__tls_server_name_is_the_name_tls_asks_for(void **state)
{
	static const char text[] =
		"apiVersion: v1\nkind: Config\ncurrent-context: c\n"
		"clusters:\n- name: c\n  cluster:\n    server: https://10.0.0.7:6443/prefix\n"
		"    tls-server-name: api.internal\n"
		"users:\n- name: u\n  user: {token: t}\n"
		"contexts:\n- name: c\n  context: {cluster: c, user: u}\n";
	struct mf_docs docs = MF_DOCS_INIT;
	struct kube_config *cfg = NULL;
	struct gs_error err = GS_ERROR_INIT;
	(void)state;

	assert_int_equal(kube_config_from_node(&cfg, parse(&docs, text), "/etc/kube", NULL, &err), 0);
	assert_string_equal(cfg->tls_server_name, "api.internal");
	/* TLS (SNI, verification) asks for the name; the connection goes to the address */
	assert_string_equal(cfg->server, "https://api.internal:6443/prefix");
	assert_string_equal(cfg->connect_to, "api.internal:6443:10.0.0.7:6443");
	kube_config_free(cfg);
	mf_docs_release(&docs);
}

static void test_kube_config__exec_plugin_that_hangs_is_killed_at_its_timeout(void **state)
{
	static const char text[] =
		"apiVersion: v1\nkind: Config\ncurrent-context: c\n"
		"clusters:\n- name: c\n  cluster: {server: 'https://127.0.0.1:9'}\n"
		"users:\n- name: u\n  user:\n    exec:\n"
		"      apiVersion: client.authentication.k8s.io/v1\n"
		"      command: sleep\n      args: ['30']\n"
		"contexts:\n- name: c\n  context: {cluster: c, user: u}\n";
	struct mf_docs docs = MF_DOCS_INIT;
	struct kube_config *cfg = NULL;
	struct kube_client *kc = NULL;
	struct kube_response r = KUBE_RESPONSE_INIT;
	struct gs_error err = GS_ERROR_INIT;
	time_t t0 = time(NULL);
	(void)state;

	assert_int_equal(kube_config_from_node(&cfg, parse(&docs, text), "/etc/kube", NULL, &err), 0);
	assert_true(cfg->exec->timeout_s > 0);
	cfg->exec->timeout_s = 0.5;
	assert_int_equal(kube_client_new(&kc, cfg, NULL, &err), 0);
	assert_int_equal(kube_client_request(kc, "GET", "/version", NULL, NULL, 0, &r, &err),
			 GS_EAUTH);
	assert_non_null(strstr(err.msg, "did not answer within"));
	assert_true(time(NULL) - t0 < 10);
	kube_response_release(&r);
	kube_client_free(kc);
	kube_config_free(cfg);
	mf_docs_release(&docs);
}

static void test_kube_config__unknown_context_and_cluster_are_clear_errors(void **state)
{
	struct mf_docs docs = MF_DOCS_INIT;
	struct kube_config *cfg = NULL;
	struct gs_error err = GS_ERROR_INIT;
	(void)state;

	parse(&docs, two_contexts);
	assert_int_equal(kube_config_from_node(&cfg, docs.docs[0], NULL, "staging", &err),
			 GS_ENOTFOUND);
	assert_non_null(strstr(err.msg, "context 'staging' not found"));
	assert_int_equal(kube_config_from_node(&cfg, docs.docs[0], NULL, "broken", &err),
			 GS_ENOTFOUND);
	assert_non_null(strstr(err.msg, "cluster 'nope' not found"));
	assert_null(cfg);
	mf_docs_release(&docs);
}

static void test_kube_config__kubeconfig_env_merges_first_wins(void **state)
{
	char *a = write_file("a.yaml",
			     "apiVersion: v1\nkind: Config\n"
			     "clusters:\n- name: shared\n  cluster: {server: 'https://first:1'}\n"
			     "users:\n- name: u\n  user: {token: from-a}\n"
			     "contexts:\n- name: ctx-a\n  context: {cluster: shared, user: u}\n");
	char *b = write_file("b.yaml",
			     "apiVersion: v1\nkind: Config\ncurrent-context: ctx-b\n"
			     "clusters:\n- name: shared\n  cluster: {server: 'https://second:2'}\n"
			     "users:\n- name: u\n  user: {token: from-b}\n- name: v\n"
			     "  user: {username: admin, password: s3cret}\n"
			     "contexts:\n- name: ctx-b\n  context: {cluster: shared, user: v}\n");
	char *list = gs_asprintf("%s:%s/missing.yaml:%s", a, tmpdir, b);
	struct kube_config_opts o = { NULL, NULL, false };
	struct kube_config *cfg = NULL;
	struct gs_error err = GS_ERROR_INIT;
	(void)state;

	setenv("KUBECONFIG", list, 1);
	/* current-context comes from the only file that sets it; the cluster
	 * named in both files is the first file's */
	assert_int_equal(kube_config_load(&cfg, &o, &err), 0);
	assert_string_equal(cfg->context, "ctx-b");
	assert_string_equal(cfg->server, "https://first:1");
	assert_string_equal(cfg->username, "admin");
	assert_string_equal(cfg->password, "s3cret");
	kube_config_free(cfg);
	o.context = "ctx-a";
	assert_int_equal(kube_config_load(&cfg, &o, &err), 0);
	assert_string_equal(cfg->token, "from-a");
	kube_config_free(cfg);
	/* --kubeconfig wins over KUBECONFIG and must exist */
	o.kubeconfig = b;
	o.context = NULL;
	assert_int_equal(kube_config_load(&cfg, &o, &err), 0);
	assert_string_equal(cfg->server, "https://second:2");
	kube_config_free(cfg);
	unsetenv("KUBECONFIG");
	free(a);
	free(b);
	free(list);
}

static void test_kube_config__in_cluster_reads_service_account(void **state)
{
	char *root = gs_asprintf("%s/sa", tmpdir), *p;
	struct kube_config *cfg = NULL;
	struct gs_error err = GS_ERROR_INIT;
	(void)state;

	unsetenv("KUBERNETES_SERVICE_HOST");
	assert_int_equal(kube_config_in_cluster(&cfg, root, &err), GS_ENOTFOUND);
	assert_int_equal(mkdir(root, 0700), 0);
	p = write_file("sa/token", "eyJhbGciOi\n");
	free(p);
	p = write_file("sa/namespace", "gitsync\n");
	free(p);
	setenv("KUBERNETES_SERVICE_HOST", "fd00::1", 1);
	setenv("KUBERNETES_SERVICE_PORT", "6443", 1);
	assert_int_equal(kube_config_in_cluster(&cfg, root, &err), 0);
	assert_string_equal(cfg->server, "https://[fd00::1]:6443");
	assert_string_equal(cfg->namespace, "gitsync");
	/* the token stays a file: kubelet rotates it */
	assert_non_null(strstr(cfg->token_file, "/sa/token"));
	assert_null(cfg->token);
	kube_config_free(cfg);
	unsetenv("KUBERNETES_SERVICE_HOST");
	unsetenv("KUBERNETES_SERVICE_PORT");
	free(root);
}

static void test_kube_config__base64_tolerates_newlines_and_rejects_garbage(void **state)
{
	struct gs_error err = GS_ERROR_INIT;
	char *out = NULL;
	size_t len = 0;
	(void)state;

	assert_int_equal(kube_base64_decode(&out, &len, "aGVs\nbG8=", &err), 0);
	assert_int_equal(len, 5);
	assert_string_equal(out, "hello");
	free(out);
	assert_int_equal(kube_base64_decode(&out, &len, "a$$$", &err), GS_EINVAL);
}

/* Request bodies are the engine's JSON (mf_json_emit): YAML-only number
 * spellings reach the API server as the values go-yaml v2 reads. */
static void test_kube_config__request_body_numbers_read_like_go_yaml(void **state)
{
	static const char y[] = "a: [1_000, 0o17, -0b101, 0x1F, .5, .nan, '0o17']\n";
	struct mf_docs d = MF_DOCS_INIT;
	struct gs_error err = GS_ERROR_INIT;
	struct gs_buf b = GS_BUF_INIT;
	(void)state;

	assert_int_equal(mf_yaml_parse(&d, y, strlen(y), "n.yaml", NULL, &err), GS_OK);
	assert_int_equal(mf_json_emit(&b, d.docs[0], 0), GS_OK);
	assert_string_equal(b.ptr, "{\"a\":[1000,15,-5,31,0.5,null,\"0o17\"]}");
	gs_buf_release(&b);
	mf_docs_release(&d);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_kube_config__current_context_token_and_ca_data),
		cmocka_unit_test(test_kube_config__request_body_numbers_read_like_go_yaml),
		cmocka_unit_test(test_kube_config__context_option_resolves_relative_paths),
		cmocka_unit_test(test_kube_config__exec_plugin_args_and_env),
		cmocka_unit_test(test_kube_config__tls_server_name_is_the_name_tls_asks_for),
		cmocka_unit_test(test_kube_config__exec_plugin_that_hangs_is_killed_at_its_timeout),
		cmocka_unit_test(test_kube_config__unknown_context_and_cluster_are_clear_errors),
		cmocka_unit_test(test_kube_config__kubeconfig_env_merges_first_wins),
		cmocka_unit_test(test_kube_config__in_cluster_reads_service_account),
		cmocka_unit_test(test_kube_config__base64_tolerates_newlines_and_rejects_garbage),
	};

	return cmocka_run_group_tests(tests, setup_dir, teardown_dir);
}
