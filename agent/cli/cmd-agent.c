/* cmd-agent.c - `gitsync agent`: run the reconciling agent (loop/agent.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli-sync.h"
#include "cli/cli.h"
#include "gs-alloc.h"
#include "gs-time.h"
#include "loop/agent.h"
#include "loop/alog.h"
#include "render/render.h"

static bool positive_duration(const char *v)
{
	return gs_time_parse_duration(v) > 0;
}

static bool valid_workers(const char *v)
{
	char *end = NULL;
	unsigned long n = strtoul(v, &end, 10);

	return *v && !*end && n >= 1 && n <= 64;
}

static bool valid_bytes(const char *v)
{
	char *end = NULL;
	unsigned long long n = strtoull(v, &end, 10);

	return *v && !*end && n >= 1024;
}

static bool valid_count(const char *v)
{
	char *end = NULL;
	unsigned long long n = strtoull(v, &end, 10);

	return *v && !*end && n >= 1;
}

static size_t count(const struct cli_args *a, const char *name)
{
	const char *v = cli_args_str(a, name);

	return v ? (size_t)strtoull(v, NULL, 10) : 0;
}

static bool valid_level(const char *v)
{
	return alog_level_parse(v) >= 0;
}

#define DUR(name, help) { name, 0, CLI_OPT_STRING, "D", help, NULL, NULL, positive_duration }

static const struct cli_opt agent_opts[] = {
	{ "namespace", 'n', CLI_OPT_STRING, "NS",
	  "agent namespace: Lease, Secret gitsync-secret,\n"
	  "default for API calls (default: gitsync)", NULL, NULL, NULL },
	{ "app-namespaces", 0, CLI_OPT_LIST, "GLOB[,GLOB]",
	  "also read Applications in these namespaces\n"
	  "(default: the agent's namespace only; others are\nignored)", NULL, NULL, NULL },
	{ "app-namespace", 0, CLI_OPT_LIST, "NS", "adds one namespace (repeatable)", NULL, NULL,
	  NULL },
	{ "default-service-account", 0, CLI_OPT_STRING, "NAME",
	  "apps without a service account (project\n"
	  "destinationServiceAccounts, spec.destination.\n"
	  "serviceAccountName) write as NAME of their namespace", NULL, NULL, NULL },
	{ "listen", 0, CLI_OPT_STRING, "ADDR:PORT", "HTTP(S) address (default :8080)", NULL, NULL,
	  NULL },
	{ "tls-cert", 0, CLI_OPT_STRING, "FILE", "serve HTTPS (with --tls-key)", NULL, NULL, NULL },
	{ "tls-key", 0, CLI_OPT_STRING, "FILE", "the key of --tls-cert", NULL, NULL, NULL },
	DUR("poll-interval", "fetch interval per app (default 3m; an app may set\n"
			     "the annotation gitsync.io/poll-interval)"),
	DUR("resync-interval", "retry interval when Applications cannot be watched\n(default 3s)"),
	DUR("self-heal-interval", "drift check interval for selfHeal apps (default 5s)"),
	{ "workers", 0, CLI_OPT_STRING, "N", "reconcile workers, 1..64 (default 3)", NULL, NULL,
	  valid_workers },
	{ "max-workers", 0, CLI_OPT_STRING, "N",
	  "workers at most, started while some are held by one app\nor many apps are due, 1..64 "
	  "(default --workers + 16)",
	  NULL, NULL, valid_workers },
	{ "leader-elect", 0, CLI_OPT_STRING, "BOOL", "only the Lease holder reconciles", "true",
	  "true|false", NULL },
	{ "identity", 0, CLI_OPT_STRING, "ID", "leader election identity (default hostname_pid)",
	  NULL, NULL, NULL },
	DUR("lease-duration", "Lease duration (default 15s)"),
	DUR("renew-deadline", "Lease renew deadline (default 10s)"),
	DUR("retry-period", "Lease retry period (default 2s)"),
	DUR("shutdown-grace", "time to finish work in flight on SIGTERM (default 25s)"),
	{ "webhook-max-bytes", 0, CLI_OPT_STRING, "N", "webhook body limit (default 2097152)", NULL,
	  NULL, valid_bytes },
	{ "health-listen", 0, CLI_OPT_STRING, "ADDR:PORT",
	  "second listener for /healthz /readyz /metrics only,\n"
	  "answered while the main port is saturated", NULL, NULL, NULL },
	{ "render-max-nodes", 0, CLI_OPT_STRING, "N",
	  "render budget: YAML nodes read or built (default 1000000)", NULL, NULL, valid_count },
	{ "render-max-files", 0, CLI_OPT_STRING, "N", "render budget: files read (default 200000)",
	  NULL, NULL, valid_count },
	{ "render-max-output", 0, CLI_OPT_STRING, "N",
	  "render budget: bytes of rendered objects (default 67108864)", NULL, NULL, valid_count },
	DUR("render-timeout", "render budget: wall time (default 60s)"),
	{ "render-max-memory", 0, CLI_OPT_STRING, "N",
	  "address space of the render child (default 1073741824)", NULL, NULL, valid_count },
	{ "render-in-process", 0, CLI_OPT_BOOL, NULL,
	  "render in the agent process (no child; budget still applies)", NULL, NULL, NULL },
	{ "cache-dir", 0, CLI_OPT_STRING, "DIR",
	  "Git cache (default $GITSYNC_CACHE_DIR or /tmp/gitsync-cache)", NULL, NULL, NULL },
	{ "helm", 0, CLI_OPT_STRING, "PATH",
	  "helm binary rendering Helm charts (default $GITSYNC_HELM,\n"
	  "else helm on PATH)", NULL, NULL, NULL },
	DUR("helm-timeout", "time limit of one helm run (default 60s)"),
	{ "lua-dir", 0, CLI_OPT_STRING, "DIR",
	  "Lua health checks, DIR/<group>/<kind>/health.lua (Argo CD's\n"
	  "layout); the ConfigMap gitsync-health of the namespace wins", NULL, NULL, NULL },
	{ "log-format", 0, CLI_OPT_STRING, "FORMAT", "json or logfmt", "json", "json|logfmt", NULL },
	{ "log-level", 0, CLI_OPT_STRING, "LEVEL", "debug, info, warn or error", "info", NULL,
	  valid_level },
	CLI_OPT_END,
};

static const struct cli_cmd agent_cmd = {
	"agent", "[options]",
	"Run the agent: keep every Application in sync, serve webhooks, the API,\n"
	"probes and metrics.  In a pod it uses the in-cluster service account;\n"
	"elsewhere a kubeconfig, like kubectl.\n",
	agent_opts, "cluster options", cli_cluster_opts, NULL, 0, 0,
};

static double dur(const struct cli_args *a, const char *name)
{
	const char *v = cli_args_str(a, name);

	return v ? gs_time_parse_duration(v) : 0;
}

int cmd_agent(int argc, char **argv)
{
	struct agent_config cfg = { 0 };
	struct gs_error err = GS_ERROR_INIT;
	struct cli_args args = CLI_ARGS_INIT;
	const char **nss = NULL;
	char **globs = NULL;
	size_t n1 = 0, n2 = 0, k;
	size_t nns = 0;
	int fmt = ALOG_JSON, lvl = ALOG_INFO;
	int rc = CLI_EXIT_OK;
	const char *v;
	char *render_exe = NULL;
	struct render_memo *render_memo = NULL;

	if ((rc = cli_opt_parse(&args, &agent_cmd, argc, argv)) || args.help)
		goto out;
	cfg.ns = cli_args_str(&args, "namespace");
	{
		/* --app-namespace NS and --app-namespaces GLOB[,GLOB]: one list of
		 * pointers into copies kept until the end */
		const char *const *one = cli_args_list(&args, "app-namespace", &n1);
		const char *const *many = cli_args_list(&args, "app-namespaces", &n2);

		for (k = 0; k < n1; k++) {
			nss = gs_realloc(nss, (nns + 1) * sizeof(*nss));
			nss[nns++] = one[k];
		}
		globs = gs_calloc(n2 + 1, sizeof(*globs));
		for (k = 0; k < n2; k++) {
			char *item, *save = NULL;

			globs[k] = gs_strdup(many[k]);
			for (item = strtok_r(globs[k], ",", &save); item;
			     item = strtok_r(NULL, ",", &save)) {
				nss = gs_realloc(nss, (nns + 1) * sizeof(*nss));
				nss[nns++] = item;
			}
		}
	}
	cfg.default_sa = cli_args_str(&args, "default-service-account");
	cfg.lua_dir = cli_args_str(&args, "lua-dir");
	cfg.helm = cli_args_str(&args, "helm");
	cfg.listen = cli_args_str(&args, "listen");
	cfg.tls_cert = cli_args_str(&args, "tls-cert");
	cfg.tls_key = cli_args_str(&args, "tls-key");
	cfg.poll_s = dur(&args, "poll-interval");
	cfg.resync_s = dur(&args, "resync-interval");
	cfg.self_heal_s = dur(&args, "self-heal-interval");
	cfg.lease_s = dur(&args, "lease-duration");
	cfg.renew_s = dur(&args, "renew-deadline");
	cfg.retry_s = dur(&args, "retry-period");
	cfg.shutdown_grace_s = dur(&args, "shutdown-grace");
	if ((v = cli_args_str(&args, "workers")))
		cfg.workers = (unsigned)strtoul(v, NULL, 10);
	if ((v = cli_args_str(&args, "max-workers")))
		cfg.max_workers = (unsigned)strtoul(v, NULL, 10);
	if ((v = cli_args_str(&args, "webhook-max-bytes")))
		cfg.webhook_max_bytes = (size_t)strtoull(v, NULL, 10);
	cfg.leader_elect = !strcmp(cli_args_str(&args, "leader-elect"), "true");
	cfg.identity = cli_args_str(&args, "identity");
	cfg.cache_dir = cli_args_str(&args, "cache-dir");
	cfg.health_listen = cli_args_str(&args, "health-listen");
	cfg.render.budget.max_seconds = dur(&args, "render-timeout");
	cfg.helm_timeout_s = dur(&args, "helm-timeout");
	cfg.render.budget.max_nodes = count(&args, "render-max-nodes");
	cfg.render.budget.max_files = count(&args, "render-max-files");
	cfg.render.max_output = count(&args, "render-max-output");
	cfg.render.max_memory = count(&args, "render-max-memory");
	fmt = alog_format_parse(cli_args_str(&args, "log-format"));
	lvl = alog_level_parse(cli_args_str(&args, "log-level"));
	cfg.kubeconfig = cli_args_str(&args, "kubeconfig");
	cfg.context = cli_args_str(&args, "context");
	if (!cfg.tls_cert != !cfg.tls_key) {
		rc = cli_usage_error("agent", "--tls-cert and --tls-key go together");
		goto out;
	}
	cfg.app_namespaces = nss;
	cfg.n_app_namespaces = nns;
	if (!cli_args_bool(&args, "render-in-process"))
		cfg.render.exe = render_exe = render_default_exe();
	/* an unchanged app's re-compare (every poll) runs no render child */
	cfg.render.memo = render_memo = render_memo_new(RENDER_MEMO_ENTRIES, RENDER_MEMO_BYTES);
	alog_setup((enum alog_format)fmt, (enum alog_level)lvl);
	if (agent_run(&cfg, &err))
		rc = cli_error(&err);
out:
	for (k = 0; globs && globs[k]; k++)
		free(globs[k]);
	free(globs);
	free(nss);
	free(render_exe);
	render_memo_free(render_memo);
	cli_args_release(&args);
	return rc;
}
