/* mf-hash.h - content hash of a node, for memoizing compares.
 *
 * The hash is SHA-256 over a canonical serialization: map keys sorted by
 * byte order (so key order never matters), every value tagged with its type
 * and length-prefixed (so "1" the string and 1 the integer differ, and no two
 * trees share an encoding).  Numbers hash by their text: 1 and 1.0 differ.
 * Positions (file:line) are not part of the hash.  Thread-safe (no state).
 */
#ifndef MF_HASH_H
#define MF_HASH_H

#include <stddef.h>

#include "mf-node.h"

#define MF_HASH_SIZE 32 /* bytes of a SHA-256 digest */
#define MF_HASH_HEX_SIZE (MF_HASH_SIZE * 2 + 1)

/* Digest of n (borrowed; NULL hashes like a null node) into out. */
void mf_hash_node(unsigned char out[MF_HASH_SIZE], const struct mf_node *n);

/* Same, as 64 lower-case hex digits and a NUL; returns out. */
char *mf_hash_node_hex(char out[MF_HASH_HEX_SIZE], const struct mf_node *n);

#endif
