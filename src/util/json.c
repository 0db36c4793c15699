/* JSON string escaping (crowcast/json.h). */
#include <stdint.h>
#include <string.h>

#include "crowcast/json.h"

/* Length of the valid UTF-8 sequence at s (at most `left` bytes), or 0 when it is not one. */
static size_t utf8_sequence(const unsigned char *s, size_t left)
{
    size_t n;
    uint32_t cp;
    if (s[0] < 0x80)
        return 1;
    else if ((s[0] & 0xe0) == 0xc0)
        n = 2, cp = s[0] & 0x1f;
    else if ((s[0] & 0xf0) == 0xe0)
        n = 3, cp = s[0] & 0x0f;
    else if ((s[0] & 0xf8) == 0xf0)
        n = 4, cp = s[0] & 0x07;
    else
        return 0;
    if (n > left)
        return 0;
    for (size_t i = 1; i < n; i++) {
        if ((s[i] & 0xc0) != 0x80)
            return 0;
        cp = (cp << 6) | (s[i] & 0x3f);
    }
    /* Overlong forms, surrogates and code points past U+10FFFF are not valid UTF-8. */
    static const uint32_t min_for[] = {0, 0, 0x80, 0x800, 0x10000};
    if (cp < min_for[n] || (cp >= 0xd800 && cp <= 0xdfff) || cp > 0x10ffff)
        return 0;
    return n;
}

size_t crow_json_char(const char *s, size_t left, char out[CROW_JSON_CHAR_MAX], size_t *used)
{
    static const char digits[] = "0123456789abcdef";
    const unsigned char *u = (const unsigned char *)s;
    size_t n = utf8_sequence(u, left);
    *used = n ? n : 1;
    if (n == 0) {
        memcpy(out, "\xef\xbf\xbd", 3); /* U+FFFD */
        return 3;
    }
    if (u[0] == '"' || u[0] == '\\') {
        out[0] = '\\';
        out[1] = (char)u[0];
        return 2;
    }
    if (u[0] < 0x20 || u[0] == 0x7f) {
        memcpy(out, "\\u00", 4);
        out[4] = digits[u[0] >> 4];
        out[5] = digits[u[0] & 15];
        return 6;
    }
    memcpy(out, s, n);
    return n;
}

void crow_json_put(crow_text_t *t, const char *s)
{
    size_t start = t->len;
    crow_text_put(t, "\"", 1);
    for (size_t left = strlen(s), used; left && !t->full; s += used, left -= used) {
        char c[CROW_JSON_CHAR_MAX];
        crow_text_put(t, c, crow_json_char(s, left, c, &used));
    }
    crow_text_put(t, "\"", 1);
    if (t->full && start < t->cap) {
        t->len = start; /* none of it: a cut string would leave the JSON unbalanced */
        t->buf[start] = '\0';
    }
}

long crow_json_quote(char *out, size_t cap, const char *s)
{
    crow_text_t t;
    crow_text_init(&t, out, cap);
    crow_json_put(&t, s);
    return t.full ? -1 : (long)t.len;
}

void crow_json_fput(FILE *out, const char *s)
{
    fputc('"', out);
    for (size_t left = strlen(s), used; left; s += used, left -= used) {
        char c[CROW_JSON_CHAR_MAX];
        fwrite(c, 1, crow_json_char(s, left, c, &used), out);
    }
    fputc('"', out);
}
