/* kube-config.h - cluster access the way kubectl finds it.
 *
 * Sources, in kubectl's order: an explicit --kubeconfig file, else the
 * files of $KUBECONFIG (colon-separated, merged: the first file that defines
 * a cluster/user/context name or current-context wins), else
 * ~/.kube/config, else the in-cluster service account (when
 * KUBERNETES_SERVICE_HOST is set).  Relative paths inside a kubeconfig are
 * resolved against the directory of the file that holds them.
 *
 * The result is a flat, resolved description of one cluster + user: a
 * `struct kube_config` that kube_client_new() consumes.  Credentials that
 * change over time (tokenFile, in-cluster token, exec plugins) are kept as
 * their source and refreshed by the client, never cached here.
 */
#ifndef KUBE_CONFIG_H
#define KUBE_CONFIG_H

#include <stdbool.h>
#include <stddef.h>

#include "gs-error.h"
#include "mf-node.h"

/* client.authentication.k8s.io ExecCredential plugin (EKS, GKE). */
struct kube_exec {
	char *api_version; /* e.g. "client.authentication.k8s.io/v1" */
	char *command;     /* resolved against the kubeconfig's dir when relative with a '/' */
	char **args;       /* NULL-terminated */
	char **env;        /* NULL-terminated "NAME=VALUE" */
	double timeout_s;  /* the plugin is killed after this (default 30 s) */
};

struct kube_config {
	char *context;      /* name of the context used ("" for in-cluster) */
	char *server;       /* https://host:port, no trailing slash */
	char *namespace;    /* context namespace, "default" when unset */
	/* TLS: CA as PEM data (preferred) or a file; insecure skips verification */
	char *ca_data;      /* PEM bytes (decoded from certificate-authority-data) */
	size_t ca_len;
	char *ca_file;
	bool insecure;
	char *tls_server_name;
	/* With tls-server-name, server names that host (so TLS sends it as SNI
	 * and verifies the certificate for it) and connect_to holds
	 * "NAME:PORT:REALHOST:PORT" (curl's CONNECT_TO) to reach the real
	 * address; NULL otherwise. */
	char *connect_to;
	/* user credentials (any combination kubectl accepts) */
	char *token;        /* static bearer token */
	char *token_file;   /* re-read by the client when it changes (rotation) */
	char *cert_data, *key_data; /* PEM bytes */
	size_t cert_len, key_len;
	char *cert_file, *key_file;
	char *username, *password;
	struct kube_exec *exec; /* NULL unless the user has an exec plugin */
	char *proxy_url;    /* clusters[].cluster.proxy-url */
};

struct kube_config_opts {
	const char *kubeconfig; /* --kubeconfig: used alone when set (borrowed) */
	const char *context;    /* --context (borrowed); NULL = current-context */
	bool prefer_in_cluster; /* agent in a pod: try in-cluster config first */
};

/* Resolve the configuration described above.  *out is owned by the caller
 * (kube_config_free).  Errors: GS_ENOTFOUND (no kubeconfig, unknown
 * context/cluster/user), GS_EINVAL (malformed file, with file:line), GS_EIO. */
int kube_config_load(struct kube_config **out, const struct kube_config_opts *opts,
		     struct gs_error *err);

/* Build a config from an already parsed kubeconfig document (borrowed); dir
 * is the directory relative paths resolve against (borrowed, may be NULL).
 * Used by kube_config_load and by tests. */
int kube_config_from_node(struct kube_config **out, const struct mf_node *doc, const char *dir,
			  const char *context, struct gs_error *err);

/* The in-cluster service account: KUBERNETES_SERVICE_HOST/PORT and the
 * files under root (NULL = /var/run/secrets/kubernetes.io/serviceaccount).
 * GS_ENOTFOUND when not running in a pod. */
int kube_config_in_cluster(struct kube_config **out, const char *root, struct gs_error *err);

void kube_config_free(struct kube_config *cfg);

#endif
