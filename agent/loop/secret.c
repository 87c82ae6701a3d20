/* secret.c - the Secret gitsync-secret: webhook secrets and API tokens. */
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gs-alloc.h"
#include "loop/alog.h"
#include "loop/loop-private.h"

static char *b64_decode(const char *in, size_t *len_out)
{
	size_t n = strlen(in), cap = n / 4 * 3 + 4;
	unsigned char *out = gs_malloc(cap + 1);
	int len;

	len = EVP_DecodeBlock(out, (const unsigned char *)in, (int)n);
	if (len < 0) {
		free(out);
		return NULL;
	}
	/* EVP_DecodeBlock counts padding bytes as data */
	while (n && in[n - 1] == '=') {
		n--;
		len--;
	}
	out[len] = '\0';
	*len_out = (size_t)len;
	return (char *)out;
}

static char *secret_value(const struct mf_node *secret, const char *key, size_t *len)
{
	const char *v = mf_node_dig_str(secret, "data", key, NULL);

	*len = 0;
	return v ? b64_decode(v, len) : NULL;
}

/* Read the Secret and hand its values to the server when it changed.
 * Nothing of it is logged but key names and token counts. */
void agent_secret_load(struct agent *a, struct kube_client *kc)
{
	const struct kube_resource *res;
	struct mf_node *s = NULL;
	struct gs_error err = GS_ERROR_INIT;
	struct apitoken_table *tokens = NULL;
	struct httpd_secrets hs = { 0 };
	char *gh = NULL, *gl = NULL, *gt = NULL, *bb = NULL, *tok = NULL;
	const char *rv;
	size_t len;

	if (kube_client_resource(kc, &res, "", "v1", "Secret", &err) ||
	    kube_client_get(kc, &s, res, a->cfg->ns, SECRET_NAME, &err)) {
		if (err.code != GS_ENOTFOUND)
			alog_ratelimit(300, ALOG_WARN, NULL, NULL, "cannot read Secret %s/%s: %s",
				       a->cfg->ns, SECRET_NAME, err.msg);
		else
			alog_ratelimit(3600, ALOG_INFO, NULL, NULL,
				       "no Secret %s/%s: webhooks and API refused until it exists",
				       a->cfg->ns, SECRET_NAME);
		if (err.code == GS_ENOTFOUND && a->secret_rv) {
			/* deleted: revoke everything it granted */
			httpd_set_secrets(a->h, NULL, NULL);
			free(a->secret_rv);
			a->secret_rv = NULL;
			alog(ALOG_WARN, NULL, NULL, "Secret %s deleted: webhooks and API disabled",
			     SECRET_NAME);
		}
		goto cleanup;
	}
	rv = mf_node_dig_str(s, "metadata", "resourceVersion", NULL);
	if (a->secret_rv && rv && !strcmp(a->secret_rv, rv))
		goto cleanup;
	hs.github = gh = secret_value(s, "webhook.github.secret", &len);
	hs.gitlab = gl = secret_value(s, "webhook.gitlab.secret", &len);
	hs.gitea = gt = secret_value(s, "webhook.gitea.secret", &len);
	hs.bitbucketserver = bb = secret_value(s, "webhook.bitbucketserver.secret", &len);
	tok = secret_value(s, "api.tokens", &len);
	if (tok && apitoken_table_parse(&tokens, tok, len, &err)) {
		alog(ALOG_ERROR, NULL, NULL, "Secret %s key api.tokens: %s (API disabled)",
		     SECRET_NAME, err.msg);
		tokens = NULL;
	}
	httpd_set_secrets(a->h, &hs, tokens);
	alog(ALOG_INFO, NULL, NULL,
	     "loaded Secret %s: webhook secrets for%s%s%s%s, %zu API tokens", SECRET_NAME,
	     gh ? " github" : "", gl ? " gitlab" : "", gt ? " gitea" : "",
	     bb ? " bitbucketserver" : "", apitoken_table_count(tokens));
	free(a->secret_rv);
	a->secret_rv = rv ? gs_strdup(rv) : NULL;
cleanup:
	if (gh)
		OPENSSL_cleanse(gh, strlen(gh));
	if (gl)
		OPENSSL_cleanse(gl, strlen(gl));
	if (gt)
		OPENSSL_cleanse(gt, strlen(gt));
	if (bb)
		OPENSSL_cleanse(bb, strlen(bb));
	if (tok)
		OPENSSL_cleanse(tok, strlen(tok));
	free(gh);
	free(gl);
	free(gt);
	free(bb);
	free(tok);
	mf_node_free(s);
}
