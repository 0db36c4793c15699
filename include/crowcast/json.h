/* JSON strings: the one escaper behind every JSON output (events, status pages, --json, diag).
 *
 * Quotes, backslashes and control bytes (and DEL, for terminals) are escaped; a valid UTF-8 sequence
 * passes through; any byte that does not start one (stray continuation bytes, overlong forms,
 * surrogates, code points past U+10FFFF, a sequence cut short) becomes U+FFFD, written as UTF-8, so
 * the output is valid JSON whatever bytes a file name, URL or peer-supplied text holds. */
#ifndef CROWCAST_JSON_H
#define CROWCAST_JSON_H

#include <stddef.h>
#include <stdio.h>

#include "crowcast/text.h"

/* The most bytes crow_json_char writes. */
#define CROW_JSON_CHAR_MAX 6

/* The JSON form of the character at s[0..left) (left > 0) into out; returns its length and sets
 * *used to how many bytes of s it stands for. */
size_t crow_json_char(const char *s, size_t left, char out[CROW_JSON_CHAR_MAX], size_t *used);

/* s as a quoted JSON string onto t, whole or not at all (t is then full). */
void crow_json_put(crow_text_t *t, const char *s);
/* The same into out[0..cap) followed by a NUL. Returns its length, or -1 when it does not fit. */
long crow_json_quote(char *out, size_t cap, const char *s);
/* The same onto a stream. */
void crow_json_fput(FILE *out, const char *s);

#endif
