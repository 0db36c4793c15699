/* Flat one-line JSON events: writer and key lookup. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crowcast/event.h"
#include "crowcast/hex.h"

static void put_key(crow_event_writer_t *w, const char *key)
{
    crow_text_put(w, ",", 1);
    crow_json_put(w, key);
    crow_text_put(w, ":", 1);
}

void crow_event_begin(crow_event_writer_t *w, char *buf, size_t cap, const char *name)
{
    crow_text_init(w, buf, cap);
    crow_text_put(w, "{\"event\":", 9);
    crow_json_put(w, name);
}

void crow_event_str(crow_event_writer_t *w, const char *key, const char *value)
{
    put_key(w, key);
    crow_json_put(w, value);
}

void crow_event_u64(crow_event_writer_t *w, const char *key, uint64_t value)
{
    char tmp[32];
    int n = snprintf(tmp, sizeof tmp, "%llu", (unsigned long long)value);
    put_key(w, key);
    crow_text_put(w, tmp, (size_t)n);
}

void crow_event_num(crow_event_writer_t *w, const char *key, double value)
{
    char tmp[48];
    int n = snprintf(tmp, sizeof tmp, "%.6g", value);
    put_key(w, key);
    crow_text_put(w, tmp, (size_t)n);
}

void crow_event_bool(crow_event_writer_t *w, const char *key, bool value)
{
    put_key(w, key);
    crow_text_put(w, value ? "true" : "false", value ? 4 : 5);
}

long crow_event_end(crow_event_writer_t *w)
{
    crow_text_put(w, "}\n", 2);
    return w->full ? -1 : (long)w->len;
}

/* Returns a pointer to the first byte of the value of "key", or NULL. Skips over string values
 * so a key-like text inside a string never matches. */
static const char *find_value(const char *line, size_t len, const char *key)
{
    size_t klen = strlen(key);
    const char *end = line + len;
    const char *p = line;
    bool in_string = false, expect_key = false;
    for (; p < end; p++) {
        if (in_string) {
            if (*p == '\\')
                p++;
            else if (*p == '"')
                in_string = false;
            continue;
        }
        if (*p == '{' || *p == ',') {
            expect_key = true;
            continue;
        }
        if (*p != '"')
            continue;
        if (expect_key && (size_t)(end - p) > klen + 2 && memcmp(p + 1, key, klen) == 0 &&
            p[klen + 1] == '"' && p[klen + 2] == ':')
            return p + klen + 3;
        in_string = true;
        expect_key = false;
    }
    return NULL;
}

bool crow_event_get_str(const char *line, size_t len, const char *key, char *out, size_t cap)
{
    const char *v = find_value(line, len, key), *end = line + len;
    if (!v || v >= end || *v != '"' || cap == 0)
        return false;
    size_t n = 0;
    for (v++; v < end && *v != '"'; v++) {
        char c = *v;
        if (c == '\\') {
            if (++v >= end)
                return false;
            c = *v == 'n' ? '\n' : *v == 't' ? '\t' : *v;
            if (*v == 'u') {
                int cp = 0;
                for (int i = 1; i <= 4; i++) {
                    int d = end - v > i ? crow_hex_digit(v[i]) : -1;
                    if (d < 0)
                        return false;
                    cp = cp << 4 | d;
                }
                c = (char)cp;
                v += 4;
            }
        }
        if (n + 1 < cap)
            out[n++] = c;
    }
    out[n] = '\0';
    return v < end;
}

bool crow_event_get_num(const char *line, size_t len, const char *key, double *out)
{
    const char *v = find_value(line, len, key);
    if (!v || v >= line + len || !((*v >= '0' && *v <= '9') || *v == '-'))
        return false;
    char tmp[48];
    size_t n = 0;
    while (v + n < line + len && n + 1 < sizeof tmp && strchr("0123456789+-.eE", v[n]))
        n++;
    memcpy(tmp, v, n);
    tmp[n] = '\0';
    char *e;
    *out = strtod(tmp, &e);
    return e != tmp;
}

bool crow_event_get_bool(const char *line, size_t len, const char *key, bool *out)
{
    const char *v = find_value(line, len, key), *end = line + len;
    if (!v)
        return false;
    if (end - v >= 4 && memcmp(v, "true", 4) == 0)
        *out = true;
    else if (end - v >= 5 && memcmp(v, "false", 5) == 0)
        *out = false;
    else
        return false;
    return true;
}
