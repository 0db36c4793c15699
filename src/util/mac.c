/* HMAC-SHA256 through OpenSSL's EVP_MAC interface. A context keeps its key, so each message costs
 * one EVP_MAC_init with no key (OpenSSL restarts from the keyed state) plus the hashing. */
#include <errno.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/params.h>
#include <stdlib.h>

#include "crowcast/mac.h"

struct crow_mac {
    EVP_MAC_CTX *ctx;
};

static EVP_MAC_CTX *keyed(const uint8_t *key, size_t key_len)
{
    EVP_MAC *hmac = EVP_MAC_fetch(NULL, "HMAC", NULL);
    if (!hmac)
        return NULL;
    EVP_MAC_CTX *ctx = EVP_MAC_CTX_new(hmac);
    EVP_MAC_free(hmac); /* the context holds its own reference */
    if (!ctx)
        return NULL;
    OSSL_PARAM params[] = {OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, "SHA256", 0),
                           OSSL_PARAM_construct_end()};
    if (!EVP_MAC_init(ctx, key, key_len, params)) {
        EVP_MAC_CTX_free(ctx);
        return NULL;
    }
    return ctx;
}

int crow_mac_new(crow_mac_t **out, const uint8_t *key, size_t key_len)
{
    crow_mac_t *mac = calloc(1, sizeof *mac);
    if (!mac)
        return -ENOMEM;
    mac->ctx = keyed(key, key_len);
    if (!mac->ctx) {
        free(mac);
        return -ENOMEM;
    }
    *out = mac;
    return 0;
}

void crow_mac_free(crow_mac_t *mac)
{
    if (!mac)
        return;
    EVP_MAC_CTX_free(mac->ctx);
    free(mac);
}

void crow_mac_compute(crow_mac_t *mac, const void *data, size_t len, uint8_t out[CROW_HMAC_SHA256_LEN])
{
    size_t n = 0;
    EVP_MAC_init(mac->ctx, NULL, 0, NULL);
    EVP_MAC_update(mac->ctx, data, len);
    EVP_MAC_final(mac->ctx, out, &n, CROW_HMAC_SHA256_LEN);
}

void crow_hmac_sha256(const uint8_t *key, size_t key_len, const void *data, size_t len,
                      uint8_t out[CROW_HMAC_SHA256_LEN])
{
    size_t n = 0;
    EVP_Q_mac(NULL, "HMAC", NULL, "SHA256", NULL, key, key_len, data, len, out, CROW_HMAC_SHA256_LEN, &n);
}

bool crow_mac_equal(const uint8_t *a, const uint8_t *b, size_t n)
{
    return CRYPTO_memcmp(a, b, n) == 0;
}
