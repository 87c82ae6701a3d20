/* cmd-install.c - `gitsync install`: the CRD, RBAC, ServiceAccount,
 * Deployment and Service that run the agent, applied with server-side apply
 * (or printed with --dry-run). */
#include "cli/cli.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "app/app-project.h"
#include "app/app.h"
#include "gs-alloc.h"
#include "kube/kube-config.h"
#include "mf-object.h"
#include "mf-yaml.h"

/* Everything but the CRDs; @NS@ is replaced by the namespace.  The same
 * objects as examples/deploy rendered (`gitsync render examples/deploy`,
 * namespace gitsync): least RBAC split by purpose, a hardened Pod (non-root,
 * seccomp RuntimeDefault, no capabilities, read-only root with writable
 * cache and /tmp).  t-install-deploy.sh compares the two; examples/deploy
 * is the commented source, edit it first, then copy its rendering here. */
static const char install_yaml[] =
	"apiVersion: v1\n"
	"kind: Namespace\n"
	"metadata:\n"
	"  labels:\n"
	"    app.kubernetes.io/part-of: gitsync\n"
	"  name: @NS@\n"
	"---\n"
	"apiVersion: v1\n"
	"kind: ServiceAccount\n"
	"metadata:\n"
	"  labels:\n"
	"    app.kubernetes.io/part-of: gitsync\n"
	"  name: gitsync-agent\n"
	"  namespace: @NS@\n"
	"---\n"
	"apiVersion: rbac.authorization.k8s.io/v1\n"
	"kind: Role\n"
	"metadata:\n"
	"  labels:\n"
	"    app.kubernetes.io/part-of: gitsync\n"
	"  name: gitsync-agent\n"
	"  namespace: @NS@\n"
	"rules:\n"
	"- apiGroups:\n"
	"  - coordination.k8s.io\n"
	"  resources:\n"
	"  - leases\n"
	"  verbs:\n"
	"  - get\n"
	"  - create\n"
	"  - update\n"
	"- apiGroups:\n"
	"  - gitsync.io\n"
	"  resources:\n"
	"  - projects\n"
	"  verbs:\n"
	"  - get\n"
	"  - list\n"
	"  - watch\n"
	"  - create\n"
	"- apiGroups:\n"
	"  - \"\"\n"
	"  resourceNames:\n"
	"  - gitsync-secret\n"
	"  resources:\n"
	"  - secrets\n"
	"  verbs:\n"
	"  - get\n"
	"- apiGroups:\n"
	"  - \"\"\n"
	"  resources:\n"
	"  - secrets\n"
	"  verbs:\n"
	"  - list\n"
	"  - watch\n"
	"---\n"
	"apiVersion: rbac.authorization.k8s.io/v1\n"
	"kind: ClusterRole\n"
	"metadata:\n"
	"  labels:\n"
	"    app.kubernetes.io/part-of: gitsync\n"
	"  name: gitsync-agent-applications\n"
	"rules:\n"
	"- apiGroups:\n"
	"  - gitsync.io\n"
	"  resources:\n"
	"  - applications\n"
	"  verbs:\n"
	"  - get\n"
	"  - list\n"
	"  - watch\n"
	"  - patch\n"
	"  - update\n"
	"- apiGroups:\n"
	"  - gitsync.io\n"
	"  resources:\n"
	"  - applications/status\n"
	"  verbs:\n"
	"  - get\n"
	"  - patch\n"
	"  - update\n"
	"- apiGroups:\n"
	"  - \"\"\n"
	"  resources:\n"
	"  - secrets\n"
	"  verbs:\n"
	"  - get\n"
	"- apiGroups:\n"
	"  - \"\"\n"
	"  resources:\n"
	"  - events\n"
	"  verbs:\n"
	"  - create\n"
	"- nonResourceURLs:\n"
	"  - /api\n"
	"  - /api/*\n"
	"  - /apis\n"
	"  - /apis/*\n"
	"  - /version\n"
	"  verbs:\n"
	"  - get\n"
	"---\n"
	"apiVersion: rbac.authorization.k8s.io/v1\n"
	"kind: ClusterRole\n"
	"metadata:\n"
	"  labels:\n"
	"    app.kubernetes.io/part-of: gitsync\n"
	"  name: gitsync-agent-managed\n"
	"rules:\n"
	"- apiGroups:\n"
	"  - '*'\n"
	"  resources:\n"
	"  - '*'\n"
	"  verbs:\n"
	"  - get\n"
	"  - list\n"
	"  - watch\n"
	"  - create\n"
	"  - patch\n"
	"  - update\n"
	"  - delete\n"
	"- apiGroups:\n"
	"  - \"\"\n"
	"  resources:\n"
	"  - serviceaccounts\n"
	"  verbs:\n"
	"  - impersonate\n"
	"---\n"
	"apiVersion: rbac.authorization.k8s.io/v1\n"
	"kind: RoleBinding\n"
	"metadata:\n"
	"  labels:\n"
	"    app.kubernetes.io/part-of: gitsync\n"
	"  name: gitsync-agent\n"
	"  namespace: @NS@\n"
	"roleRef:\n"
	"  apiGroup: rbac.authorization.k8s.io\n"
	"  kind: Role\n"
	"  name: gitsync-agent\n"
	"subjects:\n"
	"- kind: ServiceAccount\n"
	"  name: gitsync-agent\n"
	"  namespace: @NS@\n"
	"---\n"
	"apiVersion: rbac.authorization.k8s.io/v1\n"
	"kind: ClusterRoleBinding\n"
	"metadata:\n"
	"  labels:\n"
	"    app.kubernetes.io/part-of: gitsync\n"
	"  name: gitsync-agent-applications\n"
	"roleRef:\n"
	"  apiGroup: rbac.authorization.k8s.io\n"
	"  kind: ClusterRole\n"
	"  name: gitsync-agent-applications\n"
	"subjects:\n"
	"- kind: ServiceAccount\n"
	"  name: gitsync-agent\n"
	"  namespace: @NS@\n"
	"---\n"
	"apiVersion: rbac.authorization.k8s.io/v1\n"
	"kind: ClusterRoleBinding\n"
	"metadata:\n"
	"  labels:\n"
	"    app.kubernetes.io/part-of: gitsync\n"
	"  name: gitsync-agent-managed\n"
	"roleRef:\n"
	"  apiGroup: rbac.authorization.k8s.io\n"
	"  kind: ClusterRole\n"
	"  name: gitsync-agent-managed\n"
	"subjects:\n"
	"- kind: ServiceAccount\n"
	"  name: gitsync-agent\n"
	"  namespace: @NS@\n"
	"---\n"
	"apiVersion: v1\n"
	"kind: Service\n"
	"metadata:\n"
	"  labels:\n"
	"    app.kubernetes.io/part-of: gitsync\n"
	"  name: gitsync-agent\n"
	"  namespace: @NS@\n"
	"spec:\n"
	"  ports:\n"
	"  - name: http\n"
	"    port: 80\n"
	"    protocol: TCP\n"
	"    targetPort: http\n"
	"  selector:\n"
	"    app.kubernetes.io/name: gitsync-agent\n"
	"---\n"
	"apiVersion: apps/v1\n"
	"kind: Deployment\n"
	"metadata:\n"
	"  labels:\n"
	"    app.kubernetes.io/part-of: gitsync\n"
	"  name: gitsync-agent\n"
	"  namespace: @NS@\n"
	"spec:\n"
	"  replicas: 2\n"
	"  selector:\n"
	"    matchLabels:\n"
	"      app.kubernetes.io/name: gitsync-agent\n"
	"  strategy:\n"
	"    rollingUpdate:\n"
	"      maxSurge: 0\n"
	"      maxUnavailable: 1\n"
	"  template:\n"
	"    metadata:\n"
	"      labels:\n"
	"        app.kubernetes.io/name: gitsync-agent\n"
	"    spec:\n"
	"      affinity:\n"
	"        podAntiAffinity:\n"
	"          preferredDuringSchedulingIgnoredDuringExecution:\n"
	"          - podAffinityTerm:\n"
	"              labelSelector:\n"
	"                matchLabels:\n"
	"                  app.kubernetes.io/name: gitsync-agent\n"
	"              topologyKey: kubernetes.io/hostname\n"
	"            weight: 100\n"
	"      containers:\n"
	"      - args:\n"
	"        - agent\n"
	"        - --namespace=@NS@\n"
	"        - --listen=:8080\n"
	"        - --health-listen=:8081\n"
	"        - --leader-elect=true\n"
	"        - --identity=$(POD_NAME)\n"
	"        - --shutdown-grace=25s\n"
	"        env:\n"
	"        - name: POD_NAME\n"
	"          valueFrom:\n"
	"            fieldRef:\n"
	"              fieldPath: metadata.name\n"
	"        - name: GITSYNC_CACHE_DIR\n"
	"          value: /var/cache/gitsync\n"
	"        - name: GITSYNC_GIT_HOSTS\n"
	"          valueFrom:\n"
	"            secretKeyRef:\n"
	"              key: hosts\n"
	"              name: gitsync-git-credentials\n"
	"              optional: true\n"
	"        - name: GITSYNC_GIT_USERNAME\n"
	"          valueFrom:\n"
	"            secretKeyRef:\n"
	"              key: username\n"
	"              name: gitsync-git-credentials\n"
	"              optional: true\n"
	"        - name: GITSYNC_GIT_PASSWORD\n"
	"          valueFrom:\n"
	"            secretKeyRef:\n"
	"              key: password\n"
	"              name: gitsync-git-credentials\n"
	"              optional: true\n"
	"        image: gitsync/gitsync:" GITSYNC_VERSION "\n"
	"        livenessProbe:\n"
	"          failureThreshold: 6\n"
	"          httpGet:\n"
	"            path: /healthz\n"
	"            port: probes\n"
	"          periodSeconds: 10\n"
	"        name: agent\n"
	"        ports:\n"
	"        - containerPort: 8080\n"
	"          name: http\n"
	"        - containerPort: 8081\n"
	"          name: probes\n"
	"        readinessProbe:\n"
	"          httpGet:\n"
	"            path: /readyz\n"
	"            port: probes\n"
	"          periodSeconds: 5\n"
	"        resources:\n"
	"          limits:\n"
	"            memory: 256Mi\n"
	"          requests:\n"
	"            cpu: 50m\n"
	"            memory: 64Mi\n"
	"        securityContext:\n"
	"          allowPrivilegeEscalation: false\n"
	"          capabilities:\n"
	"            drop:\n"
	"            - ALL\n"
	"          readOnlyRootFilesystem: true\n"
	"        volumeMounts:\n"
	"        - mountPath: /var/cache/gitsync\n"
	"          name: cache\n"
	"        - mountPath: /tmp\n"
	"          name: tmp\n"
	"      securityContext:\n"
	"        fsGroup: 65532\n"
	"        runAsGroup: 65532\n"
	"        runAsNonRoot: true\n"
	"        runAsUser: 65532\n"
	"        seccompProfile:\n"
	"          type: RuntimeDefault\n"
	"      serviceAccountName: gitsync-agent\n"
	"      terminationGracePeriodSeconds: 30\n"
	"      volumes:\n"
	"      - emptyDir: {}\n"
	"        name: cache\n"
	"      - emptyDir: {}\n"
	"        name: tmp\n";

static char *expand_ns(const char *ns)
{
	struct gs_buf b = GS_BUF_INIT;
	const char *p = install_yaml, *q;

	while ((q = strstr(p, "@NS@"))) {
		gs_buf_add(&b, p, (size_t)(q - p));
		gs_buf_puts(&b, ns);
		p = q + 4;
	}
	gs_buf_puts(&b, p);
	return gs_buf_detach(&b, NULL);
}

static int apply_docs(struct kube_client *kc, struct mf_docs *docs, struct gs_error *err)
{
	size_t i;
	int r;

	for (i = 0; i < docs->n; i++) {
		const struct mf_node *o = docs->docs[i];
		const struct kube_resource *res;
		char *group = NULL, *version = NULL;

		mf_split_api_version(mf_obj_api_version(o), &group, &version);
		r = kube_client_resource(kc, &res, group, version, mf_obj_kind(o), err);
		free(group);
		free(version);
		if (r == GS_OK)
			r = kube_client_apply(kc, NULL, res, o, "gitsync-install", KUBE_APPLY_FORCE, err);
		if (r < 0)
			return gs_error_wrap(err, "apply %s '%s'", mf_obj_kind(o), mf_obj_name(o));
		printf("%s/%s serverside-applied\n", mf_obj_kind(o), mf_obj_name(o));
	}
	return GS_OK;
}

/* The CRDs must be Established before Applications and Projects can be
 * written. */
static int wait_crd(struct kube_client *kc, struct gs_error *err)
{
	int tries;

	for (tries = 0; tries < 60; tries++) {
		const struct kube_resource *res;

		kube_client_invalidate(kc, APP_GROUP, APP_VERSION);
		if (kube_client_resource(kc, &res, APP_GROUP, APP_VERSION, APP_KIND, err) == GS_OK &&
		    kube_client_resource(kc, &res, APP_GROUP, APP_VERSION, APP_PROJECT_KIND,
					 err) == GS_OK) {
			gs_error_clear(err);
			return GS_OK;
		}
		usleep(500 * 1000);
	}
	return gs_error_set(err, GS_ERR, "the Application and Project CRDs were not served within 30s");
}

int cmd_install(int argc, char **argv)
{
	const char *ns = APP_DEFAULT_NAMESPACE, *kubeconfig = NULL, *context = NULL;
	struct mf_docs crd = MF_DOCS_INIT, rest = MF_DOCS_INIT;
	struct gs_error err = GS_ERROR_INIT;
	struct kube_config *cfg = NULL;
	struct kube_client *kc = NULL;
	bool dry_run = false, crd_only = false;
	char *text = NULL;
	int i, rc = CLI_EXIT_OK;

	if (cli_wants_help(argc, argv)) {
		printf("usage: gitsync install [--namespace NS] [--dry-run] [--crd-only]\n"
		       "                      [--kubeconfig F] [--context C]\n\n"
		       "Apply (or print, with --dry-run) the Application and Project CRDs,\n"
		       "the `default` Project (unless one exists), the agent's Namespace,\n"
		       "ServiceAccount, RBAC, Deployment and Service.\n\n"
		       "options:\n"
		       "  -n, --namespace NS   namespace of the agent and the Applications\n"
		       "                       (default gitsync)\n"
		       "  --dry-run            print the manifests instead of applying them\n"
		       "  --crd-only           apply the CRD and the namespace only (the CLI\n"
		       "                       then syncs apps itself, no agent runs)\n"
		       "  --kubeconfig F       kubeconfig to use\n"
		       "  --context C          kubeconfig context\n\n"
		       "examples:\n"
		       "  gitsync install\n"
		       "  gitsync install --dry-run > gitsync-install.yaml\n"
		       "  gitsync install --crd-only\n");
		return CLI_EXIT_OK;
	}
	for (i = 1; i < argc; i++) {
		const char *a = argv[i];

		if ((!strcmp(a, "--namespace") || !strcmp(a, "-n")) && i + 1 < argc)
			ns = argv[++i];
		else if (!strncmp(a, "--namespace=", 12))
			ns = a + 12;
		else if (!strcmp(a, "--kubeconfig") && i + 1 < argc)
			kubeconfig = argv[++i];
		else if (!strcmp(a, "--context") && i + 1 < argc)
			context = argv[++i];
		else if (!strcmp(a, "--dry-run") || !strcmp(a, "--dry-run=client"))
			dry_run = true;
		else if (!strcmp(a, "--crd-only"))
			crd_only = true;
		else
			return cli_usage_error("install", "unknown argument '%s'", a);
	}
	text = expand_ns(ns);
	if (dry_run) {
		char *proj = app_project_default_yaml(ns);

		fputs(app_crd_yaml(), stdout);
		printf("---\n%s", app_project_crd_yaml());
		if (!crd_only)
			printf("---\n%s", text);
		printf("---\n%s", proj);
		free(proj);
		goto cleanup;
	}
	if (mf_yaml_parse(&crd, app_crd_yaml(), strlen(app_crd_yaml()), "crd-application.yaml",
			  NULL, &err) < 0 ||
	    mf_yaml_parse(&crd, app_project_crd_yaml(), strlen(app_project_crd_yaml()),
			  "crd-project.yaml", NULL, &err) < 0 ||
	    mf_yaml_parse(&rest, text, strlen(text), "install.yaml", NULL, &err) < 0) {
		rc = cli_error(&err);
		goto cleanup;
	}
	{
		struct kube_config_opts ko = { kubeconfig, context, false };

		if (kube_config_load(&cfg, &ko, &err) < 0 || kube_client_new(&kc, cfg, NULL, &err) < 0 ||
		    apply_docs(kc, &crd, &err) < 0 || wait_crd(kc, &err) < 0) {
			rc = cli_error(&err);
			goto cleanup;
		}
	}
	{
		/* --crd-only still creates the namespace Applications live in (doc 0) */
		struct mf_docs view = { rest.docs, crd_only && rest.n ? 1 : rest.n, 0 };

		bool made = false;

		if (apply_docs(kc, &view, &err) < 0 ||
		    app_project_ensure_default(kc, ns, &made, &err) < 0)
			rc = cli_error(&err);
		else
			printf("Project/%s %s\n", APP_PROJECT_DEFAULT, made ? "created" : "unchanged");
	}
cleanup:
	mf_docs_release(&crd);
	mf_docs_release(&rest);
	kube_client_free(kc);
	kube_config_free(cfg);
	free(text);
	return rc;
}
