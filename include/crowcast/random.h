/* Random bytes from the system's generator, through OpenSSL (the control plane's nonces and secrets). */
#ifndef CROWCAST_RANDOM_H
#define CROWCAST_RANDOM_H

#include <stddef.h>
#include <stdint.h>

/* Fills out with len bytes from the system's random generator. Returns 0 or CROW_EUNSUPPORTED. */
int crow_random_bytes(uint8_t *out, size_t len);

#endif
