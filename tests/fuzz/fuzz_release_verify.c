/* Signed releases as `get --trust` and the agent check them, on anyone's manifest: a manifest the
 * checker accepts carries a signature that verifies, by a trusted key, over its own release id; once
 * the harness signs it with the trusted key it is accepted; and with another release id (any other
 * content) it is refused. The trusted key reaches the keyring through its own key-file line. */
#include "crowcast/error.h"
#include "crowcast/release_sig.h"
#include "fuzz.h"

static uint8_t secret[CROW_ED25519_SECRET_LEN], public_key[CROW_ED25519_PUBLIC_LEN];
static crow_keyring_t trust;

static void setup(void)
{
    memset(secret, 0x11, sizeof secret);
    char line[CROW_PUBKEY_LINE_MAX + 1], why[160];
    if (crow_ed25519_public(secret, public_key) != 0)
        abort();
    long n = crow_pubkey_format(public_key, "fuzz key", line, sizeof line);
    if (n <= 0 || crow_keyring_add_text(&trust, line, (size_t)n, why, sizeof why) != 0 || trust.count != 1)
        abort();
}

static void check_verdict(const crow_manifest_t *m)
{
    uint32_t signer = UINT32_MAX;
    char why[256];
    int ret = crow_release_verify(m, &trust, &signer, why, sizeof why);
    if (ret != 0) {
        FUZZ_ASSERT(ret == CROW_ESIGNATURE && why[0] != '\0');
        return;
    }
    FUZZ_ASSERT(signer < m->signature_count && crow_keyring_has(&trust, m->signatures[signer].public_key));
    FUZZ_ASSERT(crow_release_signature_valid(m, signer));
    for (uint32_t i = 0; i < m->signature_count; i++)
        if (crow_keyring_has(&trust, m->signatures[i].public_key))
            FUZZ_ASSERT(crow_release_signature_valid(m, i));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (trust.count == 0)
        setup();
    crow_manifest_t m;
    char why[256];
    if (crow_manifest_parse(data, size, &m, why, sizeof why) != 0)
        return 0;
    check_verdict(&m);
    if (crow_release_sign(&m, secret) == 0) {
        FUZZ_ASSERT(crow_release_verify(&m, &trust, NULL, why, sizeof why) == 0);
        m.release_id[data[0] % CROW_SHA256_LEN] ^= 0x01; /* another release */
        FUZZ_ASSERT(crow_release_verify(&m, &trust, NULL, why, sizeof why) == CROW_ESIGNATURE);
    }
    crow_manifest_dispose(&m);
    return 0;
}
