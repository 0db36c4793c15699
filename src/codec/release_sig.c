/* Release signatures: the signed message, signing a parsed or encoded manifest, public key lines
 * and the keyring they fill, and the trust decision get and agent apply before fetching a byte. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crowcast/error.h"
#include "crowcast/hash.h"
#include "crowcast/release_sig.h"

void crow_release_sig_message(const uint8_t release_id[CROW_SHA256_LEN],
                              uint8_t out[CROW_RELEASE_SIG_MSG_LEN])
{
    memcpy(out, CROW_RELEASE_SIG_CONTEXT, sizeof CROW_RELEASE_SIG_CONTEXT);
    memcpy(out + sizeof CROW_RELEASE_SIG_CONTEXT, release_id, CROW_SHA256_LEN);
}

void crow_key_id(const uint8_t public_key[CROW_ED25519_PUBLIC_LEN], char out[CROW_KEY_ID_HEX + 1])
{
    uint8_t digest[CROW_SHA256_LEN];
    crow_sha256(public_key, CROW_ED25519_PUBLIC_LEN, digest);
    crow_hex(digest, CROW_KEY_ID_HEX / 2, out);
}

/* ---- signing ---- */

int crow_release_sign(crow_manifest_t *m, const uint8_t secret[CROW_ED25519_SECRET_LEN])
{
    crow_manifest_signature_t s;
    uint8_t msg[CROW_RELEASE_SIG_MSG_LEN];
    crow_release_sig_message(m->release_id, msg);
    int ret = crow_ed25519_public(secret, s.public_key);
    if (ret || (ret = crow_ed25519_sign(secret, msg, sizeof msg, s.signature)))
        return ret;
    uint32_t slot = 0;
    while (slot < m->signature_count &&
           memcmp(m->signatures[slot].public_key, s.public_key, sizeof s.public_key))
        slot++;
    if (slot == CROW_MANIFEST_MAX_SIGNATURES)
        return CROW_ELIMIT;
    m->signatures[slot] = s;
    if (slot == m->signature_count)
        m->signature_count++;
    return 0;
}

bool crow_release_signature_valid(const crow_manifest_t *m, uint32_t i)
{
    uint8_t msg[CROW_RELEASE_SIG_MSG_LEN];
    crow_release_sig_message(m->release_id, msg);
    return i < m->signature_count &&
           crow_ed25519_verify(m->signatures[i].public_key, msg, sizeof msg, m->signatures[i].signature);
}

int crow_release_sign_encoded(const uint8_t *in, size_t in_len, const uint8_t secret[CROW_ED25519_SECRET_LEN],
                              uint8_t **out, size_t *out_len, char *why, size_t why_cap)
{
    crow_manifest_t m, check;
    uint8_t *buf = NULL;
    *out = NULL;
    *out_len = 0;
    int ret = crow_manifest_parse(in, in_len, &m, why, why_cap);
    if (ret)
        return ret;
    memset(&check, 0, sizeof check);
    if ((ret = crow_release_sign(&m, secret))) {
        crow_why(why, why_cap, ret, "%s",
                 ret == CROW_ELIMIT ? "the manifest already holds the most signatures it may"
                                    : "OpenSSL cannot sign");
        goto out;
    }
    size_t cap = crow_manifest_encoded_size(&m);
    long len;
    if (!(buf = malloc(cap))) {
        ret = crow_why(why, why_cap, -ENOMEM, "out of memory");
        goto out;
    }
    if ((len = crow_manifest_encode(&m, buf, cap)) < 0) {
        ret = crow_why(why, why_cap, (int)len, "cannot encode the manifest: %s", crow_strerror((int)len));
        goto out;
    }
    if ((ret = crow_manifest_parse(buf, (size_t)len, &check, why, why_cap)))
        goto out;
    if (memcmp(check.release_id, m.release_id, CROW_SHA256_LEN) != 0) {
        ret = crow_why(why, why_cap, CROW_EMANIFEST,
                       "its info does not encode back to the same bytes (not made by crowcast make?): "
                       "signing it would make another release");
        goto out;
    }
    *out = buf;
    *out_len = (size_t)len;
    buf = NULL;
out:
    free(buf);
    crow_manifest_dispose(&check);
    crow_manifest_dispose(&m);
    return ret;
}

/* ---- public key lines ---- */

static bool printable_text(const char *s, size_t len)
{
    for (size_t i = 0; i < len; i++)
        if ((unsigned char)s[i] < 0x20 ? s[i] != '\t' : s[i] == 0x7f)
            return false;
    return true;
}

long crow_pubkey_format(const uint8_t public_key[CROW_ED25519_PUBLIC_LEN], const char *comment, char *buf,
                        size_t cap)
{
    size_t clen = comment ? strlen(comment) : 0;
    if (clen > CROW_PUBKEY_COMMENT_MAX || !printable_text(comment ? comment : "", clen))
        return CROW_EPARSE;
    char hex[2 * CROW_ED25519_PUBLIC_LEN + 1];
    crow_hex(public_key, CROW_ED25519_PUBLIC_LEN, hex);
    int n = snprintf(buf, cap, "%s %s%s%s\n", CROW_PUBKEY_TAG, hex, clen ? " " : "", clen ? comment : "");
    return n < 0 || (size_t)n >= cap ? CROW_ESPACE : n;
}

int crow_pubkey_parse(const char *line, size_t len, uint8_t public_key[CROW_ED25519_PUBLIC_LEN],
                      const char **comment, size_t *comment_len, char *why, size_t why_cap)
{
    const size_t tag = sizeof CROW_PUBKEY_TAG - 1, hex_len = 2 * CROW_ED25519_PUBLIC_LEN;
    if (len > CROW_PUBKEY_LINE_MAX)
        return crow_why(why, why_cap, CROW_EPARSE, "longer than %zu bytes", CROW_PUBKEY_LINE_MAX);
    if (len < tag + 1 || memcmp(line, CROW_PUBKEY_TAG, tag) != 0 || line[tag] != ' ')
        return crow_why(why, why_cap, CROW_EPARSE, "does not start with \"%s \"", CROW_PUBKEY_TAG);
    const char *hex = line + tag + 1;
    size_t rest = len - tag - 1;
    size_t digits = 0;
    while (digits < rest && hex[digits] != ' ')
        digits++;
    char copy[2 * CROW_ED25519_PUBLIC_LEN + 1];
    if (digits != hex_len)
        return crow_why(why, why_cap, CROW_EPARSE, "the key has %zu hex digits, an Ed25519 key %zu", digits,
                        hex_len);
    memcpy(copy, hex, hex_len);
    copy[hex_len] = '\0';
    if (crow_unhex(copy, public_key, CROW_ED25519_PUBLIC_LEN))
        return crow_why(why, why_cap, CROW_EPARSE, "the key is not hex");
    const char *c = hex + hex_len + (rest > hex_len ? 1 : 0);
    size_t clen = len - (size_t)(c - line);
    if (!printable_text(c, clen))
        return crow_why(why, why_cap, CROW_EPARSE, "the comment holds a control byte");
    if (comment)
        *comment = c;
    if (comment_len)
        *comment_len = clen;
    return 0;
}

/* ---- keyrings ---- */

bool crow_keyring_has(const crow_keyring_t *kr, const uint8_t public_key[CROW_ED25519_PUBLIC_LEN])
{
    for (uint32_t i = 0; i < kr->count; i++)
        if (memcmp(kr->keys[i], public_key, CROW_ED25519_PUBLIC_LEN) == 0)
            return true;
    return false;
}

int crow_keyring_add_text(crow_keyring_t *kr, const char *text, size_t len, char *why, size_t why_cap)
{
    if (memchr(text, '\0', len))
        return crow_why(why, why_cap, CROW_EPARSE, "holds a NUL byte: not a key file");
    size_t start = 0;
    for (unsigned line = 1; start < len; line++) {
        const char *nl = memchr(text + start, '\n', len - start);
        size_t end = nl ? (size_t)(nl - text) : len, n = end - start;
        const char *l = text + start;
        start = end + 1;
        if (n && l[n - 1] == '\r')
            n--;
        size_t lead = 0;
        while (lead < n && (l[lead] == ' ' || l[lead] == '\t'))
            lead++;
        if (lead == n || l[lead] == '#')
            continue;
        uint8_t key[CROW_ED25519_PUBLIC_LEN];
        char detail[128];
        if (crow_pubkey_parse(l + lead, n - lead, key, NULL, NULL, detail, sizeof detail))
            return crow_why(why, why_cap, CROW_EPARSE, "line %u: %s", line, detail);
        if (crow_keyring_has(kr, key))
            continue;
        if (kr->count == CROW_KEYRING_MAX)
            return crow_why(why, why_cap, CROW_ELIMIT, "line %u: more than %u trusted keys", line,
                            CROW_KEYRING_MAX);
        memcpy(kr->keys[kr->count++], key, CROW_ED25519_PUBLIC_LEN);
    }
    return 0;
}

/* ---- the trust decision ---- */

int crow_release_verify(const crow_manifest_t *m, const crow_keyring_t *trust, uint32_t *signer, char *why,
                        size_t why_cap)
{
    if (m->signature_count == 0)
        return crow_why(why, why_cap, CROW_ESIGNATURE, "the release is not signed");
    int good = -1;
    char unknown[CROW_MANIFEST_MAX_SIGNATURES * (CROW_KEY_ID_HEX + 2) + 1] = "";
    for (uint32_t i = 0; i < m->signature_count && i < CROW_MANIFEST_MAX_SIGNATURES; i++) {
        char id[CROW_KEY_ID_HEX + 1];
        crow_key_id(m->signatures[i].public_key, id);
        if (!crow_keyring_has(trust, m->signatures[i].public_key)) {
            snprintf(unknown + strlen(unknown), sizeof unknown - strlen(unknown), "%s%s",
                     unknown[0] ? ", " : "", id);
            continue;
        }
        if (!crow_release_signature_valid(m, i))
            return crow_why(
                why, why_cap, CROW_ESIGNATURE,
                "the signature by trusted key %s does not verify (the manifest was altered, or the "
                "signature belongs to another release)",
                id);
        if (good < 0)
            good = (int)i;
    }
    if (good < 0)
        return crow_why(why, why_cap, CROW_ESIGNATURE,
                        "signed only by key%s %s, which this host does not trust",
                        m->signature_count > 1 ? "s" : "", unknown);
    if (signer)
        *signer = (uint32_t)good;
    return 0;
}
