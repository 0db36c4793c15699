/* Ed25519 through OpenSSL's EVP interface: raw keys in, raw signatures out, PKCS#8 PEM for keys
 * at rest. Every EVP object lives only for the call that needs it. */
#include <openssl/bio.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <string.h>

#include "crowcast/ed25519.h"
#include "crowcast/error.h"

static EVP_PKEY *secret_key(const uint8_t secret[CROW_ED25519_SECRET_LEN])
{
    return EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, NULL, secret, CROW_ED25519_SECRET_LEN);
}

static int raw_public(EVP_PKEY *key, uint8_t public_key[CROW_ED25519_PUBLIC_LEN])
{
    size_t len = CROW_ED25519_PUBLIC_LEN;
    return EVP_PKEY_get_raw_public_key(key, public_key, &len) == 1 && len == CROW_ED25519_PUBLIC_LEN
               ? 0
               : CROW_EUNSUPPORTED;
}

int crow_ed25519_generate(uint8_t secret[CROW_ED25519_SECRET_LEN],
                          uint8_t public_key[CROW_ED25519_PUBLIC_LEN])
{
    EVP_PKEY *key = NULL;
    EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_id(EVP_PKEY_ED25519, NULL);
    int ret = CROW_EUNSUPPORTED;
    size_t len = CROW_ED25519_SECRET_LEN;
    if (!ctx || EVP_PKEY_keygen_init(ctx) != 1 || EVP_PKEY_keygen(ctx, &key) != 1)
        goto out;
    if (EVP_PKEY_get_raw_private_key(key, secret, &len) != 1 || len != CROW_ED25519_SECRET_LEN)
        goto out;
    ret = raw_public(key, public_key);
out:
    EVP_PKEY_free(key);
    EVP_PKEY_CTX_free(ctx);
    ERR_clear_error();
    return ret;
}

int crow_ed25519_public(const uint8_t secret[CROW_ED25519_SECRET_LEN],
                        uint8_t public_key[CROW_ED25519_PUBLIC_LEN])
{
    EVP_PKEY *key = secret_key(secret);
    int ret = key ? raw_public(key, public_key) : CROW_EUNSUPPORTED;
    EVP_PKEY_free(key);
    ERR_clear_error();
    return ret;
}

int crow_ed25519_sign(const uint8_t secret[CROW_ED25519_SECRET_LEN], const void *msg, size_t len,
                      uint8_t sig[CROW_ED25519_SIGNATURE_LEN])
{
    EVP_PKEY *key = secret_key(secret);
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    size_t sig_len = CROW_ED25519_SIGNATURE_LEN;
    /* Ed25519 hashes internally: no digest is named, and the one-shot call is the only one allowed. */
    int ok = key && ctx && EVP_DigestSignInit(ctx, NULL, NULL, NULL, key) == 1 &&
             EVP_DigestSign(ctx, sig, &sig_len, msg, len) == 1 && sig_len == CROW_ED25519_SIGNATURE_LEN;
    EVP_MD_CTX_free(ctx);
    EVP_PKEY_free(key);
    ERR_clear_error();
    return ok ? 0 : CROW_EUNSUPPORTED;
}

bool crow_ed25519_verify(const uint8_t public_key[CROW_ED25519_PUBLIC_LEN], const void *msg, size_t len,
                         const uint8_t sig[CROW_ED25519_SIGNATURE_LEN])
{
    EVP_PKEY *key = EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, NULL, public_key, CROW_ED25519_PUBLIC_LEN);
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    bool ok = key && ctx && EVP_DigestVerifyInit(ctx, NULL, NULL, NULL, key) == 1 &&
              EVP_DigestVerify(ctx, sig, CROW_ED25519_SIGNATURE_LEN, msg, len) == 1;
    EVP_MD_CTX_free(ctx);
    EVP_PKEY_free(key);
    ERR_clear_error();
    return ok;
}

long crow_ed25519_secret_to_pem(const uint8_t secret[CROW_ED25519_SECRET_LEN], char *buf, size_t cap)
{
    EVP_PKEY *key = secret_key(secret);
    BIO *bio = BIO_new(BIO_s_mem());
    long ret = CROW_EUNSUPPORTED, len;
    char *data;
    if (!key || !bio || PEM_write_bio_PKCS8PrivateKey(bio, key, NULL, NULL, 0, NULL, NULL) != 1)
        goto out;
    len = BIO_get_mem_data(bio, &data);
    if (len <= 0 || (size_t)len >= cap) {
        ret = len <= 0 ? CROW_EUNSUPPORTED : CROW_ESPACE;
        goto out;
    }
    memcpy(buf, data, (size_t)len);
    buf[len] = '\0';
    ret = len;
out:
    /* The BIO's buffer held the secret: clear it before OpenSSL frees it. */
    if (bio && (len = BIO_get_mem_data(bio, &data)) > 0)
        OPENSSL_cleanse(data, (size_t)len);
    BIO_free(bio);
    EVP_PKEY_free(key);
    ERR_clear_error();
    return ret;
}

/* Never asks for a passphrase: an encrypted key simply fails to load. */
static int no_passphrase(char *buf, int size, int rwflag, void *u)
{
    (void)buf, (void)size, (void)rwflag, (void)u;
    return -1;
}

int crow_ed25519_secret_from_pem(const char *pem, size_t len, uint8_t secret[CROW_ED25519_SECRET_LEN])
{
    if (len > 64 * 1024)
        return CROW_EPARSE;
    BIO *bio = BIO_new_mem_buf(pem, (int)len);
    EVP_PKEY *key = bio ? PEM_read_bio_PrivateKey(bio, NULL, no_passphrase, NULL) : NULL;
    int ret = CROW_EPARSE;
    size_t n = CROW_ED25519_SECRET_LEN;
    if (key)
        ret = EVP_PKEY_id(key) != EVP_PKEY_ED25519 ? CROW_EUNSUPPORTED
              : EVP_PKEY_get_raw_private_key(key, secret, &n) == 1 && n == CROW_ED25519_SECRET_LEN
                  ? 0
                  : CROW_EPARSE;
    EVP_PKEY_free(key);
    BIO_free(bio);
    ERR_clear_error();
    return ret;
}

void crow_ed25519_wipe(void *secret, size_t len)
{
    OPENSSL_cleanse(secret, len);
}
