/* Bounded text writer (crowcast/text.h). */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "crowcast/error.h"
#include "crowcast/text.h"

void crow_text_init(crow_text_t *t, char *buf, size_t cap)
{
    *t = (crow_text_t){.buf = buf, .cap = cap};
    if (cap)
        buf[0] = '\0';
}

static size_t room(const crow_text_t *t)
{
    return t->full || t->len >= t->cap ? 0 : t->cap - t->len;
}

void crow_text_put(crow_text_t *t, const char *s, size_t n)
{
    if (n >= room(t)) {
        t->full = true;
        return;
    }
    memcpy(t->buf + t->len, s, n);
    t->len += n;
    t->buf[t->len] = '\0';
}

void crow_text_printf(crow_text_t *t, const char *fmt, ...)
{
    size_t left = room(t);
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(left ? t->buf + t->len : NULL, left, fmt, ap);
    va_end(ap);
    if (n < 0 || (size_t)n >= left) {
        t->full = true;
        if (left)
            t->buf[t->len] = '\0'; /* drop what vsnprintf wrote of it */
        return;
    }
    t->len += (size_t)n;
}

long crow_text_end(const crow_text_t *t)
{
    return t->full ? CROW_ESPACE : (long)t->len;
}
