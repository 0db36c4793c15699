/* Ed25519 (RFC 8032) signatures through OpenSSL, over raw keys held in memory.
 *
 * A secret key is its 32-byte seed; a public key its 32-byte encoding; a signature 64 bytes. The
 * PEM helpers read and write the PKCS#8 form `openssl genpkey -algorithm ed25519` writes, so a key
 * made with either tool works with the other. Nothing here touches a file. */
#ifndef CROWCAST_ED25519_H
#define CROWCAST_ED25519_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define CROW_ED25519_SECRET_LEN    32
#define CROW_ED25519_PUBLIC_LEN    32
#define CROW_ED25519_SIGNATURE_LEN 64
#define CROW_ED25519_PEM_MAX       512 /* a PKCS#8 Ed25519 key in PEM is about 120 bytes */

/* A fresh key pair from OpenSSL's random generator. Returns 0, or CROW_EUNSUPPORTED when OpenSSL
 * cannot make one. */
int crow_ed25519_generate(uint8_t secret[CROW_ED25519_SECRET_LEN],
                          uint8_t public_key[CROW_ED25519_PUBLIC_LEN]);
/* The public key of a secret key. Returns 0 or CROW_EUNSUPPORTED. */
int crow_ed25519_public(const uint8_t secret[CROW_ED25519_SECRET_LEN],
                        uint8_t public_key[CROW_ED25519_PUBLIC_LEN]);
/* Signs msg[0..len). Returns 0 or CROW_EUNSUPPORTED. */
int crow_ed25519_sign(const uint8_t secret[CROW_ED25519_SECRET_LEN], const void *msg, size_t len,
                      uint8_t sig[CROW_ED25519_SIGNATURE_LEN]);
/* True when sig is public_key's signature of msg[0..len). A public key that is not a valid point
 * does not verify anything. */
bool crow_ed25519_verify(const uint8_t public_key[CROW_ED25519_PUBLIC_LEN], const void *msg, size_t len,
                         const uint8_t sig[CROW_ED25519_SIGNATURE_LEN]);

/* Writes the secret key as an unencrypted PKCS#8 PEM block ("-----BEGIN PRIVATE KEY-----") into
 * buf[0..cap), NUL-terminated. Returns its length, CROW_ESPACE or CROW_EUNSUPPORTED. */
long crow_ed25519_secret_to_pem(const uint8_t secret[CROW_ED25519_SECRET_LEN], char *buf, size_t cap);
/* Reads a PKCS#8 PEM private key from pem[0..len). Returns 0, CROW_EPARSE (not a PEM private key,
 * or an encrypted one: it is never prompted for a passphrase) or CROW_EUNSUPPORTED (a key of
 * another algorithm). */
int crow_ed25519_secret_from_pem(const char *pem, size_t len, uint8_t secret[CROW_ED25519_SECRET_LEN]);

/* Overwrites a secret in memory in a way the compiler does not drop. */
void crow_ed25519_wipe(void *secret, size_t len);

#endif
