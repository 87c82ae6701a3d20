/* lease.h - leader election on a coordination.k8s.io/v1 Lease, the way
 * client-go's leaderelection does it.
 *
 * Every candidate tries every retry period (2 s).  The Lease names its
 * holder, the lease duration (15 s) and the last renewal.  A candidate takes
 * the Lease when it is free (no holder) or when its record has not changed
 * for a whole lease duration *as observed on the candidate's own clock* (so
 * clock skew between nodes does not matter).  Updates carry the
 * resourceVersion read, so two candidates racing for it cannot both win: the
 * API server refuses the second write with 409.  The holder renews every
 * retry period and steps down when it has not renewed for the renew deadline
 * (10 s), before anyone else may take over (15 s).  On shutdown the holder
 * releases the Lease (holder cleared) so a standby takes over at once.
 *
 * Not thread-safe: one thread drives one struct lease.
 */
#ifndef GS_LEASE_H
#define GS_LEASE_H

#include <stdbool.h>

#include "gs-error.h"
#include "kube/kube-client.h"

struct lease_config {
	const char *ns, *name, *identity; /* borrowed */
	double lease_s;  /* 0 = 15 */
	double renew_s;  /* renew deadline; 0 = 10 */
	double retry_s;  /* 0 = 2 */
};

struct lease;

/* kc and cfg borrowed; they must outlive the lease. */
struct lease *lease_new(struct kube_client *kc, const struct lease_config *cfg);
void lease_free(struct lease *l);

/* One attempt to acquire or renew at monotonic time now.  Returns true when
 * this candidate holds the Lease afterwards.  err (may be NULL) explains a
 * failed request; a lost race is not an error. */
bool lease_try(struct lease *l, double now, struct gs_error *err);

/* True while the last successful renewal is younger than the renew deadline. */
bool lease_is_leader(const struct lease *l, double now);

/* The monotonic time until which this candidate may act as the leader
 * (last renewal + renew deadline), or a negative value when it does not
 * hold the Lease.  Other threads compare it with the clock before acting,
 * so a holder that was paused (SIGSTOP, a stalled VM) and wakes up after a
 * standby took over never acts on its stale belief. */
double lease_leader_until(const struct lease *l);

/* The current holder as last read ("" when free), borrowed. */
const char *lease_holder(const struct lease *l);

/* Give the Lease up if we hold it: holder cleared, so standbys take it on
 * their next try.  GS_OK when released or not held. */
int lease_release(struct lease *l, struct gs_error *err);

#endif
