/* Trust files (`--trust KEYS`, public key lines): any text is refused with a line and a reason, or
 * adds at most CROW_KEYRING_MAX distinct keys; each key written back as a key line parses to itself. */
#include "crowcast/error.h"
#include "crowcast/release_sig.h"
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static crow_keyring_t kr;
    memset(&kr, 0, sizeof kr);
    char why[256];
    int ret = crow_keyring_add_text(&kr, (const char *)data, size, why, sizeof why);
    FUZZ_ASSERT(ret == 0 || ((ret == CROW_EPARSE || ret == CROW_ELIMIT) && why[0] != '\0'));
    FUZZ_ASSERT(kr.count <= CROW_KEYRING_MAX);
    for (uint32_t i = 0; i < kr.count; i++) {
        for (uint32_t k = 0; k < i; k++)
            FUZZ_ASSERT(memcmp(kr.keys[i], kr.keys[k], CROW_ED25519_PUBLIC_LEN) != 0);
        char line[CROW_PUBKEY_LINE_MAX + 1];
        long n = crow_pubkey_format(kr.keys[i], "", line, sizeof line);
        FUZZ_ASSERT(n > 0 && line[n - 1] == '\n');
        uint8_t key[CROW_ED25519_PUBLIC_LEN];
        FUZZ_ASSERT(crow_pubkey_parse(line, (size_t)n - 1, key, NULL, NULL, why, sizeof why) == 0);
        FUZZ_ASSERT(memcmp(key, kr.keys[i], sizeof key) == 0);
    }
    return 0;
}
