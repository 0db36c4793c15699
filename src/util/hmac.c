/* HMAC-SHA256, constant-time comparison and random bytes through OpenSSL (see hmac.h). */
#include <openssl/crypto.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

#include "crowcast/error.h"
#include "crowcast/hmac.h"

void crow_hmac_sha256(const uint8_t *key, size_t key_len, const void *data, size_t len,
                      uint8_t out[CROW_HMAC_LEN])
{
    unsigned int n = CROW_HMAC_LEN;
    HMAC(EVP_sha256(), key, (int)key_len, data, len, out, &n);
}

bool crow_mem_equal(const void *a, const void *b, size_t len)
{
    return CRYPTO_memcmp(a, b, len) == 0;
}

int crow_random_bytes(uint8_t *out, size_t len)
{
    return RAND_bytes(out, (int)len) == 1 ? 0 : CROW_EUNSUPPORTED;
}
