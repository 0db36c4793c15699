/* Hexadecimal text: the one encoder and decoder of digests, keys, nonces and percent escapes. */
#ifndef CROWCAST_HEX_H
#define CROWCAST_HEX_H

#include <stddef.h>
#include <stdint.h>

/* The value of one hex digit (either case), or -1 when c is not one. */
int crow_hex_digit(char c);
/* Lower-case hex of `len` bytes into out (2*len+1 bytes, NUL-terminated). */
void crow_hex(const uint8_t *bytes, size_t len, char *out);
/* Parses exactly 2*len hex digits followed by a NUL; returns 0 or CROW_EPARSE. */
int crow_unhex(const char *hex, uint8_t *out, size_t len);

#endif
