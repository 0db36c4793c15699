/* JSON event lines (`crowcast demo` reads what its child processes print). The reader on any line:
 * the first byte picks the key and the buffer size, and a string value unescaped into that buffer
 * stays NUL-terminated inside it. The writer and the reader together: the input's text up to its
 * first NUL, written as a string value next to a number and a boolean, reads back exactly. */
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
    FUZZ_ASSERT(crow_event_get_str(line, (size_t)len, "x", back, sizeof back) && strcmp(back, text) == 0);
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
