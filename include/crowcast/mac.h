/* HMAC-SHA256 over memory: a keyed context reused for many messages, and a one-shot form.
 * Besides hash.c the only OpenSSL user here. */
#ifndef CROWCAST_MAC_H
#define CROWCAST_MAC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define CROW_HMAC_SHA256_LEN 32

/* A keyed HMAC-SHA256. crow_mac_new copies the key; returns 0 or -ENOMEM. The caller frees it with
 * crow_mac_free (NULL is fine). */
typedef struct crow_mac crow_mac_t;
int crow_mac_new(crow_mac_t **out, const uint8_t *key, size_t key_len);
void crow_mac_free(crow_mac_t *mac);
/* HMAC-SHA256 of data[0..len) under the context's key, into out (32 bytes). */
void crow_mac_compute(crow_mac_t *mac, const void *data, size_t len, uint8_t out[CROW_HMAC_SHA256_LEN]);

/* One-shot HMAC-SHA256 of data under key. */
void crow_hmac_sha256(const uint8_t *key, size_t key_len, const void *data, size_t len,
                      uint8_t out[CROW_HMAC_SHA256_LEN]);

/* Compares n bytes in time independent of where they differ (tags, never early-out). */
bool crow_mac_equal(const uint8_t *a, const uint8_t *b, size_t n);

#endif
