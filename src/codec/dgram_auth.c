/* Datagram authentication: the session key derived from the fleet secret, the tag appended by the
 * sender and checked by the receiver (contract and reasons in crowcast/dgram_auth.h). */
#include <string.h>

#include "crowcast/dgram_auth.h"
#include "crowcast/error.h"

#define LABEL "crowcast mcast v1"

int crow_dgram_key_init(crow_dgram_key_t *k, const uint8_t *secret, size_t secret_len,
                        const uint8_t release_id[CROW_SHA256_LEN])
{
    k->mac = NULL;
    if (secret_len < CROW_MCAST_SECRET_MIN || secret_len > CROW_MCAST_SECRET_MAX)
        return CROW_EUSAGE;
    uint8_t info[sizeof LABEL - 1 + CROW_SHA256_LEN];
    memcpy(info, LABEL, sizeof LABEL - 1);
    memcpy(info + sizeof LABEL - 1, release_id, CROW_SHA256_LEN);
    uint8_t key[CROW_HMAC_SHA256_LEN];
    crow_hmac_sha256(secret, secret_len, info, sizeof info, key);
    int ret = crow_mac_new(&k->mac, key, sizeof key);
    memset(key, 0, sizeof key);
    return ret;
}

void crow_dgram_key_dispose(crow_dgram_key_t *k)
{
    crow_mac_free(k->mac);
    k->mac = NULL;
}

size_t crow_dgram_seal(const crow_dgram_key_t *k, uint8_t *buf, size_t len)
{
    uint8_t full[CROW_HMAC_SHA256_LEN];
    crow_mac_compute(k->mac, buf, len, full);
    memcpy(buf + len, full, CROW_DGRAM_TAG_LEN);
    return len + CROW_DGRAM_TAG_LEN;
}

bool crow_dgram_authentic(const crow_dgram_key_t *k, const crow_dgram_t *d, const uint8_t *buf, size_t len)
{
    if (!(d->flags & CROW_DGRAM_F_AUTH) || !d->tag || len < CROW_DGRAM_HEADER_LEN + CROW_DGRAM_TAG_LEN)
        return false;
    uint8_t full[CROW_HMAC_SHA256_LEN];
    crow_mac_compute(k->mac, buf, len - CROW_DGRAM_TAG_LEN, full);
    return crow_mac_equal(full, d->tag, CROW_DGRAM_TAG_LEN);
}
