/* HMAC-SHA256, constant-time comparison and random bytes, through OpenSSL (util is its only user).
 * The control plane signs its requests with these (control_auth.h). */
#ifndef CROWCAST_HMAC_H
#define CROWCAST_HMAC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define CROW_HMAC_LEN 32

/* HMAC-SHA256 of data under key into out. */
void crow_hmac_sha256(const uint8_t *key, size_t key_len, const void *data, size_t len,
                      uint8_t out[CROW_HMAC_LEN]);
/* True when a and b (len bytes each) are equal; the time taken does not depend on where they differ. */
bool crow_mem_equal(const void *a, const void *b, size_t len);
/* Fills out with len bytes from the system's random generator. Returns 0 or CROW_EUNSUPPORTED. */
int crow_random_bytes(uint8_t *out, size_t len);

#endif
