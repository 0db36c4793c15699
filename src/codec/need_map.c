/* The need map's text form; see crowcast/need_map.h. */
#include <stdio.h>
#include <string.h>

#include "crowcast/error.h"
#include "crowcast/need_map.h"

void crow_need_map_set_range(crow_need_map_t *n, uint32_t first, uint32_t end)
{
    if (end > CROW_NEED_SEGMENTS)
        end = CROW_NEED_SEGMENTS;
    for (uint32_t seg = first; seg < end; seg++)
        crow_need_map_set(n, seg);
}

uint32_t crow_need_map_count(const crow_need_map_t *n)
{
    uint32_t count = 0;
    for (unsigned i = 0; i < CROW_NEED_WORDS; i++)
        count += (uint32_t)__builtin_popcountll(n->w[i]);
    return count;
}

struct range {
    uint16_t first, last;
};

/* The runs of set segments, in order; returns how many (at most CROW_NEED_SEGMENTS / 2). */
static unsigned runs_of(const crow_need_map_t *n, struct range *r)
{
    unsigned count = 0;
    for (uint32_t seg = 0; seg < CROW_NEED_SEGMENTS; seg++) {
        if (!crow_need_map_get(n, seg))
            continue;
        if (count && r[count - 1].last + 1u == seg)
            r[count - 1].last = (uint16_t)seg;
        else
            r[count++] = (struct range){(uint16_t)seg, (uint16_t)seg};
    }
    return count;
}

long crow_need_map_format(const crow_need_map_t *n, char *out, size_t cap)
{
    if (cap < CROW_NEED_TEXT_MAX)
        return CROW_ESPACE;
    struct range r[CROW_NEED_SEGMENTS / 2];
    unsigned count = runs_of(n, r);
    /* Too many ranges: close the narrowest gap (the first of equals) until they fit. */
    while (count > CROW_NEED_TEXT_RANGES) {
        unsigned best = 0;
        for (unsigned i = 1; i + 1 < count; i++)
            if (r[i + 1].first - r[i].last < r[best + 1].first - r[best].last)
                best = i;
        r[best].last = r[best + 1].last;
        memmove(&r[best + 1], &r[best + 2], (count - best - 2) * sizeof *r);
        count--;
    }
    size_t len = 0;
    out[len++] = 'r';
    for (unsigned i = 0; i < count; i++) {
        int w = r[i].first == r[i].last
                    ? snprintf(out + len, cap - len, "%s%u", i ? "." : "", r[i].first)
                    : snprintf(out + len, cap - len, "%s%u-%u", i ? "." : "", r[i].first, r[i].last);
        len += (size_t)w;
    }
    out[len] = '\0';
    return (long)len;
}

/* A decimal below CROW_NEED_SEGMENTS at text[*i..), no leading zero; advances *i. */
static bool number(const char *text, size_t len, size_t *i, uint32_t *v)
{
    size_t start = *i;
    *v = 0;
    while (*i < len && text[*i] >= '0' && text[*i] <= '9' && *i - start < 4)
        *v = *v * 10 + (uint32_t)(text[(*i)++] - '0');
    size_t digits = *i - start;
    return digits > 0 && !(digits > 1 && text[start] == '0') && *v < CROW_NEED_SEGMENTS;
}

bool crow_need_map_parse(const char *text, size_t len, crow_need_map_t *n)
{
    if (len == 0 || text[0] != 'r')
        return false;
    crow_need_map_t map = {{0}};
    size_t i = 1;
    int64_t prev = -1; /* the last segment of the previous range: ranges ascend and do not touch */
    while (i < len) {
        uint32_t first, last;
        if ((prev >= 0 && text[i++] != '.') || !number(text, len, &i, &first))
            return false;
        last = first;
        if (i < len && text[i] == '-' && (++i, !number(text, len, &i, &last) || last < first))
            return false;
        if ((int64_t)first <= prev + 1 && prev >= 0)
            return false;
        crow_need_map_set_range(&map, first, last + 1);
        prev = last;
    }
    *n = map;
    return true;
}
