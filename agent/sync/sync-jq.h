/* sync-jq.h - ignoreDifferences jqPathExpressions: the paths a jq
 * expression selects in an object, evaluated by libjq in a bounded child
 * process (see sync-jq.c for why a child). */
#ifndef SYNC_JQ_H
#define SYNC_JQ_H

#include <stddef.h>

#include "gs-error.h"
#include "mf-node.h"

#define SYNC_JQ_MAX_EXPR_LEN 1024       /* bytes per expression */
#define SYNC_JQ_MAX_EXPRS 32            /* expressions per ignore entry */
#define SYNC_JQ_MAX_PATHS 4096          /* paths selected per object */
#define SYNC_JQ_MAX_OUTPUT (1 << 20)    /* bytes of pointers per object */
#define SYNC_JQ_MAX_MEMORY (256 << 20)  /* address space over the agent's */
#define SYNC_JQ_CPU_S 2                 /* CPU seconds per object */
#define SYNC_JQ_WALL_S 5                /* wall-clock seconds per object */

/* Refuse what is over the static bounds (count, length, empty): GS_ELIMIT
 * or GS_EINVAL naming the expression's index. */
int sync_jq_check(const char *const *exprs, size_t n, struct gs_error *err);

/* The expression sets validated already (the last 64), so that the spec
 * check of every reconcile does not fork a child for expressions that
 * compiled before.  Not thread-safe: one per worker. */
struct sync_jq_memo;
struct sync_jq_memo *sync_jq_memo_new(void);
void sync_jq_memo_free(struct sync_jq_memo *m); /* NULL is a no-op */
/* Children run through m so far (tests). */
size_t sync_jq_memo_children(const struct sync_jq_memo *m);

/* sync_jq_check, then compile each expression (in the bounded child): a
 * syntax error is GS_EINVAL with jq's message, whatever objects the app
 * has -- a broken expression must not wait for a drift to be noticed.
 * memo (may be NULL) skips the child for a set that compiled before; a
 * set that failed is not kept, so its error is reported every time. */
int sync_jq_validate(struct sync_jq_memo *memo, const char *const *exprs, size_t n,
		     struct gs_error *err);

/* The paths each of exprs (n borrowed jq expressions) selects in obj, as
 * JSON pointers ("/spec/replicas"), in jq's output order; *ptrs_out owned
 * (free with sync_jq_paths_free).  The empty path (the whole object) and
 * slices are left out.  Errors: GS_EINVAL (a compile or runtime error of
 * jq, its message quoted), GS_ELIMIT (a bound above), GS_EIO. */
int sync_jq_paths(char ***ptrs_out, size_t *n_out, const struct mf_node *obj,
		  const char *const *exprs, size_t n, struct gs_error *err);
void sync_jq_paths_free(char **ptrs, size_t n);

#endif
