/* Authenticated multicast datagrams: the per-session key and the tag on every DATA, BEACON and END.
 *
 * The fleet shares one secret (a file of 16..64 random bytes; see README "Security model"). Each
 * release gets its own key, derived so that no two releases share one:
 *
 *   session key = HMAC-SHA256(fleet secret, "crowcast mcast v1" || release id (32 bytes))
 *
 * and every datagram carries tag = HMAC-SHA256(session key, header || body)[0..16), with
 * CROW_DGRAM_F_AUTH set in the header it covers (layout in crowcast/datagram.h). HMAC has no nonce,
 * so a seeder that restarts (its sequence numbers start again at 0) can never weaken the key; a
 * replayed datagram is authentic but old, and the receiver's sequence and END rules deal with it.
 */
#ifndef CROWCAST_DGRAM_AUTH_H
#define CROWCAST_DGRAM_AUTH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "crowcast/datagram.h"
#include "crowcast/hash.h"
#include "crowcast/mac.h"

#define CROW_MCAST_SECRET_MIN 16u
#define CROW_MCAST_SECRET_MAX 64u

/* A session key. init/dispose; the key holds an OpenSSL context (allocated once, at init). */
typedef struct crow_dgram_key {
    crow_mac_t *mac;
} crow_dgram_key_t;

/* Derives the key of release `release_id` from the fleet secret (secret_len within
 * CROW_MCAST_SECRET_MIN..MAX). Returns 0, CROW_EUSAGE for a secret of the wrong size, -ENOMEM. */
int crow_dgram_key_init(crow_dgram_key_t *k, const uint8_t *secret, size_t secret_len,
                        const uint8_t release_id[CROW_SHA256_LEN]);
void crow_dgram_key_dispose(crow_dgram_key_t *k);

/* Appends the tag of buf[0..len) (a whole encoded datagram whose header has CROW_DGRAM_F_AUTH) at
 * buf + len; buf must hold len + CROW_DGRAM_TAG_LEN bytes. Returns the sealed size. */
size_t crow_dgram_seal(const crow_dgram_key_t *k, uint8_t *buf, size_t len);
/* Whether buf[0..len), decoded as *d, carries CROW_DGRAM_F_AUTH and a tag valid under k. */
bool crow_dgram_authentic(const crow_dgram_key_t *k, const crow_dgram_t *d, const uint8_t *buf, size_t len);

#endif
