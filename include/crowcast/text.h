/* A bounded text writer into a caller's buffer: appends until the first write that does not fit,
 * which sticks (every later write is dropped), so a renderer writes all it has and checks once. */
#ifndef CROWCAST_TEXT_H
#define CROWCAST_TEXT_H

#include <stdbool.h>
#include <stddef.h>

typedef struct crow_text {
    char *buf;
    size_t cap, len; /* buf[0..len) written, always followed by a NUL while cap > 0 */
    bool full;       /* a write did not fit, with its NUL */
} crow_text_t;

/* An empty writer over buf[0..cap); cap 0 makes one that is full at the first write. */
void crow_text_init(crow_text_t *t, char *buf, size_t cap);
/* Appends s[0..n) whole, or nothing and marks the writer full. */
void crow_text_put(crow_text_t *t, const char *s, size_t n);
/* Appends the formatted text whole, or nothing (the partial bytes are cut off) and marks it full. */
void crow_text_printf(crow_text_t *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* The length written, or CROW_ESPACE when a write did not fit. */
long crow_text_end(const crow_text_t *t);

#endif
