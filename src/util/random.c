/* Random bytes through OpenSSL (see random.h). */
#include <openssl/rand.h>

#include "crowcast/error.h"
#include "crowcast/random.h"

int crow_random_bytes(uint8_t *out, size_t len)
{
    return RAND_bytes(out, (int)len) == 1 ? 0 : CROW_EUNSUPPORTED;
}
