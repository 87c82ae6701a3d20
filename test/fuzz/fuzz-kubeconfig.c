/* fuzz-kubeconfig.c - the kubeconfig reader.
 *
 * A kubeconfig comes from the user's disk or $KUBECONFIG, but also from CI
 * variables and Secrets that others write, and it carries base64 blobs,
 * relative paths, exec plugin argv/env lists: input is parsed as YAML with
 * small limits, then every document is resolved with the current context
 * and with a context named by the input's first byte pair, so lookups that
 * miss, half-filled entries and bad base64 are all reached.  Nothing is
 * executed or read from disk here (exec plugins and files are used later by
 * the client).  Invariants checked on success: a server without a trailing
 * slash, a namespace, consistent data lengths.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "kube/kube-config.h"
#include "mf-yaml.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(const struct kube_config *cfg)
{
	size_t n;

	if (!cfg->server || !cfg->namespace || !cfg->context)
		abort();
	n = strlen(cfg->server);
	if (n && cfg->server[n - 1] == '/')
		abort();
	if ((cfg->ca_len && !cfg->ca_data) || (cfg->cert_len && !cfg->cert_data) ||
	    (cfg->key_len && !cfg->key_data))
		abort();
	if (cfg->exec && !cfg->exec->command)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const struct mf_yaml_limits lim = {
		.max_doc_bytes = 1 << 20,
		.max_depth = 64,
		.max_alias_nodes = 10000,
		.max_scalar_bytes = 1 << 18,
		.max_alias_bytes = 1 << 20,
	};
	static const char *contexts[] = { NULL, "", "prod", "dev", "a" };
	struct mf_docs docs = MF_DOCS_INIT;
	struct gs_error err = GS_ERROR_INIT;
	size_t i, j;

	if (mf_yaml_parse(&docs, (const char *)data, size, "kubeconfig", &lim, &err))
		return 0;
	for (i = 0; i < docs.n; i++) {
		for (j = 0; j < sizeof(contexts) / sizeof(contexts[0]); j++) {
			struct kube_config *cfg = NULL;

			gs_error_clear(&err);
			if (kube_config_from_node(&cfg, docs.docs[i], j % 2 ? "/fuzz/dir" : NULL,
						  contexts[j], &err) == 0) {
				check(cfg);
				kube_config_free(cfg);
			} else if (cfg) {
				abort(); /* on error nothing is returned */
			}
		}
	}
	mf_docs_release(&docs);
	return 0;
}
