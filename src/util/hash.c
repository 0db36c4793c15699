/* SHA-256 / SHA-1 through OpenSSL's EVP interface, and hex helpers. */
#include <openssl/evp.h>
#include <stdlib.h>

#include "crowcast/error.h"
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

void crow_hex(const uint8_t *bytes, size_t len, char *out)
{
    static const char digits[] = "0123456789abcdef";
    for (size_t i = 0; i < len; i++) {
        out[2 * i] = digits[bytes[i] >> 4];
        out[2 * i + 1] = digits[bytes[i] & 15];
    }
    out[2 * len] = '\0';
}

static int hex_value(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

int crow_unhex(const char *hex, uint8_t *out, size_t len)
{
    for (size_t i = 0; i < len; i++) {
        int hi = hex_value(hex[2 * i]);
        int lo = hi < 0 ? -1 : hex_value(hex[2 * i + 1]);
        if (lo < 0)
            return CROW_EPARSE;
        out[i] = (uint8_t)(hi << 4 | lo);
    }
    return hex[2 * len] == '\0' ? 0 : CROW_EPARSE;
}
