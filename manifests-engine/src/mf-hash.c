/* mf-hash.c - SHA-256 of a canonical serialization (see mf-hash.h). */
#include "mf-hash.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "gs-alloc.h"

/* One type byte, then for scalars a 64-bit big-endian length and the bytes;
 * for containers the count and then the children (map: key as a string,
 * then the value), map keys in byte order. */
static void put_len(EVP_MD_CTX *md, uint64_t len)
{
	unsigned char b[8];
	int i;

	for (i = 7; i >= 0; i--) {
		b[i] = (unsigned char)(len & 0xff);
		len >>= 8;
	}
	EVP_DigestUpdate(md, b, sizeof(b));
}

static void put_bytes(EVP_MD_CTX *md, char tag, const char *s, size_t len)
{
	EVP_DigestUpdate(md, &tag, 1);
	put_len(md, len);
	EVP_DigestUpdate(md, s, len);
}

static int cmp_keys(const void *x, const void *y, void *map)
{
	const char *a = mf_node_key(map, *(const size_t *)x);
	const char *b = mf_node_key(map, *(const size_t *)y);
	return strcmp(a, b);
}

static void hash_node(EVP_MD_CTX *md, const struct mf_node *n)
{
	enum mf_type t = mf_node_type(n);
	size_t i, len = mf_node_len(n), *order;
	char tag = (char)('0' + (int)t);

	switch (t) {
	case MF_NULL:
		EVP_DigestUpdate(md, &tag, 1);
		break;
	case MF_BOOL:
	case MF_INT:
	case MF_FLOAT:
	case MF_STR:
		put_bytes(md, tag, mf_node_str(n), mf_node_strlen(n));
		break;
	case MF_SEQ:
		EVP_DigestUpdate(md, &tag, 1);
		put_len(md, len);
		for (i = 0; i < len; i++)
			hash_node(md, mf_node_at(n, i));
		break;
	case MF_MAP:
		EVP_DigestUpdate(md, &tag, 1);
		put_len(md, len);
		order = gs_malloc((len ? len : 1) * sizeof(*order));
		for (i = 0; i < len; i++)
			order[i] = i;
		qsort_r(order, len, sizeof(*order), cmp_keys, (void *)n);
		for (i = 0; i < len; i++) {
			const char *k = mf_node_key(n, order[i]);
			put_bytes(md, 's', k, strlen(k));
			hash_node(md, mf_node_at(n, order[i]));
		}
		free(order);
		break;
	}
}

void mf_hash_node(unsigned char out[MF_HASH_SIZE], const struct mf_node *n)
{
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	unsigned int len = 0;

	if (!md)
		abort(); /* OOM: see gs-alloc.h */
	EVP_DigestInit_ex(md, EVP_sha256(), NULL);
	hash_node(md, n);
	EVP_DigestFinal_ex(md, out, &len);
	EVP_MD_CTX_free(md);
}

char *mf_hash_node_hex(char out[MF_HASH_HEX_SIZE], const struct mf_node *n)
{
	static const char hex[] = "0123456789abcdef";
	unsigned char d[MF_HASH_SIZE];
	size_t i;

	mf_hash_node(d, n);
	for (i = 0; i < MF_HASH_SIZE; i++) {
		out[2 * i] = hex[d[i] >> 4];
		out[2 * i + 1] = hex[d[i] & 0xf];
	}
	out[2 * MF_HASH_SIZE] = '\0';
	return out;
}
