/* Signed releases: what an operator's Ed25519 key signs, the public key files that say which keys
 * a host trusts, and the decision whether a manifest is signed by one of them. Sans I/O: key files
 * arrive as text, manifests as parsed structures.
 *
 * What is signed: the 19 ASCII bytes "crowcast release v1", one NUL byte, then the 32-byte release
 * id (SHA-256 of the bencoded `info`). The prefix keeps a release signature from meaning anything
 * in another protocol that a key might also sign for. Since the release id covers every byte of
 * `info` (names, lengths, every piece hash), changing any content, or only its layout, makes a
 * different release id that no signature covers. The signatures themselves sit outside `info`
 * (manifest.h, "crowcast signatures"), so signing changes neither id.
 *
 * Public key file (keygen writes OUT.pub; a trust file may hold many): one key per line,
 *     crowcast-ed25519 <64 hex digits: the raw public key> [comment to the end of the line]
 * blank lines and lines starting with '#' are skipped. A key's id is the first 8 bytes of the
 * SHA-256 of its raw public key, in 16 hex digits: what commands print to name a key.
 */
#ifndef CROWCAST_RELEASE_SIG_H
#define CROWCAST_RELEASE_SIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "crowcast/ed25519.h"
#include "crowcast/manifest.h"

#define CROW_RELEASE_SIG_CONTEXT "crowcast release v1"
#define CROW_RELEASE_SIG_MSG_LEN (sizeof CROW_RELEASE_SIG_CONTEXT + CROW_SHA256_LEN) /* the NUL counts */
#define CROW_KEY_ID_HEX          16
#define CROW_PUBKEY_TAG          "crowcast-ed25519"
#define CROW_PUBKEY_COMMENT_MAX  200 /* bytes of comment a key line may carry */
#define CROW_PUBKEY_LINE_MAX                                                                                 \
    (sizeof CROW_PUBKEY_TAG + 2 * CROW_ED25519_PUBLIC_LEN + 1 + CROW_PUBKEY_COMMENT_MAX + 1)
#define CROW_KEYRING_MAX 64 /* keys one --trust may name */

/* The bytes a release signature signs, for a release id. */
void crow_release_sig_message(const uint8_t release_id[CROW_SHA256_LEN],
                              uint8_t out[CROW_RELEASE_SIG_MSG_LEN]);
/* A key's id in hex (CROW_KEY_ID_HEX digits and a NUL). */
void crow_key_id(const uint8_t public_key[CROW_ED25519_PUBLIC_LEN], char out[CROW_KEY_ID_HEX + 1]);

/* Signs the release m describes (m->release_id must be the parsed one) and stores the signature in
 * m->signatures, replacing an earlier one by the same key. Returns 0, CROW_ELIMIT (every slot holds
 * another key's signature) or CROW_EUNSUPPORTED (OpenSSL failed). */
int crow_release_sign(crow_manifest_t *m, const uint8_t secret[CROW_ED25519_SECRET_LEN]);
/* True when signature i of m verifies against its own public key and m's release id. */
bool crow_release_signature_valid(const crow_manifest_t *m, uint32_t i);

/* Signs an encoded manifest: parses in[0..in_len), signs it, encodes it again into *out (malloc'd,
 * the caller frees it) and checks that the release id did not change, so that a manifest whose
 * `info` would not encode back byte for byte (not made by crowcast make) is refused rather than
 * turned into another release. Returns 0, a crow_manifest_parse code, CROW_ELIMIT,
 * CROW_EMANIFEST (not in canonical form), CROW_EUNSUPPORTED or -ENOMEM, with a reason in why. */
int crow_release_sign_encoded(const uint8_t *in, size_t in_len, const uint8_t secret[CROW_ED25519_SECRET_LEN],
                              uint8_t **out, size_t *out_len, char *why, size_t why_cap);

/* Public key line: writes "crowcast-ed25519 HEX COMMENT\n" (no comment: no space after HEX) into
 * buf[0..cap), NUL-terminated. Returns its length, CROW_ESPACE, or CROW_EPARSE when the comment is
 * longer than CROW_PUBKEY_COMMENT_MAX or holds a control byte. */
long crow_pubkey_format(const uint8_t public_key[CROW_ED25519_PUBLIC_LEN], const char *comment, char *buf,
                        size_t cap);
/* Parses one key line (without its newline). Returns 0 with the key (and *comment / *comment_len,
 * pointing into line, when not NULL), or CROW_EPARSE with a reason. */
int crow_pubkey_parse(const char *line, size_t len, uint8_t public_key[CROW_ED25519_PUBLIC_LEN],
                      const char **comment, size_t *comment_len, char *why, size_t why_cap);

/* The keys a host trusts. Callers own it; zero it (or {0}) to start empty. */
typedef struct crow_keyring {
    uint8_t keys[CROW_KEYRING_MAX][CROW_ED25519_PUBLIC_LEN];
    uint32_t count;
} crow_keyring_t;

/* Adds every key of a key file's text (see the format above); a key already present is not added
 * twice. Returns 0, CROW_EPARSE ("line N: ...": a malformed line, or a NUL byte), or CROW_ELIMIT
 * (more than CROW_KEYRING_MAX keys). On error the keyring keeps the keys of the lines before it. */
int crow_keyring_add_text(crow_keyring_t *kr, const char *text, size_t len, char *why, size_t why_cap);
bool crow_keyring_has(const crow_keyring_t *kr, const uint8_t public_key[CROW_ED25519_PUBLIC_LEN]);

/* Whether m may be fetched by a host that trusts `trust`: some signature is by a trusted key and
 * verifies, and no signature by a trusted key fails (a trusted key's bad signature means the manifest
 * was altered, or the signature copied from another release). Signatures by other keys are ignored.
 * Returns 0 and, when signer is not NULL, the index of the trusted signature that verified; or
 * CROW_ESIGNATURE with a one-line reason (unsigned; only unknown keys, named by id; or whose
 * signature failed). */
int crow_release_verify(const crow_manifest_t *m, const crow_keyring_t *trust, uint32_t *signer, char *why,
                        size_t why_cap);

#endif
