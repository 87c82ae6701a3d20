/* gs-alloc.h - allocation that aborts on OOM, and overflow-checked sizes.
 *
 * gitsync is an application: out-of-memory paths would be untested dead code,
 * so these abort.  Memory that input can drive is bounded by explicit limits
 * elsewhere (GS_ELIMIT).
 */
#ifndef GS_ALLOC_H
#define GS_ALLOC_H

#include <stdbool.h>
#include <stddef.h>

void *gs_malloc(size_t n);
void *gs_calloc(size_t nmemb, size_t size);
void *gs_realloc(void *p, size_t n);
char *gs_strdup(const char *s);
char *gs_strndup(const char *s, size_t n);
/* printf into a fresh heap string. */
char *gs_asprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* *out = a + b; false on overflow (out untouched). */
bool gs_size_add(size_t *out, size_t a, size_t b);

/* Grow an array `ptr` of `nr` used / `alloc` slots to hold at least n elements. */
#define GS_ALLOC_GROW(ptr, n, alloc)                                                     \
	do {                                                                             \
		if ((n) > (alloc)) {                                                     \
			size_t gs_new_ = (alloc) < 8 ? 8 : (alloc) * 2;                  \
			if (gs_new_ < (n))                                               \
				gs_new_ = (n);                                           \
			(ptr) = gs_realloc((ptr), gs_new_ * sizeof(*(ptr)));             \
			(alloc) = gs_new_;                                               \
		}                                                                        \
	} while (0)

#endif
