/* release_sig and ed25519: the RFC 8032 test vector, PEM round trips, the signed message, signing
 * a manifest (ids unchanged, same key replaced), the "crowcast signatures" shape checks on hostile
 * input, key lines and keyrings, and the trust decision get and agent apply. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crowcast/ed25519.h"
#include "crowcast/error.h"
#include "crowcast/hash.h"
#include "crowcast/manifest.h"
#include "crowcast/release_sig.h"
#include "check_main.h"

/* RFC 8032 section 7.1, TEST 1: the empty message. */
static const char rfc_secret[] = "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60";
static const char rfc_public[] = "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a";
static const char rfc_sig[] = "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33b"
                              "acc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b";

static void unhex(const char *hex, uint8_t *out, size_t len)
{
    ck_assert_int_eq(crow_unhex(hex, out, len), 0);
}

static void secret_n(uint8_t secret[CROW_ED25519_SECRET_LEN], uint8_t seed)
{
    for (int i = 0; i < CROW_ED25519_SECRET_LEN; i++)
        secret[i] = (uint8_t)(seed * 31 + i);
}

static void public_of(const uint8_t secret[CROW_ED25519_SECRET_LEN],
                      uint8_t public_key[CROW_ED25519_PUBLIC_LEN])
{
    ck_assert_int_eq(crow_ed25519_public(secret, public_key), 0);
}

/* The encoded manifest of a small single-file release; `variant` changes its content. */
static uint8_t *release_bytes(int variant, size_t *len)
{
    crow_manifest_t m = {0};
    m.name = strdup("app.bin");
    m.single_file = true;
    m.piece_length = CROW_MIN_PIECE_LENGTH;
    m.chunk_size = CROW_DEFAULT_CHUNK_SIZE;
    m.file_count = 1;
    m.files = calloc(1, sizeof *m.files);
    m.files[0].path = strdup("app.bin");
    m.files[0].length = 40000;
    char why[200];
    ck_assert_msg(crow_manifest_layout(&m, why, sizeof why) == 0, "%s", why);
    m.sha1 = calloc(m.piece_count, CROW_SHA1_LEN);
    m.sha256 = calloc(m.piece_count, CROW_SHA256_LEN);
    m.sha256[0] = (uint8_t)variant;
    size_t cap = crow_manifest_encoded_size(&m);
    uint8_t *buf = malloc(cap);
    long n = crow_manifest_encode(&m, buf, cap);
    ck_assert_int_gt(n, 0);
    *len = (size_t)n;
    crow_manifest_dispose(&m);
    return buf;
}

static void parse_ok(const uint8_t *buf, size_t len, crow_manifest_t *m)
{
    char why[256];
    int ret = crow_manifest_parse(buf, len, m, why, sizeof why);
    ck_assert_msg(ret == 0, "parse: %s", why);
}

/* A release's manifest signed by the keys with these seeds, parsed. */
static void signed_release(int variant, const uint8_t *seeds, unsigned n, crow_manifest_t *m)
{
    size_t len;
    uint8_t *buf = release_bytes(variant, &len);
    parse_ok(buf, len, m);
    for (unsigned i = 0; i < n; i++) {
        uint8_t secret[CROW_ED25519_SECRET_LEN];
        secret_n(secret, seeds[i]);
        ck_assert_int_eq(crow_release_sign(m, secret), 0);
    }
    free(buf);
}

static void trust_seeds(crow_keyring_t *kr, const uint8_t *seeds, unsigned n)
{
    memset(kr, 0, sizeof *kr);
    for (unsigned i = 0; i < n; i++) {
        uint8_t secret[CROW_ED25519_SECRET_LEN];
        secret_n(secret, seeds[i]);
        public_of(secret, kr->keys[kr->count++]);
    }
}

/* ---- ed25519 ---- */

START_TEST(test_rfc8032_vector)
{
    uint8_t secret[32], public_key[32], want_pub[32], sig[64], want_sig[64];
    unhex(rfc_secret, secret, 32);
    unhex(rfc_public, want_pub, 32);
    unhex(rfc_sig, want_sig, 64);
    public_of(secret, public_key);
    ck_assert_mem_eq(public_key, want_pub, 32);
    ck_assert_int_eq(crow_ed25519_sign(secret, "", 0, sig), 0);
    ck_assert_mem_eq(sig, want_sig, 64);
    ck_assert(crow_ed25519_verify(public_key, "", 0, sig));
    ck_assert(!crow_ed25519_verify(public_key, "x", 1, sig));
    for (int bit = 0; bit < 512; bit += 37) {
        sig[bit / 8] ^= (uint8_t)(1u << (bit % 8));
        ck_assert_msg(!crow_ed25519_verify(public_key, "", 0, sig), "bit %d", bit);
        sig[bit / 8] ^= (uint8_t)(1u << (bit % 8));
    }
    /* A public key that is not a curve point verifies nothing (and does not crash). */
    uint8_t junk[32];
    memset(junk, 0xff, sizeof junk);
    ck_assert(!crow_ed25519_verify(junk, "", 0, sig));
}
END_TEST

START_TEST(test_generate_and_pem_round_trip)
{
    uint8_t secret[32], public_key[32], again[32], back[32], sig[64];
    ck_assert_int_eq(crow_ed25519_generate(secret, public_key), 0);
    public_of(secret, again);
    ck_assert_mem_eq(again, public_key, 32);
    char pem[CROW_ED25519_PEM_MAX];
    long n = crow_ed25519_secret_to_pem(secret, pem, sizeof pem);
    ck_assert_int_gt(n, 0);
    ck_assert_ptr_nonnull(strstr(pem, "-----BEGIN PRIVATE KEY-----"));
    ck_assert_int_eq(crow_ed25519_secret_to_pem(secret, pem, 20), CROW_ESPACE);
    n = crow_ed25519_secret_to_pem(secret, pem, sizeof pem);
    ck_assert_int_eq(crow_ed25519_secret_from_pem(pem, (size_t)n, back), 0);
    ck_assert_mem_eq(back, secret, 32);
    ck_assert_int_eq(crow_ed25519_sign(back, "msg", 3, sig), 0);
    ck_assert(crow_ed25519_verify(public_key, "msg", 3, sig));
    /* Truncated, garbage, or a public key where a private one belongs. */
    ck_assert_int_eq(crow_ed25519_secret_from_pem(pem, (size_t)n / 2, back), CROW_EPARSE);
    ck_assert_int_eq(crow_ed25519_secret_from_pem("hello", 5, back), CROW_EPARSE);
    static const char pub_pem[] = "-----BEGIN PUBLIC KEY-----\n"
                                  "MCowBQYDK2VwAyEA11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=\n"
                                  "-----END PUBLIC KEY-----\n";
    ck_assert_int_eq(crow_ed25519_secret_from_pem(pub_pem, sizeof pub_pem - 1, back), CROW_EPARSE);
}
END_TEST

START_TEST(test_openssl_pkcs8_key_reads)
{
    /* The RFC 8032 secret as `openssl genpkey -algorithm ed25519` would store it (RFC 8410). */
    static const char pem[] = "-----BEGIN PRIVATE KEY-----\n"
                              "MC4CAQAwBQYDK2VwBCIEIJ1hsZ3v/VpguoRK9JLsLMREScVpezJpGXA7rAMcrn9g\n"
                              "-----END PRIVATE KEY-----\n";
    uint8_t secret[32], want[32];
    ck_assert_int_eq(crow_ed25519_secret_from_pem(pem, sizeof pem - 1, secret), 0);
    unhex(rfc_secret, want, 32);
    ck_assert_mem_eq(secret, want, 32);
}
END_TEST

/* ---- the signed message and signing ---- */

START_TEST(test_message_binds_the_release_id)
{
    uint8_t id[32], msg[CROW_RELEASE_SIG_MSG_LEN];
    for (int i = 0; i < 32; i++)
        id[i] = (uint8_t)i;
    crow_release_sig_message(id, msg);
    ck_assert_uint_eq(sizeof msg, 20 + 32);
    ck_assert_mem_eq(msg, "crowcast release v1\0", 20);
    ck_assert_mem_eq(msg + 20, id, 32);
    char key_id[CROW_KEY_ID_HEX + 1];
    uint8_t public_key[32], digest[32];
    unhex(rfc_public, public_key, 32);
    crow_key_id(public_key, key_id);
    crow_sha256(public_key, 32, digest);
    char want[17];
    crow_hex(digest, 8, want);
    ck_assert_str_eq(key_id, want);
}
END_TEST

START_TEST(test_sign_keeps_ids_and_replaces_same_key)
{
    size_t len, out_len, again_len;
    uint8_t *buf = release_bytes(1, &len), *out, *again;
    crow_manifest_t before, after;
    parse_ok(buf, len, &before);
    uint8_t s1[32], s2[32];
    secret_n(s1, 1);
    secret_n(s2, 2);
    char why[256];
    ck_assert_int_eq(crow_release_sign_encoded(buf, len, s1, &out, &out_len, why, sizeof why), 0);
    ck_assert_int_eq(crow_release_sign_encoded(out, out_len, s1, &again, &again_len, why, sizeof why), 0);
    ck_assert_uint_eq(again_len, out_len); /* the same key's signature replaced, not added */
    ck_assert_mem_eq(again, out, out_len); /* Ed25519 is deterministic */
    free(again);
    ck_assert_int_eq(crow_release_sign_encoded(out, out_len, s2, &again, &again_len, why, sizeof why), 0);
    parse_ok(again, again_len, &after);
    ck_assert_mem_eq(after.release_id, before.release_id, 32);
    ck_assert_mem_eq(after.info_hash, before.info_hash, 20);
    ck_assert_uint_eq(after.signature_count, 2);
    ck_assert(crow_release_signature_valid(&after, 0));
    ck_assert(crow_release_signature_valid(&after, 1));
    ck_assert(!crow_release_signature_valid(&after, 2));
    crow_manifest_dispose(&after);
    crow_manifest_dispose(&before);
    free(again);
    free(out);
    free(buf);
}
END_TEST

START_TEST(test_sign_refuses_non_canonical_and_full)
{
    size_t len, out_len;
    uint8_t *buf = release_bytes(1, &len), *out = NULL;
    /* An extra key inside info ("private", as other tools write) would be lost by re-encoding. */
    const char *info = strstr((const char *)buf, "4:infod");
    ck_assert_ptr_nonnull(info);
    size_t at = (size_t)(info - (const char *)buf) + 7;
    const char *extra = "8:crowcas0i1e"; /* sorts before "8:crowcast" */
    size_t extra_len = strlen(extra);
    uint8_t *odd = malloc(len + extra_len);
    memcpy(odd, buf, at);
    memcpy(odd + at, extra, extra_len);
    memcpy(odd + at + extra_len, buf + at, len - at);
    uint8_t secret[32];
    secret_n(secret, 1);
    char why[256];
    crow_manifest_t check;
    parse_ok(odd, len + extra_len, &check); /* a reader accepts it */
    crow_manifest_dispose(&check);
    ck_assert_int_eq(crow_release_sign_encoded(odd, len + extra_len, secret, &out, &out_len, why, sizeof why),
                     CROW_EMANIFEST);
    ck_assert_ptr_null(out);
    ck_assert_ptr_nonnull(strstr(why, "another release"));
    ck_assert_int_eq(crow_release_sign_encoded(buf, len / 2, secret, &out, &out_len, why, sizeof why),
                     CROW_EPARSE);
    /* Every slot holds another key: a ninth signer is refused. */
    crow_manifest_t m;
    uint8_t seeds[CROW_MANIFEST_MAX_SIGNATURES];
    for (unsigned i = 0; i < CROW_MANIFEST_MAX_SIGNATURES; i++)
        seeds[i] = (uint8_t)(i + 10);
    signed_release(1, seeds, CROW_MANIFEST_MAX_SIGNATURES, &m);
    ck_assert_int_eq(crow_release_sign(&m, secret), CROW_ELIMIT);
    ck_assert_uint_eq(m.signature_count, CROW_MANIFEST_MAX_SIGNATURES);
    crow_manifest_dispose(&m);
    free(odd);
    free(buf);
}
END_TEST

/* ---- hostile "crowcast signatures" ---- */

/* The release's manifest with `value` (bencode) under "crowcast signatures". */
static uint8_t *with_signatures(const char *value, size_t value_len, size_t *len)
{
    size_t base_len;
    uint8_t *base = release_bytes(1, &base_len);
    static const char key[] = "19:crowcast signatures";
    *len = base_len + sizeof key - 1 + value_len;
    uint8_t *buf = malloc(*len);
    buf[0] = 'd'; /* the release has no announce: "crowcast signatures" sorts first */
    memcpy(buf + 1, key, sizeof key - 1);
    memcpy(buf + sizeof key, value, value_len);
    memcpy(buf + sizeof key + value_len, base + 1, base_len - 1);
    free(base);
    return buf;
}

static size_t entry(char *out, size_t key_len, size_t sig_len, uint8_t fill)
{
    size_t n = (size_t)sprintf(out, "d10:public key%zu:", key_len);
    memset(out + n, fill, key_len);
    n += key_len;
    n += (size_t)sprintf(out + n, "9:signature%zu:", sig_len);
    memset(out + n, 0x55, sig_len);
    n += sig_len;
    out[n++] = 'e';
    return n;
}

struct hostile {
    const char *name;
    int code;
    const char *reason;
};

static const struct hostile hostile[] = {
    {"truncated signature", CROW_EMANIFEST, "63-byte signature"},
    {"long signature", CROW_EMANIFEST, "65-byte signature"},
    {"short key", CROW_EMANIFEST, "31-byte key"},
    {"duplicate key", CROW_EMANIFEST, "by the same key"},
    {"too many", CROW_ELIMIT, "exceed the limit of 8"},
    {"empty list", CROW_EMANIFEST, "not a non-empty list"},
    {"not a list", CROW_EMANIFEST, "not a non-empty list"},
    {"entry not a dict", CROW_EMANIFEST, "is not a dictionary"},
    {"missing signature", CROW_EMANIFEST, "is not a dictionary"},
    {"huge signature", CROW_EMANIFEST, "1048576-byte signature"},
};

START_TEST(test_hostile_signatures_rejected)
{
    const struct hostile *h = &hostile[_i];
    size_t cap = (2u << 20), n = 0;
    char *v = malloc(cap);
    v[n++] = 'l';
    switch (_i) {
    case 0:
        n += entry(v + n, 32, 63, 1);
        break;
    case 1:
        n += entry(v + n, 32, 65, 1);
        break;
    case 2:
        n += entry(v + n, 31, 64, 1);
        break;
    case 3:
        n += entry(v + n, 32, 64, 1);
        n += entry(v + n, 32, 64, 2);
        n += entry(v + n, 32, 64, 1);
        break;
    case 4:
        for (int i = 0; i < 9; i++)
            n += entry(v + n, 32, 64, (uint8_t)i);
        break;
    case 5:
        break;
    case 6:
        n = (size_t)sprintf(v, "i1e");
        goto done;
    case 7:
        n += (size_t)sprintf(v + n, "i1e");
        break;
    case 8:
        n += (size_t)sprintf(v + n, "d10:public key32:");
        memset(v + n, 1, 32);
        n += 32;
        v[n++] = 'e';
        break;
    case 9:
        n += entry(v + n, 32, 1u << 20, 1);
        break;
    }
    v[n++] = 'e';
done:;
    size_t len;
    uint8_t *buf = with_signatures(v, n, &len);
    crow_manifest_t m;
    char why[256];
    int ret = crow_manifest_parse(buf, len, &m, why, sizeof why);
    ck_assert_msg(ret == h->code, "%s: got %d (%s), want %d", h->name, ret, why, h->code);
    ck_assert_msg(strstr(why, h->reason), "%s: reason '%s' lacks '%s'", h->name, why, h->reason);
    free(buf);
    free(v);
}
END_TEST

START_TEST(test_signatures_round_trip_and_unknown_fields_ignored)
{
    char v[400];
    size_t n = 0;
    v[n++] = 'l';
    n += entry(v + n, 32, 64, 7);
    /* A later version may add fields to an entry: a reader skips them. */
    n--;
    n += (size_t)sprintf(v + n, "7:zexpiryi99ee");
    v[n++] = 'e';
    size_t len;
    uint8_t *buf = with_signatures(v, n, &len);
    crow_manifest_t m;
    parse_ok(buf, len, &m);
    ck_assert_uint_eq(m.signature_count, 1);
    ck_assert_uint_eq(m.signatures[0].public_key[0], 7);
    ck_assert_uint_eq(m.signatures[0].signature[63], 0x55);
    ck_assert(!crow_release_signature_valid(&m, 0));
    crow_manifest_dispose(&m);
    free(buf);
}
END_TEST

/* ---- the trust decision ---- */

START_TEST(test_verify_decisions)
{
    static const uint8_t k1[] = {1}, k2[] = {2}, k21[] = {2, 1};
    crow_keyring_t trust1, trust2;
    trust_seeds(&trust1, k1, 1);
    trust_seeds(&trust2, k2, 1);
    crow_manifest_t m;
    char why[256];
    uint32_t signer = 99;

    signed_release(1, NULL, 0, &m);
    ck_assert_int_eq(crow_release_verify(&m, &trust1, &signer, why, sizeof why), CROW_ESIGNATURE);
    ck_assert_str_eq(why, "the release is not signed");
    crow_manifest_dispose(&m);

    signed_release(1, k1, 1, &m);
    ck_assert_int_eq(crow_release_verify(&m, &trust1, &signer, why, sizeof why), 0);
    ck_assert_uint_eq(signer, 0);
    ck_assert_int_eq(crow_release_verify(&m, &trust2, NULL, why, sizeof why), CROW_ESIGNATURE);
    char id1[CROW_KEY_ID_HEX + 1];
    crow_key_id(trust1.keys[0], id1);
    ck_assert_ptr_nonnull(strstr(why, id1));
    ck_assert_ptr_nonnull(strstr(why, "does not trust"));
    crow_manifest_dispose(&m);

    /* An unknown signer does not spoil a trusted one; the index says which one counted. */
    signed_release(1, k21, 2, &m);
    ck_assert_int_eq(crow_release_verify(&m, &trust1, &signer, why, sizeof why), 0);
    ck_assert_uint_eq(signer, 1);
    crow_manifest_dispose(&m);
}
END_TEST

START_TEST(test_signature_over_another_release_refused)
{
    static const uint8_t k12[] = {1, 2};
    crow_keyring_t trust;
    trust_seeds(&trust, k12, 2);
    crow_manifest_t a, b;
    signed_release(1, k12, 2, &a);
    signed_release(2, NULL, 0, &b); /* other content: another release id */
    ck_assert_mem_ne(a.release_id, b.release_id, 32);
    char why[256];
    /* b carries a's signatures, copied: each is valid, for another id. */
    memcpy(b.signatures, a.signatures, sizeof a.signatures);
    b.signature_count = a.signature_count;
    ck_assert_int_eq(crow_release_verify(&b, &trust, NULL, why, sizeof why), CROW_ESIGNATURE);
    ck_assert_ptr_nonnull(strstr(why, "does not verify"));
    /* One trusted signature broken, one good: still refused (the manifest was tampered with). */
    a.signatures[0].signature[10] ^= 1;
    ck_assert_int_eq(crow_release_verify(&a, &trust, NULL, why, sizeof why), CROW_ESIGNATURE);
    ck_assert_ptr_nonnull(strstr(why, "does not verify"));
    /* The same broken signature by a key nobody trusts is only ignored. */
    static const uint8_t k2[] = {2};
    trust_seeds(&trust, k2, 1);
    ck_assert_int_eq(crow_release_verify(&a, &trust, NULL, why, sizeof why), 0);
    crow_manifest_dispose(&a);
    crow_manifest_dispose(&b);
}
END_TEST

/* ---- key lines and keyrings ---- */

START_TEST(test_pubkey_line_round_trip)
{
    uint8_t public_key[32], back[32];
    unhex(rfc_public, public_key, 32);
    char line[CROW_PUBKEY_LINE_MAX + 2], why[128];
    long n = crow_pubkey_format(public_key, "release key 2026", line, sizeof line);
    ck_assert_str_eq(line,
                     "crowcast-ed25519 d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a "
                     "release key 2026\n");
    const char *comment;
    size_t clen;
    ck_assert_int_eq(crow_pubkey_parse(line, (size_t)n - 1, back, &comment, &clen, why, sizeof why), 0);
    ck_assert_mem_eq(back, public_key, 32);
    ck_assert_uint_eq(clen, 16);
    ck_assert_int_eq(strncmp(comment, "release key 2026", clen), 0);
    n = crow_pubkey_format(public_key, NULL, line, sizeof line);
    ck_assert_uint_eq((size_t)n, 17 + 64 + 1);
    ck_assert_int_eq(crow_pubkey_parse(line, (size_t)n - 1, back, NULL, NULL, why, sizeof why), 0);
    ck_assert_int_eq(crow_pubkey_format(public_key, "bad\ncomment", line, sizeof line), CROW_EPARSE);
    ck_assert_int_eq(crow_pubkey_format(public_key, "x", line, 40), CROW_ESPACE);
}
END_TEST

START_TEST(test_pubkey_line_errors)
{
    static const struct {
        const char *line, *reason;
    } bad[] = {
        {"ssh-ed25519 d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a", "does not start"},
        {"crowcast-ed25519", "does not start"},
        {"crowcast-ed25519 d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511", "63 hex digits"},
        {"crowcast-ed25519 d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511aa",
         "65 hex digits"},
        {"crowcast-ed25519 g75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a", "not hex"},
        {"crowcast-ed25519 d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a \033[2J",
         "control"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        uint8_t key[32];
        char why[128] = "";
        ck_assert_int_eq(
            crow_pubkey_parse(bad[i].line, strlen(bad[i].line), key, NULL, NULL, why, sizeof why),
            CROW_EPARSE);
        ck_assert_msg(strstr(why, bad[i].reason), "line %zu: '%s'", i, why);
    }
    char huge[CROW_PUBKEY_LINE_MAX + 10];
    memset(huge, 'a', sizeof huge);
    uint8_t key[32];
    char why[128];
    ck_assert_int_eq(crow_pubkey_parse(huge, sizeof huge, key, NULL, NULL, why, sizeof why), CROW_EPARSE);
    ck_assert_ptr_nonnull(strstr(why, "longer than"));
}
END_TEST

START_TEST(test_keyring_text)
{
    static const char text[] =
        "# release keys of the fleet\r\n"
        "\n"
        "crowcast-ed25519 d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a old key\r\n"
        "  crowcast-ed25519 3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c new key\n"
        "crowcast-ed25519 d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a again\n";
    crow_keyring_t kr = {0};
    char why[128];
    ck_assert_int_eq(crow_keyring_add_text(&kr, text, sizeof text - 1, why, sizeof why), 0);
    ck_assert_uint_eq(kr.count, 2);
    uint8_t rfc[32];
    unhex(rfc_public, rfc, 32);
    ck_assert(crow_keyring_has(&kr, rfc));
    static const char broken[] = "# ok\ncrowcast-ed25519 d75a98\n";
    ck_assert_int_eq(crow_keyring_add_text(&kr, broken, sizeof broken - 1, why, sizeof why), CROW_EPARSE);
    ck_assert_ptr_nonnull(strstr(why, "line 2: "));
    ck_assert_int_eq(crow_keyring_add_text(&kr, "a\0b", 3, why, sizeof why), CROW_EPARSE);
    ck_assert_uint_eq(kr.count, 2);
    /* More keys than a keyring holds. */
    size_t cap = (CROW_KEYRING_MAX + 1) * 100, n = 0;
    char *many = malloc(cap);
    for (unsigned i = 0; i <= CROW_KEYRING_MAX; i++) {
        uint8_t secret[32], public_key[32];
        secret_n(secret, (uint8_t)(i + 40));
        public_of(secret, public_key);
        n += (size_t)crow_pubkey_format(public_key, NULL, many + n, cap - n);
    }
    crow_keyring_t full = {0};
    ck_assert_int_eq(crow_keyring_add_text(&full, many, n, why, sizeof why), CROW_ELIMIT);
    ck_assert_uint_eq(full.count, CROW_KEYRING_MAX);
    free(many);
}
END_TEST

Suite *crow_test_suite(void)
{
    Suite *s = suite_create("release_sig");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, test_rfc8032_vector);
    tcase_add_test(tc, test_generate_and_pem_round_trip);
    tcase_add_test(tc, test_openssl_pkcs8_key_reads);
    tcase_add_test(tc, test_message_binds_the_release_id);
    tcase_add_test(tc, test_sign_keeps_ids_and_replaces_same_key);
    tcase_add_test(tc, test_sign_refuses_non_canonical_and_full);
    tcase_add_loop_test(tc, test_hostile_signatures_rejected, 0, sizeof hostile / sizeof hostile[0]);
    tcase_add_test(tc, test_signatures_round_trip_and_unknown_fields_ignored);
    tcase_add_test(tc, test_verify_decisions);
    tcase_add_test(tc, test_signature_over_another_release_refused);
    tcase_add_test(tc, test_pubkey_line_round_trip);
    tcase_add_test(tc, test_pubkey_line_errors);
    tcase_add_test(tc, test_keyring_text);
    suite_add_tcase(s, tc);
    return s;
}
