/* gs-time.h - the two clocks, RFC 3339 timestamps and durations.
 *
 * The clocks have different names on purpose: gs_time_mono() for intervals,
 * deadlines and backoff (never jumps when the wall clock is set),
 * gs_time_wall() for timestamps that are shown, stored or compared with a
 * server's (Lease renewTime, status.reconciledAt).  Never subtract one from
 * the other.  Both are in seconds, as a double (microsecond precision).
 */
#ifndef GS_TIME_H
#define GS_TIME_H

#include <stddef.h>

#include "gs-error.h"

double gs_time_mono(void); /* seconds on CLOCK_MONOTONIC, arbitrary origin */
double gs_time_wall(void); /* seconds since the epoch, CLOCK_REALTIME */

/* "2006-01-02T15:04:05Z" (UTC, whole seconds, as Kubernetes writes
 * metav1.Time) into buf; returns buf. */
#define GS_TIME_RFC3339_SIZE 32
const char *gs_time_rfc3339(char buf[GS_TIME_RFC3339_SIZE], double wall);

/* Parse an RFC 3339 timestamp ("...Z" or "...+02:00", optional fraction as
 * in metav1.MicroTime) into seconds since the epoch.  GS_EINVAL otherwise. */
int gs_time_parse_rfc3339(double *out, const char *s, struct gs_error *err);

/* A duration as Go writes it ("90s", "1h30m", "500ms", "1.5s") or plain
 * seconds ("2"), in seconds; -1 when s is NULL, empty, negative or not a
 * duration. */
double gs_time_parse_duration(const char *s);

#endif
