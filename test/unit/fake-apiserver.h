/* fake-apiserver.h - an in-memory Kubernetes API server on loopback for
 * unit tests (libmicrohttpd, one thread per connection, so requests of a
 * batch really overlap and several clients may use it at once).
 *
 * It serves discovery for a few kinds (v1 Namespace, ConfigMap, Secret,
 * ServiceAccount; batch/v1 Job), and for their objects GET, LIST (with an
 * equality labelSelector), server-side apply PATCH (the applied object
 * replaces the stored one; dryRun=All stores nothing), POST, PUT and
 * DELETE.  It is not an API server: no merge, no defaulting, no
 * validation.  Every request is logged ("PATCH /api/v1/...", " dry" after
 * dry-runs) so tests can check what was asked and in which order.
 *
 * A test with needs of its own (watch streams, failures) installs a
 * handler that sees each request first.
 */
#ifndef FAKE_APISERVER_H
#define FAKE_APISERVER_H

#include <stdbool.h>
#include <stddef.h>

#include <cjson/cJSON.h>
#include <microhttpd.h>

#include "gs-error.h"
#include "kube/kube-client.h"
#include "kube/kube-config.h"

struct fake_apiserver;

/* Start on 127.0.0.1, a free port.  NULL when the daemon cannot start. */
struct fake_apiserver *fake_apiserver_start(void);
/* Stop the daemon (after every client is done) and free everything. */
void fake_apiserver_stop(struct fake_apiserver *fs);
unsigned fake_apiserver_port(const struct fake_apiserver *fs);

/* A config and a client for the server (both owned by the caller; free
 * the client first).  opts may be NULL. */
int fake_apiserver_client(struct fake_apiserver *fs, const struct kube_client_opts *opts,
			  struct kube_config **cfg_out, struct kube_client **kc_out,
			  struct gs_error *err);

/* Called first for every request, with the whole body (borrowed).  Return
 * true when it queued a response (*ret set), false to let the in-memory
 * server answer. */
typedef bool (*fake_apiserver_handler_fn)(struct MHD_Connection *conn, const char *method,
					  const char *url, const char *body, size_t len,
					  enum MHD_Result *ret, void *payload);
void fake_apiserver_set_handler(struct fake_apiserver *fs, fake_apiserver_handler_fn fn,
				void *payload);
/* Queue a JSON answer (body copied), for handlers. */
enum MHD_Result fake_apiserver_reply(struct MHD_Connection *conn, unsigned status,
				     const char *body);

/* Called under the server's lock after an object is written (not for
 * dry-runs): may edit it, e.g. to complete a Job.  plural borrowed. */
typedef void (*fake_apiserver_store_fn)(cJSON *obj, const char *plural, void *payload);
void fake_apiserver_on_store(struct fake_apiserver *fs, fake_apiserver_store_fn fn,
			     void *payload);

/* Store an object (JSON text) at its path, as if created by someone else. */
void fake_apiserver_put(struct fake_apiserver *fs, const char *path, const char *json);
/* The stored object at path as JSON text (owned), or NULL. */
char *fake_apiserver_get(struct fake_apiserver *fs, const char *path);
/* The request log, one request a line (owned copy). */
char *fake_apiserver_log(struct fake_apiserver *fs);
void fake_apiserver_log_clear(struct fake_apiserver *fs);
/* Line number (0-based) of the first log line that starts with prefix,
 * or -1. */
long fake_apiserver_log_find(struct fake_apiserver *fs, const char *prefix);
/* Number of log lines that start with prefix. */
size_t fake_apiserver_log_count(struct fake_apiserver *fs, const char *prefix);

#endif
