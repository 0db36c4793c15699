/* SHA-256 / SHA-1 through OpenSSL's EVP interface, and hex helpers. */
#include <openssl/evp.h>
#include <stdlib.h>

#include "crowcast/hash.h"

struct crow_hasher {
    EVP_MD_CTX *ctx;
    const EVP_MD *md;
};

static void digest(const EVP_MD *md, const void *data, size_t len, uint8_t *out)
{
    unsigned int n = 0;
    EVP_Digest(data, len, out, &n, md, NULL);
}

void crow_sha256(const void *data, size_t len, uint8_t out[CROW_SHA256_LEN])
{
    digest(EVP_sha256(), data, len, out);
}

void crow_sha1(const void *data, size_t len, uint8_t out[CROW_SHA1_LEN])
{
    digest(EVP_sha1(), data, len, out);
}

crow_hasher_t *crow_hasher_new(enum crow_hash_kind kind)
{
    crow_hasher_t *h = calloc(1, sizeof *h);
    if (!h)
        return NULL;
    h->md = kind == CROW_HASH_SHA1 ? EVP_sha1() : EVP_sha256();
    h->ctx = EVP_MD_CTX_new();
    if (!h->ctx) {
        free(h);
        return NULL;
    }
    EVP_DigestInit_ex(h->ctx, h->md, NULL);
    return h;
}

void crow_hasher_reset(crow_hasher_t *h)
{
    EVP_DigestInit_ex(h->ctx, h->md, NULL);
}

void crow_hasher_update(crow_hasher_t *h, const void *data, size_t len)
{
    EVP_DigestUpdate(h->ctx, data, len);
}

void crow_hasher_final(crow_hasher_t *h, uint8_t *out)
{
    unsigned int n = 0;
    EVP_DigestFinal_ex(h->ctx, out, &n);
}

void crow_hasher_free(crow_hasher_t *h)
{
    if (!h)
        return;
    EVP_MD_CTX_free(h->ctx);
    free(h);
}
