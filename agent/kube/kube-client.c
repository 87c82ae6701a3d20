/* kube-client.c - libcurl transport: TLS, auth, rate limit, retries. */
#include "kube/kube-client.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>

#include "gs-time.h"
#include "gs-alloc.h"
#include "kube/kube-private.h"

#define BODY_MAX (512u << 20)
#define EXEC_OUT_MAX (1u << 20)


struct kube_client {
	const struct kube_config *cfg;
	struct kube_client_opts opts;
	struct kube_client_stats stats;
	CURL *curl;              /* synchronous requests */
	CURLSH *share;           /* DNS and TLS sessions shared by every handle */
	struct curl_slist *connect_to; /* tls-server-name: the server's address for it */
	CURLM *multi;            /* batches (kube-batch.c), made on first use */
	CURL **pool;             /* idle easy handles for batches */
	size_t npool, apool;
	/* token bucket */
	bool qps_default;        /* no explicit qps: off once APF is seen */
	bool apf;                /* the server does API Priority and Fairness */
	double tokens;
	double last_refill;
	unsigned rng;
	/* credentials that rotate */
	char *file_token;
	time_t file_token_mtime;
	double file_token_read;
	char *exec_token;
	double exec_expiry;      /* monotonic seconds; 0 = no expiry */
	struct kube_disc disc;
	kube_request_observer observer; /* optional, see kube_client_set_observer */
	void *observer_payload;
	kube_write_hook write_hook; /* optional, see kube_client_set_write_hook */
	void *write_hook_payload;
	char *impersonate;       /* Impersonate-User of writes, NULL = none */
};

void kube_client_set_impersonation(struct kube_client *kc, const char *user)
{
	free(kc->impersonate);
	kc->impersonate = user && *user ? gs_strdup(user) : NULL;
}

const char *kube_client_impersonation(const struct kube_client *kc)
{
	return kc->impersonate;
}

void kube_client_set_observer(struct kube_client *kc, kube_request_observer fn, void *payload)
{
	kc->observer = fn;
	kc->observer_payload = payload;
}

void kube_client_set_write_hook(struct kube_client *kc, kube_write_hook fn, void *payload)
{
	kc->write_hook = fn;
	kc->write_hook_payload = payload;
}

struct kube_disc *kube_client_disc(struct kube_client *kc)
{
	return &kc->disc;
}

struct kube_client_stats *kube_client_stats_mut(struct kube_client *kc)
{
	return &kc->stats;
}

static void sleep_ms(double ms)
{
	struct timespec ts;

	if (ms <= 0)
		return;
	ts.tv_sec = (time_t)(ms / 1000);
	ts.tv_nsec = (long)((ms - (double)ts.tv_sec * 1000) * 1e6);
	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

void kube_response_release(struct kube_response *r)
{
	gs_buf_release(&r->body);
	r->status = 0;
}

const struct kube_client_stats *kube_client_stats(const struct kube_client *kc)
{
	return &kc->stats;
}

static void free_gv(struct kube_gv_entry *gv)
{
	size_t i;

	for (i = 0; i < gv->n; i++) {
		free(gv->res[i].group);
		free(gv->res[i].version);
		free(gv->res[i].kind);
		free(gv->res[i].plural);
	}
	free(gv->res);
	free(gv->group);
	free(gv->version);
}

void kube_client_invalidate(struct kube_client *kc, const char *group, const char *version)
{
	struct kube_disc *d = &kc->disc;
	size_t i, j = 0;

	for (i = 0; i < d->ngv; i++) {
		if (!group || (!strcmp(d->gvs[i].group, group) &&
			       (!version || !strcmp(d->gvs[i].version, version)))) {
			GS_ALLOC_GROW(d->retired, d->nretired + 1, d->aretired);
			d->retired[d->nretired++] = d->gvs[i];
		} else
			d->gvs[j++] = d->gvs[i];
	}
	d->ngv = j;
	free(d->all);
	d->all = NULL;
	d->nall = 0;
	/* a new CRD may bring a new group: forget the group list too */
	for (i = 0; i < d->npreferred; i++)
		free(d->preferred[i]);
	free(d->preferred);
	d->preferred = NULL;
	d->npreferred = 0;
	d->groups_loaded = false;
}

void kube_client_free(struct kube_client *kc)
{
	size_t i;

	if (!kc)
		return;
	kube_client_invalidate(kc, NULL, NULL);
	for (i = 0; i < kc->disc.nretired; i++)
		free_gv(&kc->disc.retired[i]);
	free(kc->disc.retired);
	free(kc->disc.gvs);
	if (kc->curl)
		curl_easy_cleanup(kc->curl);
	for (i = 0; i < kc->npool; i++)
		curl_easy_cleanup(kc->pool[i]);
	free(kc->pool);
	if (kc->multi)
		curl_multi_cleanup(kc->multi);
	if (kc->share)
		curl_share_cleanup(kc->share);
	free(kc->impersonate);
	free(kc->file_token);
	free(kc->exec_token);
	curl_slist_free_all(kc->connect_to);
	free(kc);
}

/* A new easy handle set up for the client's cluster and user. */
static CURL *new_easy(struct kube_client *kc)
{
	const struct kube_config *cfg = kc->cfg;
	struct curl_blob blob;
	CURL *c = curl_easy_init();

	if (!c)
		return NULL;
	curl_easy_setopt(c, CURLOPT_SHARE, kc->share);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_USERAGENT, "gitsync/" GITSYNC_VERSION);
	curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, kc->opts.timeout_ms);
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, kc->opts.connect_timeout_ms);
	curl_easy_setopt(c, CURLOPT_TCP_KEEPALIVE, 1L);
	curl_easy_setopt(c, CURLOPT_ACCEPT_ENCODING, "");
	/* the API server speaks HTTP/2 over TLS; plain HTTP/1.1 otherwise.
	 * PIPEWAIT: in a batch, wait for the first connection to tell whether
	 * it multiplexes rather than open one connection per request */
	curl_easy_setopt(c, CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_2TLS);
	curl_easy_setopt(c, CURLOPT_PIPEWAIT, 1L);
	/* a request body is copied through a buffer of this size while it is
	 * sent: curl's default 64 KiB per transfer in flight was most of the
	 * memory each worker added in a burst (issue 20); bodies are small */
	curl_easy_setopt(c, CURLOPT_UPLOAD_BUFFERSIZE, 16384L);
	if (kc->connect_to) /* SNI and verification use the URL's host (tls-server-name) */
		curl_easy_setopt(c, CURLOPT_CONNECT_TO, kc->connect_to);
	if (cfg->proxy_url)
		curl_easy_setopt(c, CURLOPT_PROXY, cfg->proxy_url);
	else
		curl_easy_setopt(c, CURLOPT_PROXY, "");
	if (cfg->insecure) {
		curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 0L);
		curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 0L);
	} else if (cfg->ca_data) {
		blob.data = cfg->ca_data;
		blob.len = cfg->ca_len;
		blob.flags = CURL_BLOB_COPY;
		curl_easy_setopt(c, CURLOPT_CAINFO_BLOB, &blob);
	} else if (cfg->ca_file) {
		curl_easy_setopt(c, CURLOPT_CAINFO, cfg->ca_file);
	}
	if (cfg->cert_data) {
		blob.data = cfg->cert_data;
		blob.len = cfg->cert_len;
		blob.flags = CURL_BLOB_COPY;
		curl_easy_setopt(c, CURLOPT_SSLCERT_BLOB, &blob);
		curl_easy_setopt(c, CURLOPT_SSLCERTTYPE, "PEM");
	} else if (cfg->cert_file) {
		curl_easy_setopt(c, CURLOPT_SSLCERT, cfg->cert_file);
	}
	if (cfg->key_data) {
		blob.data = cfg->key_data;
		blob.len = cfg->key_len;
		blob.flags = CURL_BLOB_COPY;
		curl_easy_setopt(c, CURLOPT_SSLKEY_BLOB, &blob);
		curl_easy_setopt(c, CURLOPT_SSLKEYTYPE, "PEM");
	} else if (cfg->key_file) {
		curl_easy_setopt(c, CURLOPT_SSLKEY, cfg->key_file);
	}
	if (cfg->username && !cfg->token && !cfg->token_file && !cfg->exec) {
		curl_easy_setopt(c, CURLOPT_HTTPAUTH, (long)CURLAUTH_BASIC);
		curl_easy_setopt(c, CURLOPT_USERNAME, cfg->username);
		curl_easy_setopt(c, CURLOPT_PASSWORD, cfg->password ? cfg->password : "");
	}
	return c;
}

CURLM *kube_client_multi(struct kube_client *kc)
{
	if (!kc->multi) {
		kc->multi = curl_multi_init();
		if (!kc->multi)
			return NULL;
		/* HTTP/2: every request a stream of one connection; HTTP/1.1
		 * (a proxy, an old server): up to max_inflight connections */
		curl_multi_setopt(kc->multi, CURLMOPT_PIPELINING, (long)CURLPIPE_MULTIPLEX);
		curl_multi_setopt(kc->multi, CURLMOPT_MAX_HOST_CONNECTIONS,
				  (long)kc->opts.max_inflight);
		curl_multi_setopt(kc->multi, CURLMOPT_MAXCONNECTS, (long)kc->opts.max_inflight);
	}
	return kc->multi;
}

CURL *kube_client_easy_get(struct kube_client *kc)
{
	if (kc->npool)
		return kc->pool[--kc->npool];
	return new_easy(kc);
}

void kube_client_easy_put(struct kube_client *kc, CURL *c)
{
	GS_ALLOC_GROW(kc->pool, kc->npool + 1, kc->apool);
	kc->pool[kc->npool++] = c;
}

unsigned kube_client_max_inflight(const struct kube_client *kc)
{
	return kc->opts.max_inflight;
}

int kube_client_new(struct kube_client **out, const struct kube_config *cfg,
		    const struct kube_client_opts *opts, struct gs_error *err)
{
	struct kube_client *kc = gs_calloc(1, sizeof(*kc));

	if (opts)
		kc->opts = *opts;
	kc->qps_default = kc->opts.qps == 0;
	if (kc->opts.qps == 0)
		kc->opts.qps = KUBE_DEFAULT_QPS;
	if (!kc->opts.burst)
		kc->opts.burst = KUBE_DEFAULT_BURST;
	if (!kc->opts.max_retries)
		kc->opts.max_retries = 6;
	if (!kc->opts.timeout_ms)
		kc->opts.timeout_ms = 60000;
	if (!kc->opts.connect_timeout_ms)
		kc->opts.connect_timeout_ms = 10000;
	if (!kc->opts.backoff_base_ms)
		kc->opts.backoff_base_ms = 200;
	if (!kc->opts.backoff_max_ms)
		kc->opts.backoff_max_ms = 10000;
	if (!kc->opts.max_inflight)
		kc->opts.max_inflight = KUBE_DEFAULT_INFLIGHT;
	kc->cfg = cfg;
	if (cfg->connect_to)
		kc->connect_to = curl_slist_append(NULL, cfg->connect_to);
	kc->tokens = kc->opts.burst;
	kc->last_refill = gs_time_mono();
	kc->rng = (unsigned)getpid() ^ (unsigned)time(NULL);
	curl_global_init(CURL_GLOBAL_DEFAULT);
	kc->share = curl_share_init();
	if (kc->share) {
		curl_share_setopt(kc->share, CURLSHOPT_SHARE, CURL_LOCK_DATA_DNS);
		curl_share_setopt(kc->share, CURLSHOPT_SHARE, CURL_LOCK_DATA_SSL_SESSION);
	}
	kc->curl = new_easy(kc);
	if (!kc->curl) {
		kube_client_free(kc);
		return gs_error_set(err, GS_ERR, "cannot initialise libcurl");
	}
	*out = kc;
	return GS_OK;
}

/* ---- credentials ---- */

static int read_token_file(struct kube_client *kc, bool force, struct gs_error *err)
{
	struct gs_buf b = GS_BUF_INIT;
	struct stat st;
	double t = gs_time_mono();

	/* re-read when the file changed, at most once a second unless forced
	 * (kubelet rotates projected tokens well before expiry) */
	if (!force && kc->file_token && t - kc->file_token_read < 1.0)
		return GS_OK;
	if (stat(kc->cfg->token_file, &st) < 0)
		return gs_error_set(err, GS_EAUTH, "cannot read token file '%s': %s",
				    kc->cfg->token_file, strerror(errno));
	kc->file_token_read = t;
	if (!force && kc->file_token && st.st_mtime == kc->file_token_mtime)
		return GS_OK;
	b.max = 1 << 20;
	if (gs_buf_read_file(&b, kc->cfg->token_file, err) < 0) {
		gs_buf_release(&b);
		return gs_error_set(err, GS_EAUTH, "cannot read token file '%s'",
				    kc->cfg->token_file);
	}
	while (b.len && (b.ptr[b.len - 1] == '\n' || b.ptr[b.len - 1] == '\r' ||
			 b.ptr[b.len - 1] == ' '))
		b.ptr[--b.len] = '\0';
	free(kc->file_token);
	kc->file_token = gs_buf_detach(&b, NULL);
	kc->file_token_mtime = st.st_mtime;
	return GS_OK;
}

/* Run the exec credential plugin and read status.token. */
static int run_exec(struct kube_client *kc, struct gs_error *err)
{
	const struct kube_exec *ex = kc->cfg->exec;
	struct gs_buf outb = GS_BUF_INIT;
	char *info = NULL, **envp = NULL, **argv = NULL;
	size_t ne = 0, na = 0, i;
	int pipefd[2] = { -1, -1 }, status = 0, rc = GS_OK;
	cJSON *j = NULL;
	const cJSON *st, *tok, *exp;
	pid_t pid;
	char chunk[4096];
	ssize_t got;

	info = gs_asprintf("KUBERNETES_EXEC_INFO={\"apiVersion\":\"%s\",\"kind\":\"ExecCredential\","
			   "\"spec\":{\"interactive\":false}}", ex->api_version);
	while (environ[ne])
		ne++;
	for (i = 0; ex->env && ex->env[i]; i++)
		;
	envp = gs_calloc(ne + i + 2, sizeof(*envp));
	for (i = 0; i < ne; i++)
		envp[i] = environ[i];
	for (i = 0; ex->env && ex->env[i]; i++)
		envp[ne + i] = ex->env[i];
	envp[ne + i] = info;
	while (ex->args && ex->args[na])
		na++;
	argv = gs_calloc(na + 2, sizeof(*argv));
	argv[0] = ex->command;
	for (i = 0; i < na; i++)
		argv[i + 1] = ex->args[i];
	if (pipe(pipefd) < 0) {
		rc = gs_error_set(err, GS_EIO, "exec plugin: pipe: %s", strerror(errno));
		goto cleanup;
	}
	pid = fork();
	if (pid < 0) {
		rc = gs_error_set(err, GS_EIO, "exec plugin: fork: %s", strerror(errno));
		goto cleanup;
	}
	if (pid == 0) {
		int devnull = open("/dev/null", O_RDONLY);

		if (devnull >= 0)
			dup2(devnull, 0);
		dup2(pipefd[1], 1);
		close(pipefd[0]);
		execvpe(argv[0], argv, envp);
		fprintf(stderr, "gitsync: exec plugin '%s': %s\n", argv[0], strerror(errno));
		_exit(127);
	}
	close(pipefd[1]);
	pipefd[1] = -1;
	outb.max = EXEC_OUT_MAX;
	{
		/* a plugin that hangs (an SSO prompt nobody answers) must not
		 * hang every request: kill it at the deadline */
		double deadline = gs_time_mono() + (ex->timeout_s > 0 ? ex->timeout_s : 30);
		bool timed_out = false;

		for (;;) {
			struct pollfd pfd = { pipefd[0], POLLIN, 0 };
			double left = deadline - gs_time_mono();
			int pr;

			if (left <= 0) {
				timed_out = true;
				break;
			}
			pr = poll(&pfd, 1, (int)(left * 1000) + 1);
			if (pr < 0 && errno == EINTR)
				continue;
			if (pr <= 0)
				continue; /* timeout: the next turn sees the deadline */
			got = read(pipefd[0], chunk, sizeof(chunk));
			if (got < 0 && errno == EINTR)
				continue;
			if (got <= 0 || gs_buf_add(&outb, chunk, (size_t)got) < 0)
				break;
		}
		if (timed_out) {
			kill(pid, SIGKILL);
			while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
				;
			rc = gs_error_set(err, GS_EAUTH,
					  "exec credential plugin '%s' did not answer within %.0f s "
					  "(killed)", ex->command,
					  ex->timeout_s > 0 ? ex->timeout_s : 30);
			goto cleanup;
		}
	}
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
		rc = gs_error_set(err, GS_EAUTH, "exec credential plugin '%s' failed (status %d)",
				  ex->command, WIFEXITED(status) ? WEXITSTATUS(status) : -1);
		goto cleanup;
	}
	j = cJSON_ParseWithLength(outb.ptr, outb.len);
	st = cJSON_GetObjectItemCaseSensitive(j, "status");
	tok = cJSON_GetObjectItemCaseSensitive(st, "token");
	exp = cJSON_GetObjectItemCaseSensitive(st, "expirationTimestamp");
	if (!cJSON_IsString(tok) || !tok->valuestring[0]) {
		/* client certificates from plugins are not wired into curl's
		 * handle yet: say so instead of failing obscurely */
		rc = gs_error_set(err, GS_EAUTH, "exec credential plugin '%s' returned no "
				  "status.token (client certificates from plugins are not "
				  "supported)", ex->command);
		goto cleanup;
	}
	free(kc->exec_token);
	kc->exec_token = gs_strdup(tok->valuestring);
	kc->exec_expiry = 0;
	if (cJSON_IsString(exp)) {
		struct gs_error terr = GS_ERROR_INIT;
		double t;

		/* expiry is wall time; the deadline is kept on the monotonic clock */
		if (!gs_time_parse_rfc3339(&t, exp->valuestring, &terr))
			kc->exec_expiry = gs_time_mono() + (t - gs_time_wall()) - 10;
	}
cleanup:
	if (pipefd[0] >= 0)
		close(pipefd[0]);
	if (pipefd[1] >= 0)
		close(pipefd[1]);
	cJSON_Delete(j);
	gs_buf_release(&outb);
	free(info);
	free(envp);
	free(argv);
	return rc;
}

/* The bearer token for the next request, or NULL (cert/basic/anonymous). */
static int current_token(struct kube_client *kc, const char **tok, bool force,
			 struct gs_error *err)
{
	int rc;

	*tok = NULL;
	if (kc->cfg->exec) {
		if (force || !kc->exec_token || (kc->exec_expiry && gs_time_mono() >= kc->exec_expiry))
			if ((rc = run_exec(kc, err)) < 0)
				return rc;
		*tok = kc->exec_token;
		return GS_OK;
	}
	if (kc->cfg->token_file) {
		if ((rc = read_token_file(kc, force, err)) < 0)
			return rc;
		*tok = kc->file_token;
		return GS_OK;
	}
	*tok = kc->cfg->token;
	return GS_OK;
}

/* ---- transport ---- */

/* Take a rate-limit token.  true when one was taken; else *wait_ms says
 * when the next one is due (the caller sleeps or polls until then). */
bool kube_client_rate_take(struct kube_client *kc, double *wait_ms)
{
	double t;

	*wait_ms = 0;
	/* A server doing API Priority and Fairness (on by default since
	 * v1.20) queues or rejects with 429 + Retry-After, which we honour:
	 * it knows its load, a fixed client-side guess does not (Flux and
	 * cert-manager drop their limiter the same way).  max_inflight still
	 * bounds what one client asks at once. */
	if (kc->opts.qps < 0 || (kc->qps_default && kc->apf))
		return true;
	t = gs_time_mono();
	kc->tokens += (t - kc->last_refill) * kc->opts.qps;
	if (kc->tokens > kc->opts.burst)
		kc->tokens = kc->opts.burst;
	kc->last_refill = t;
	if (kc->tokens < 1) {
		*wait_ms = (1 - kc->tokens) / kc->opts.qps * 1000;
		return false;
	}
	kc->tokens -= 1;
	return true;
}

static void rate_limit(struct kube_client *kc)
{
	double wait_ms;

	while (!kube_client_rate_take(kc, &wait_ms)) {
		sleep_ms(wait_ms);
		kc->stats.throttled_ms += (unsigned long)wait_ms;
	}
}

static size_t on_body(char *data, size_t size, size_t nmemb, void *userdata)
{
	struct gs_buf *b = userdata;

	if (gs_buf_add(b, data, size * nmemb) < 0)
		return 0; /* curl reports CURLE_WRITE_ERROR */
	return size * nmemb;
}

static size_t on_header(char *data, size_t size, size_t nmemb, void *userdata)
{
	struct kube_xfer *x = userdata;
	size_t n = size * nmemb;

	if (n > 12 && !strncasecmp(data, "Retry-After:", 12)) {
		char *end;
		long v = strtol(data + 12, &end, 10);

		if (end != data + 12 && v >= 0)
			x->retry_after_s = v;
	} else if (n > 34 && !strncasecmp(data, "X-Kubernetes-PF-PriorityLevel-UID:", 34)) {
		x->apf = true;
	}
	return n;
}

static bool retryable_curl(CURLcode cc, bool idempotent)
{
	switch (cc) {
	case CURLE_COULDNT_CONNECT:
	case CURLE_COULDNT_RESOLVE_HOST:
		return true; /* nothing was sent */
	case CURLE_SEND_ERROR:
	case CURLE_RECV_ERROR:
	case CURLE_GOT_NOTHING:
	case CURLE_PARTIAL_FILE:
	case CURLE_OPERATION_TIMEDOUT:
	case CURLE_HTTP2:
	case CURLE_HTTP2_STREAM:
	case CURLE_SSL_CONNECT_ERROR:
		return idempotent;
	default:
		return false;
	}
}

static double backoff_ms(struct kube_client *kc, unsigned attempt)
{
	double cap = (double)kc->opts.backoff_base_ms * (double)(1u << (attempt < 16 ? attempt : 16));

	if (cap > kc->opts.backoff_max_ms)
		cap = kc->opts.backoff_max_ms;
	/* "full jitter": uniform in [cap/2, cap] keeps a floor so a flapping
	 * server is not hammered, yet spreads clients apart */
	return cap / 2 + cap / 2 * ((double)(rand_r(&kc->rng) % 1000) / 1000.0);
}

void kube_xfer_init(struct kube_xfer *x, const char *method, const char *path,
		    const char *content_type, const char *body, size_t len)
{
	memset(x, 0, sizeof(*x));
	x->method = method;
	x->path = path;
	x->content_type = content_type;
	x->body = body;
	x->len = len;
	x->idempotent = strcmp(method, "POST") != 0 &&
			(strcmp(method, "PATCH") != 0 ||
			 (content_type && strstr(content_type, "apply-patch")));
	x->resp = (struct kube_response)KUBE_RESPONSE_INIT;
}

void kube_xfer_release(struct kube_xfer *x)
{
	curl_slist_free_all(x->hdrs);
	x->hdrs = NULL;
	free(x->url);
	x->url = NULL;
	kube_response_release(&x->resp);
}

/* Set up easy handle c for the next attempt of x (token, headers, method).
 * The rate-limit token has been taken by the caller. */
int kube_xfer_setup(struct kube_client *kc, struct kube_xfer *x, CURL *c, struct gs_error *err)
{
	const char *tok = NULL;
	char *line;
	int rc;

	if ((rc = current_token(kc, &tok, false, err)) < 0)
		return rc;
	if (!x->url)
		x->url = gs_asprintf("%s%s", kc->cfg->server, x->path);
	gs_buf_reset(&x->resp.body);
	x->resp.body.max = BODY_MAX;
	x->resp.status = 0;
	x->retry_after_s = -1;
	x->errbuf[0] = '\0';
	curl_slist_free_all(x->hdrs);
	x->hdrs = curl_slist_append(NULL, "Accept: application/json");
	if (tok && tok[0]) {
		line = gs_asprintf("Authorization: Bearer %s", tok);
		x->hdrs = curl_slist_append(x->hdrs, line);
		free(line);
	}
	if (kc->impersonate && strcmp(x->method, "GET")) {
		/* writes only: reads (LIST by label, GET, discovery, watches)
		 * stay the agent's, so a tenant's account needs no cluster-wide
		 * read rights for the agent to find what its app manages */
		line = gs_asprintf("Impersonate-User: %s", kc->impersonate);
		x->hdrs = curl_slist_append(x->hdrs, line);
		free(line);
	}
	if (x->content_type) {
		line = gs_asprintf("Content-Type: %s", x->content_type);
		x->hdrs = curl_slist_append(x->hdrs, line);
		free(line);
	}
	curl_easy_setopt(c, CURLOPT_ERRORBUFFER, x->errbuf);
	curl_easy_setopt(c, CURLOPT_URL, x->url);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, x->hdrs);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, &x->resp.body);
	curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(c, CURLOPT_HEADERDATA, x);
	curl_easy_setopt(c, CURLOPT_PRIVATE, x);
	if (!strcmp(x->method, "GET")) {
		curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, NULL);
		curl_easy_setopt(c, CURLOPT_HTTPGET, 1L);
	} else {
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, x->body ? x->body : "");
		curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE,
				 (curl_off_t)(x->body ? x->len : 0));
		curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, x->method);
	}
	kc->stats.requests++;
	if (x->attempt)
		kc->stats.retries++;
	return GS_OK;
}

/* What to do after an attempt of x ended with cc: done (rc in *rc_out, an
 * error set when the server could not be reached), or retry after
 * *delay_ms (0 = at once). */
enum kube_xfer_next kube_xfer_finish(struct kube_client *kc, struct kube_xfer *x, CURL *c,
				     CURLcode cc, double *delay_ms, int *rc_out,
				     struct gs_error *err)
{
	const char *tok;
	int rc;

	*delay_ms = 0;
	*rc_out = GS_OK;
	if (x->apf)
		kc->apf = true;
	if (cc == CURLE_OK)
		curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &x->resp.status);
	if (kc->observer)
		kc->observer(x->method, cc == CURLE_OK ? x->resp.status : 0, kc->observer_payload);
	if (kc->write_hook && strcmp(x->method, "GET") && !strstr(x->path, "dryRun="))
		kc->write_hook(x->path, cc == CURLE_OK ? x->resp.status : 0, &x->resp.body,
			       kc->write_hook_payload);
	if (cc == CURLE_WRITE_ERROR && x->resp.body.len >= BODY_MAX - 65536) {
		*rc_out = gs_error_set(err, GS_ELIMIT, "%s %s: response larger than %u MiB",
				       x->method, x->path, BODY_MAX >> 20);
		return KUBE_XFER_DONE;
	}
	if (cc == CURLE_OK && x->resp.status == 401 && !x->reauthed &&
	    (kc->cfg->exec || kc->cfg->token_file)) {
		/* rotated credentials: refresh once and retry at once */
		x->reauthed = true;
		x->attempt++;
		if ((rc = current_token(kc, &tok, true, err)) < 0) {
			*rc_out = rc;
			return KUBE_XFER_DONE;
		}
		return KUBE_XFER_RETRY;
	}
	if (cc == CURLE_OK && x->resp.status != 429 && x->resp.status < 500)
		return KUBE_XFER_DONE;
	if (cc == CURLE_OK && x->resp.status >= 500 && x->resp.status != 503 &&
	    x->resp.status != 504 && x->resp.status != 502 && x->resp.status != 500)
		return KUBE_XFER_DONE;
	if ((cc != CURLE_OK && !retryable_curl(cc, x->idempotent)) ||
	    /* 429 means "not processed": safe even for POST; 5xx only when idempotent */
	    (cc == CURLE_OK && x->resp.status != 429 && !x->idempotent) ||
	    x->attempt >= kc->opts.max_retries) {
		if (cc != CURLE_OK)
			*rc_out = gs_error_set(err, GS_ENET, "%s %s: %s", x->method, x->url,
					       x->errbuf[0] ? x->errbuf : curl_easy_strerror(cc));
		return KUBE_XFER_DONE;
	}
	*delay_ms = backoff_ms(kc, x->attempt);
	if (x->retry_after_s >= 0) {
		double ra = (double)(x->retry_after_s > 30 ? 30 : x->retry_after_s) * 1000;

		if (ra > *delay_ms)
			*delay_ms = ra;
	}
	x->attempt++;
	return KUBE_XFER_RETRY;
}

int kube_client_request(struct kube_client *kc, const char *method, const char *path,
			const char *content_type, const char *body, size_t len,
			struct kube_response *r, struct gs_error *err)
{
	struct kube_xfer x;
	int rc = GS_OK;

	kube_xfer_init(&x, method, path, content_type, body, len);
	for (;;) {
		double delay;
		CURLcode cc;

		rate_limit(kc);
		if ((rc = kube_xfer_setup(kc, &x, kc->curl, err)) < 0)
			break;
		cc = curl_easy_perform(kc->curl);
		if (kube_xfer_finish(kc, &x, kc->curl, cc, &delay, &rc, err) == KUBE_XFER_DONE)
			break;
		sleep_ms(delay);
	}
	curl_easy_setopt(kc->curl, CURLOPT_ERRORBUFFER, NULL); /* x.errbuf dies here */
	/* hand the body over */
	gs_buf_release(&r->body);
	r->body = x.resp.body;
	r->status = x.resp.status;
	x.resp.body = (struct gs_buf)GS_BUF_INIT;
	kube_xfer_release(&x);
	return rc;
}

int kube_status_error(const struct kube_response *r, struct gs_error *err)
{
	cJSON *j = cJSON_ParseWithLength(r->body.ptr, r->body.len);
	const cJSON *msg = cJSON_GetObjectItemCaseSensitive(j, "message");
	enum gs_code code;
	int rc;

	switch (r->status) {
	case 404: code = GS_ENOTFOUND; break;
	case 409: code = GS_ECONFLICT; break;
	case 401:
	case 403: code = GS_EAUTH; break;
	case 400:
	case 422: code = GS_EINVAL; break;
	default: code = GS_ERR;
	}
	if (cJSON_IsString(msg))
		rc = gs_error_set(err, code, "%s", msg->valuestring);
	else
		rc = gs_error_set(err, code, "server answered %ld: %.200s", r->status,
				  r->body.len ? r->body.ptr : "(empty body)");
	cJSON_Delete(j);
	return rc;
}
