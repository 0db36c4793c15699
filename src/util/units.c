/* Size and rate parsing and formatting for the command line and reports. */
#include <errno.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crowcast/error.h"
#include "crowcast/units.h"

static int parse_scaled(const char *text, uint64_t base, const char *const *tails, uint64_t *out)
{
    if (!text || !*text || *text == '-' || *text == '+')
        return CROW_EUSAGE;
    errno = 0;
    char *end = NULL;
    unsigned long long v = strtoull(text, &end, 10);
    if (errno || end == text)
        return CROW_EUSAGE;
    uint64_t scale = 1;
    const char *units = "KMGT";
    const char *u = *end ? strchr(units, *end & ~0x20) : NULL;
    if (u && *end) {
        for (const char *p = units; p <= u; p++)
            scale *= base;
        end++;
    }
    bool tail_ok = *end == '\0';
    for (unsigned i = 0; !tail_ok && tails[i]; i++)
        tail_ok = strcmp(end, tails[i]) == 0;
    if (!tail_ok || (v && scale > UINT64_MAX / v))
        return CROW_EUSAGE;
    *out = (uint64_t)v * scale;
    return 0;
}

bool crow_parse_decimal(const char *s, size_t len, uint64_t max, uint64_t *out)
{
    if (len == 0 || (len > 1 && s[0] == '0'))
        return false;
    uint64_t v = 0;
    for (size_t i = 0; i < len; i++) {
        if (s[i] < '0' || s[i] > '9')
            return false;
        unsigned d = (unsigned)(s[i] - '0');
        if (d > max || v > (max - d) / 10)
            return false;
        v = v * 10 + d;
    }
    *out = v;
    return true;
}

int crow_parse_size(const char *text, uint64_t *out)
{
    static const char *const tails[] = {"iB", "B", NULL};
    return parse_scaled(text, 1024, tails, out);
}

int crow_parse_rate(const char *text, uint64_t *bits_per_second)
{
    static const char *const tails[] = {"bit", "bps", "b/s", NULL};
    return parse_scaled(text, 1000, tails, bits_per_second);
}

int crow_parse_seconds(const char *text, double *out)
{
    if (!text || !*text)
        return CROW_EUSAGE;
    char *end = NULL;
    errno = 0;
    double v = strtod(text, &end);
    if (errno || *end || !isfinite(v) || v < 0)
        return CROW_EUSAGE;
    *out = v;
    return 0;
}

char *crow_format_size(uint64_t bytes, char *out, size_t cap)
{
    static const char *const names[] = {"B", "KiB", "MiB", "GiB", "TiB"};
    double v = (double)bytes;
    unsigned i = 0;
    while (v >= 1024 && i + 1 < sizeof names / sizeof names[0]) {
        v /= 1024;
        i++;
    }
    if (i == 0)
        snprintf(out, cap, "%llu B", (unsigned long long)bytes);
    else
        snprintf(out, cap, "%.2f %s", v, names[i]);
    return out;
}

char *crow_format_rate(double bits_per_second, char *out, size_t cap)
{
    static const char *const names[] = {"bit/s", "kbit/s", "Mbit/s", "Gbit/s", "Tbit/s"};
    double v = bits_per_second;
    unsigned i = 0;
    while (v >= 1000 && i + 1 < sizeof names / sizeof names[0]) {
        v /= 1000;
        i++;
    }
    snprintf(out, cap, "%.1f %s", v, names[i]);
    return out;
}
