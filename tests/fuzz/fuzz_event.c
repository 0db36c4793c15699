/* The JSON event line reader (`crowcast demo` reads what its child processes print): any line, any
 * key, and the string value unescaped into a small buffer stays NUL-terminated inside it. The first
 * byte picks the key and the buffer size. */
#include "crowcast/event.h"
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const char *const keys[4] = {"event", "elapsed", "ok", "x"};
    if (size == 0)
        return 0;
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
    return 0;
}
