/* JSON strings for the commands' --json output. */
#include <stdio.h>
#include <string.h>

#include "commands.h"

/* Length of the valid UTF-8 sequence at s (at most `left` bytes), or 0 when it is not one. */
static size_t utf8_sequence(const unsigned char *s, size_t left)
{
    size_t n;
    unsigned cp;
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
    static const unsigned min_for[] = {0, 0, 0x80, 0x800, 0x10000};
    if (cp < min_for[n] || (cp >= 0xd800 && cp <= 0xdfff) || cp > 0x10ffff)
        return 0;
    return n;
}

void crow_cli_json_string(FILE *out, const char *text)
{
    const unsigned char *s = (const unsigned char *)text;
    size_t left = strlen(text);
    fputc('"', out);
    while (left) {
        size_t n = utf8_sequence(s, left);
        if (n == 0) {
            fputs("\\ufffd", out);
            n = 1;
        } else if (*s == '"' || *s == '\\') {
            fprintf(out, "\\%c", *s);
        } else if (*s < 0x20 || *s == 0x7f) {
            fprintf(out, "\\u%04x", *s);
        } else {
            fwrite(s, 1, n, out);
        }
        s += n;
        left -= n;
    }
    fputc('"', out);
}
