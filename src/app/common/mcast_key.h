/* The fleet's multicast secret, read at start by seed and get, and the session key derived from it
 * (crowcast/dgram_auth.h). */
#ifndef CROWCAST_APP_MCAST_KEY_H
#define CROWCAST_APP_MCAST_KEY_H

#include <stdint.h>

#include "crowcast/dgram_auth.h"

/* Used when --mcast-key is not given and this file exists. */
#define CROW_MCAST_KEY_DEFAULT "/etc/crowcast/mcast.key"

/* Reads the secret from `path` (NULL: CROW_MCAST_KEY_DEFAULT when it exists; "none": no key) and
 * derives the key of release `release_id` into *k. Refuses a file of the wrong size (16..64 bytes)
 * or one that other users may read or write. Returns 1 with a key (*used names the file), 0 without
 * one, or a negative code after printing why on stderr as "crowcast CMD: ...". */
int crow_mcast_key_open(crow_dgram_key_t *k, const char *path, const uint8_t release_id[CROW_SHA256_LEN],
                        const char *cmd, const char **used);

#endif
