/* cmd-agent.c - `gitsync agent`: run the reconciling agent (loop/agent.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "gs-alloc.h"
#include "loop/agent.h"
#include "loop/alog.h"

static const char usage[] =
	"usage: gitsync agent [options]\n"
	"\n"
	"Run the agent: keep every Application in sync, serve webhooks, the API,\n"
	"probes and metrics.  In a pod it uses the in-cluster service account;\n"
	"elsewhere a kubeconfig, like kubectl.\n"
	"\n"
	"  --namespace NS           agent namespace: Lease, Secret gitsync-secret,\n"
	"                           default for API calls (default: gitsync)\n"
	"  --app-namespaces GLOB[,GLOB]  also read Applications in these namespaces\n"
	"                           (default: the agent's namespace only; others are\n"
	"                           ignored); --app-namespace NS adds one (repeatable)\n"
	"  --default-service-account NAME  apps without a service account (project\n"
	"                           destinationServiceAccounts, spec.destination.\n"
	"                           serviceAccountName) write as NAME of their namespace\n"
	"  --listen ADDR:PORT       HTTP(S) address (default :8080)\n"
	"  --tls-cert FILE --tls-key FILE   serve HTTPS\n"
	"  --poll-interval D        fetch interval per app (default 3m; an app may set\n"
	"                           the annotation gitsync.io/poll-interval)\n"
	"  --resync-interval D      retry interval when Applications cannot be watched (default 3s)\n"
	"  --self-heal-interval D   drift check interval for selfHeal apps (default 5s)\n"
	"  --workers N              reconcile workers (default 3)\n"
	"  --leader-elect=true|false  only the Lease holder reconciles (default true)\n"
	"  --identity ID            leader election identity (default hostname_pid)\n"
	"  --lease-duration D --renew-deadline D --retry-period D  (15s, 10s, 2s)\n"
	"  --shutdown-grace D       time to finish work in flight on SIGTERM (25s)\n"
	"  --webhook-max-bytes N    webhook body limit (default 2097152)\n"
	"  --cache-dir DIR          Git cache (default $GITSYNC_CACHE_DIR or /tmp/gitsync-cache)\n"
	"  --lua-dir DIR            Lua health checks, DIR/<group>/<kind>/health.lua (Argo CD's\n"
	"                           layout); the ConfigMap gitsync-health of the namespace wins\n"
	"  --log-format json|logfmt (default json)\n"
	"  --log-level debug|info|warn|error (default info)\n"
	"  --kubeconfig FILE --context NAME\n";

static const char *opt_value(int argc, char **argv, int *i, const char *name)
{
	size_t n = strlen(name);

	if (!strncmp(argv[*i], name, n) && argv[*i][n] == '=')
		return argv[*i] + n + 1;
	if (!strcmp(argv[*i], name) && *i + 1 < argc)
		return argv[++*i];
	return NULL;
}

static int duration_opt(const char *v, double *out, const char *name)
{
	*out = agent_parse_duration(v);
	if (*out <= 0)
		return cli_usage_error("agent", "invalid duration '%s' for %s", v, name);
	return 0;
}

int cmd_agent(int argc, char **argv)
{
	struct agent_config cfg = { 0 };
	struct gs_error err = GS_ERROR_INIT;
	const char **nss = NULL;
	char **globs = NULL;
	size_t nns = 0, nglobs = 0, k;
	int fmt = ALOG_JSON, lvl = ALOG_INFO;
	int i, rc = CLI_EXIT_OK;
	const char *v;

	if (cli_wants_help(argc, argv)) {
		fputs(usage, stdout);
		return CLI_EXIT_OK;
	}
	cfg.leader_elect = true;
	for (i = 1; i < argc; i++) {
		if ((v = opt_value(argc, argv, &i, "--namespace")) ||
		    (v = opt_value(argc, argv, &i, "-n"))) {
			cfg.ns = v;
		} else if ((v = opt_value(argc, argv, &i, "--app-namespace"))) {
			nss = gs_realloc(nss, (nns + 1) * sizeof(*nss));
			nss[nns++] = v;
		} else if ((v = opt_value(argc, argv, &i, "--app-namespaces"))) {
			/* GLOB[,GLOB]: pointers into a copy kept until the end */
			char *item, *save = NULL;
			globs = gs_realloc(globs, (nglobs + 1) * sizeof(*globs));
			globs[nglobs] = gs_strdup(v);
			for (item = strtok_r(globs[nglobs++], ",", &save); item;
			     item = strtok_r(NULL, ",", &save)) {
				nss = gs_realloc(nss, (nns + 1) * sizeof(*nss));
				nss[nns++] = item;
			}
		} else if ((v = opt_value(argc, argv, &i, "--default-service-account"))) {
			cfg.default_sa = v;
		} else if ((v = opt_value(argc, argv, &i, "--listen"))) {
			cfg.listen = v;
		} else if ((v = opt_value(argc, argv, &i, "--tls-cert"))) {
			cfg.tls_cert = v;
		} else if ((v = opt_value(argc, argv, &i, "--tls-key"))) {
			cfg.tls_key = v;
		} else if ((v = opt_value(argc, argv, &i, "--poll-interval"))) {
			if ((rc = duration_opt(v, &cfg.poll_s, "--poll-interval")))
				goto out;
		} else if ((v = opt_value(argc, argv, &i, "--resync-interval"))) {
			if ((rc = duration_opt(v, &cfg.resync_s, "--resync-interval")))
				goto out;
		} else if ((v = opt_value(argc, argv, &i, "--self-heal-interval"))) {
			if ((rc = duration_opt(v, &cfg.self_heal_s, "--self-heal-interval")))
				goto out;
		} else if ((v = opt_value(argc, argv, &i, "--lease-duration"))) {
			if ((rc = duration_opt(v, &cfg.lease_s, "--lease-duration")))
				goto out;
		} else if ((v = opt_value(argc, argv, &i, "--renew-deadline"))) {
			if ((rc = duration_opt(v, &cfg.renew_s, "--renew-deadline")))
				goto out;
		} else if ((v = opt_value(argc, argv, &i, "--retry-period"))) {
			if ((rc = duration_opt(v, &cfg.retry_s, "--retry-period")))
				goto out;
		} else if ((v = opt_value(argc, argv, &i, "--shutdown-grace"))) {
			if ((rc = duration_opt(v, &cfg.shutdown_grace_s, "--shutdown-grace")))
				goto out;
		} else if ((v = opt_value(argc, argv, &i, "--workers"))) {
			char *end = NULL;
			unsigned long n = strtoul(v, &end, 10);
			if (!*v || *end || n < 1 || n > 64) {
				rc = cli_usage_error("agent", "--workers wants 1..64, not '%s'", v);
				goto out;
			}
			cfg.workers = (unsigned)n;
		} else if ((v = opt_value(argc, argv, &i, "--webhook-max-bytes"))) {
			char *end = NULL;
			unsigned long long n = strtoull(v, &end, 10);
			if (!*v || *end || n < 1024) {
				rc = cli_usage_error("agent", "invalid --webhook-max-bytes '%s'", v);
				goto out;
			}
			cfg.webhook_max_bytes = (size_t)n;
		} else if ((v = opt_value(argc, argv, &i, "--leader-elect"))) {
			if (strcmp(v, "true") && strcmp(v, "false")) {
				rc = cli_usage_error("agent", "--leader-elect wants true or false");
				goto out;
			}
			cfg.leader_elect = !strcmp(v, "true");
		} else if ((v = opt_value(argc, argv, &i, "--identity"))) {
			cfg.identity = v;
		} else if ((v = opt_value(argc, argv, &i, "--cache-dir"))) {
			cfg.cache_dir = v;
		} else if ((v = opt_value(argc, argv, &i, "--lua-dir"))) {
			cfg.lua_dir = v;
		} else if ((v = opt_value(argc, argv, &i, "--log-format"))) {
			if ((fmt = alog_format_parse(v)) < 0) {
				rc = cli_usage_error("agent", "--log-format wants json or logfmt");
				goto out;
			}
		} else if ((v = opt_value(argc, argv, &i, "--log-level"))) {
			if ((lvl = alog_level_parse(v)) < 0) {
				rc = cli_usage_error("agent", "invalid --log-level '%s'", v);
				goto out;
			}
		} else if ((v = opt_value(argc, argv, &i, "--kubeconfig"))) {
			cfg.kubeconfig = v;
		} else if ((v = opt_value(argc, argv, &i, "--context"))) {
			cfg.context = v;
		} else {
			rc = cli_usage_error("agent", "unknown option '%s'", argv[i]);
			goto out;
		}
	}
	if (!cfg.tls_cert != !cfg.tls_key) {
		rc = cli_usage_error("agent", "--tls-cert and --tls-key go together");
		goto out;
	}
	cfg.app_namespaces = nss;
	cfg.n_app_namespaces = nns;
	alog_setup((enum alog_format)fmt, (enum alog_level)lvl);
	if (agent_run(&cfg, &err))
		rc = cli_error(&err);
out:
	for (k = 0; k < nglobs; k++)
		free(globs[k]);
	free(globs);
	free(nss);
	return rc;
}
