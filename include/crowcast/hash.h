/* SHA-256 and SHA-1 over memory, one-shot or streaming. The only OpenSSL user besides signing. */
#ifndef CROWCAST_HASH_H
#define CROWCAST_HASH_H

#include <stddef.h>
#include <stdint.h>

#include "crowcast/hex.h" /* digests travel as hex */

#define CROW_SHA256_LEN 32
#define CROW_SHA1_LEN   20

enum crow_hash_kind { CROW_HASH_SHA256, CROW_HASH_SHA1 };

void crow_sha256(const void *data, size_t len, uint8_t out[CROW_SHA256_LEN]);
void crow_sha1(const void *data, size_t len, uint8_t out[CROW_SHA1_LEN]);

/* Streaming hasher. crow_hasher_new returns NULL when out of memory; the caller frees it with
 * crow_hasher_free. A hasher can be reused after crow_hasher_final by calling crow_hasher_reset. */
typedef struct crow_hasher crow_hasher_t;
crow_hasher_t *crow_hasher_new(enum crow_hash_kind kind);
void crow_hasher_reset(crow_hasher_t *h);
void crow_hasher_update(crow_hasher_t *h, const void *data, size_t len);
/* Writes 32 (SHA-256) or 20 (SHA-1) bytes to out. */
void crow_hasher_final(crow_hasher_t *h, uint8_t *out);
void crow_hasher_free(crow_hasher_t *h);

#endif
