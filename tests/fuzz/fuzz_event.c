/* JSON event lines (`crowcast demo` reads what its child processes print). The reader on any line:
 * the first byte picks the key and the buffer size, and a string value unescaped into that buffer
 * stays NUL-terminated inside it. The writer and the reader together: the input's text up to its
 * first NUL, written as a string value next to a number and a boolean, reads back exactly when it
 * is valid UTF-8, and as valid UTF-8 holding U+FFFD where it is not (the escaper replaces bytes that
 * start no valid sequence). */
#include "crowcast/event.h"
#include "fuzz.h"

static void read_any(const uint8_t *data, size_t size)
{
    static const char *const keys[4] = {"event", "elapsed", "ok", "x"};
    const char *line = (const char *)data + 1;
    size_t len = size - 1;
    const char *key = keys[data[0] & 3u];
    size_t cap = 1u + (data[0] >> 2);
    char out[64];
    memset(out, 'x', sizeof out);
    if (crow_event_get_str(line, len, key, out, cap))
        FUZZ_ASSERT(memchr(out, '\0', cap) != NULL);
    FUZZ_ASSERT(cap == sizeof out || out[cap] == 'x');
    double num;
    crow_event_get_num(line, len, key, &num);
    bool b;
    crow_event_get_bool(line, len, key, &b);
}

/* UTF-8 as RFC 3629 has it (shortest forms, no surrogates, at most U+10FFFF), checked here on its
 * own rather than through the escaper under test. */
static bool valid_utf8(const unsigned char *s)
{
    while (*s) {
        unsigned c = *s, n = c < 0x80             ? 0
                             : (c & 0xe0) == 0xc0 ? 1
                             : (c & 0xf0) == 0xe0 ? 2
                             : (c & 0xf8) == 0xf0 ? 3
                                                  : 9;
        if (n == 9 || (n == 1 && c < 0xc2))
            return false;
        uint32_t cp = n ? c & (0x3fu >> n) : c;
        for (unsigned i = 1; i <= n; i++) {
            if ((s[i] & 0xc0) != 0x80)
                return false;
            cp = cp << 6 | (s[i] & 0x3fu);
        }
        if ((n == 2 && (cp < 0x800 || (cp >= 0xd800 && cp <= 0xdfff))) ||
            (n == 3 && (cp < 0x10000 || cp > 0x10ffff)))
            return false;
        s += n + 1;
    }
    return true;
}

static void round_trip(const uint8_t *data, size_t size)
{
    static char text[8192], line[8 * 8192], back[8192];
    size_t n = strnlen((const char *)data, size < sizeof text ? size : sizeof text - 1);
    memcpy(text, data, n);
    text[n] = '\0';
    crow_event_writer_t w;
    crow_event_begin(&w, line, sizeof line, "fuzz");
    crow_event_str(&w, "x", text);
    crow_event_u64(&w, "n", n);
    crow_event_bool(&w, "ok", n & 1);
    long len = crow_event_end(&w);
    FUZZ_ASSERT(len > 0 && line[len - 1] == '\n');
    FUZZ_ASSERT(crow_event_get_str(line, (size_t)len, "x", back, sizeof back));
    if (valid_utf8((const unsigned char *)text))
        FUZZ_ASSERT(strcmp(back, text) == 0);
    else
        FUZZ_ASSERT(valid_utf8((const unsigned char *)back) && strstr(back, "\xef\xbf\xbd") != NULL);
    FUZZ_ASSERT(crow_event_get_str(line, (size_t)len, "event", back, sizeof back) &&
                strcmp(back, "fuzz") == 0);
    double num;
    FUZZ_ASSERT(crow_event_get_num(line, (size_t)len, "n", &num) && num == (double)n);
    bool ok;
    FUZZ_ASSERT(crow_event_get_bool(line, (size_t)len, "ok", &ok) && ok == (bool)(n & 1));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size == 0)
        return 0;
    read_any(data, size);
    round_trip(data, size);
    return 0;
}
