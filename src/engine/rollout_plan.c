/* Rollout plans: parsing the plan file and assigning racks to its waves. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crowcast/error.h"
#include "crowcast/racks.h"
#include "crowcast/rollout_plan.h"
#include "crowcast/units.h"

struct line {
    const char *p, *end;
    unsigned number;
};

struct options {
    uint32_t healthy_pct, max_failures, soak_s, parallel;
};

static bool next_field(struct line *l, const char **start, size_t *len)
{
    while (l->p < l->end && (*l->p == ' ' || *l->p == '\t' || *l->p == '\r'))
        l->p++;
    if (l->p >= l->end)
        return false;
    *start = l->p;
    while (l->p < l->end && *l->p != ' ' && *l->p != '\t' && *l->p != '\r')
        l->p++;
    *len = (size_t)(l->p - *start);
    return true;
}

static int fail(crow_rollout_plan_error_t *err, int code, unsigned line, const char *what, const char *field,
                size_t len)
{
    if (err) {
        err->line = line;
        const char *sep = line ? ": " : "";
        char where[24] = "";
        if (line)
            snprintf(where, sizeof where, "line %u", line);
        if (field)
            snprintf(err->text, sizeof err->text, "%s%s%s '%.*s'", where, sep, what,
                     (int)(len > 64 ? 64 : len), field);
        else
            snprintf(err->text, sizeof err->text, "%s%s%s", where, sep, what);
    }
    return code;
}

static bool is_word(const char *s, size_t len, const char *word)
{
    return len == strlen(word) && memcmp(s, word, len) == 0;
}

static bool parse_uint(const char *s, size_t len, uint32_t max, uint32_t *out)
{
    uint64_t v;
    if (!crow_parse_decimal(s, len, max, &v))
        return false;
    *out = (uint32_t)v;
    return true;
}

static bool parse_percent(const char *s, size_t len, uint32_t *out)
{
    return len >= 2 && s[len - 1] == '%' && parse_uint(s, len - 1, 100, out) && *out >= 1;
}

static bool parse_duration(const char *s, size_t len, uint32_t *out)
{
    uint32_t unit = 1;
    if (len && (s[len - 1] == 's' || s[len - 1] == 'm' || s[len - 1] == 'h')) {
        unit = s[len - 1] == 's' ? 1 : s[len - 1] == 'm' ? 60 : 3600;
        len--;
    }
    uint32_t v;
    if (!parse_uint(s, len, 7 * 24 * 3600, &v) || (uint64_t)v * unit > 7 * 24 * 3600)
        return false;
    *out = v * unit;
    return true;
}

static int parse_option(struct options *o, const char *s, size_t len, unsigned line,
                        crow_rollout_plan_error_t *err)
{
    const char *eq = memchr(s, '=', len);
    if (!eq)
        return fail(err, CROW_EPARSE, line, "expected key=value, not", s, len);
    size_t klen = (size_t)(eq - s), vlen = len - klen - 1;
    const char *v = eq + 1;
    bool ok;
    if (is_word(s, klen, "healthy"))
        ok = parse_percent(v, vlen, &o->healthy_pct);
    else if (is_word(s, klen, "failures"))
        ok = parse_uint(v, vlen, 100000, &o->max_failures) && o->max_failures >= 1;
    else if (is_word(s, klen, "soak"))
        ok = parse_duration(v, vlen, &o->soak_s);
    else if (is_word(s, klen, "parallel"))
        ok = parse_uint(v, vlen, 100000, &o->parallel);
    else
        return fail(err, CROW_EPARSE, line, "unknown option", s, len);
    return ok ? 0 : fail(err, CROW_EPARSE, line, "bad value in", s, len);
}

static int add_named(crow_rollout_plan_t *p, const char *s, size_t len, unsigned line,
                     crow_rollout_plan_error_t *err)
{
    if (!crow_rack_name_valid(s, len))
        return fail(err, CROW_EPARSE, line, "bad rack name", s, len);
    for (uint32_t i = 0; i < p->named_count; i++)
        if (strlen(p->named[i]) == len && memcmp(p->named[i], s, len) == 0)
            return fail(err, CROW_EPARSE, line, "rack named twice", s, len);
    if (p->named_count == CROW_PLAN_MAX_NAMED)
        return fail(err, CROW_ELIMIT, line, "too many racks named", NULL, 0);
    memcpy(p->named[p->named_count], s, len);
    p->named[p->named_count][len] = '\0';
    p->named_count++;
    return 0;
}

/* The selection field of a `canary` or `wave` line. */
static int parse_selection(crow_rollout_plan_t *p, crow_rollout_plan_wave_t *w, const char *s, size_t len,
                           unsigned line, crow_rollout_plan_error_t *err)
{
    int ret;
    if (is_word(s, len, "rest")) {
        w->select = CROW_WAVE_REST;
        return w->canary ? fail(err, CROW_EPARSE, line, "a canary names one rack, not", s, len) : 0;
    }
    if (len && s[len - 1] == '%') {
        w->select = CROW_WAVE_PERCENT;
        if (w->canary)
            return fail(err, CROW_EPARSE, line, "a canary names one rack, not", s, len);
        return parse_percent(s, len, &w->percent) ? 0
                                                  : fail(err, CROW_EPARSE, line, "bad percentage", s, len);
    }
    w->select = CROW_WAVE_RACKS;
    w->first_named = p->named_count;
    for (const char *q = s, *end = s + len; q <= end;) {
        const char *comma = memchr(q, ',', (size_t)(end - q));
        const char *stop = comma ? comma : end;
        if ((ret = add_named(p, q, (size_t)(stop - q), line, err)))
            return ret;
        q = stop + 1;
    }
    w->named_count = p->named_count - w->first_named;
    if (w->canary && w->named_count != 1)
        return fail(err, CROW_EPARSE, line, "a canary names one rack, not", s, len);
    return 0;
}

int crow_rollout_plan_parse(crow_rollout_plan_t *p, const char *text, size_t len,
                            crow_rollout_plan_error_t *err)
{
    struct options defaults = {.healthy_pct = 100, .max_failures = 1};
    unsigned number = 0, closed_at = 0; /* line of a `rest` or 100% wave: nothing may follow it */
    int ret = 0;
    memset(p, 0, sizeof *p);
    if (len > CROW_PLAN_MAX_TEXT)
        return fail(err, CROW_ELIMIT, 0, "plan larger than 1024 bytes", NULL, 0);
    for (const char *pos = text, *end = text + len; pos < end;) {
        const char *nl = memchr(pos, '\n', (size_t)(end - pos));
        const char *stop = nl ? nl : end;
        const char *hash = memchr(pos, '#', (size_t)(stop - pos));
        struct line l = {pos, hash ? hash : stop, ++number};
        pos = stop + 1;
        const char *f;
        size_t flen;
        if (!next_field(&l, &f, &flen))
            continue;
        if (memchr(f, '\0', (size_t)(l.end - f)))
            return fail(err, CROW_EPARSE, number, "NUL byte in line", NULL, 0);
        if (is_word(f, flen, "defaults")) {
            struct options o = defaults;
            while (next_field(&l, &f, &flen))
                if ((ret = parse_option(&o, f, flen, number, err)))
                    goto bad;
            defaults = o;
            continue;
        }
        bool canary = is_word(f, flen, "canary");
        if (!canary && !is_word(f, flen, "wave")) {
            ret = fail(err, CROW_EPARSE, number, "unknown directive", f, flen);
            goto bad;
        }
        if (canary && p->wave_count) {
            ret = fail(err, CROW_EPARSE, number, "the canary must be the first wave", NULL, 0);
            goto bad;
        }
        if (closed_at) {
            char why[64];
            snprintf(why, sizeof why, "no rack is left after line %u's wave", closed_at);
            ret = fail(err, CROW_EPARSE, number, why, NULL, 0);
            goto bad;
        }
        if (p->wave_count == CROW_PLAN_MAX_WAVES) {
            ret = fail(err, CROW_ELIMIT, number, "too many waves", NULL, 0);
            goto bad;
        }
        crow_rollout_plan_wave_t *w = &p->waves[p->wave_count];
        w->canary = canary;
        w->line = number;
        if (!next_field(&l, &f, &flen)) {
            ret = fail(err, CROW_EPARSE, number,
                       canary ? "canary wants a rack" : "wave wants racks, N% or rest", NULL, 0);
            goto bad;
        }
        if ((ret = parse_selection(p, w, f, flen, number, err)))
            goto bad;
        struct options o = defaults;
        while (next_field(&l, &f, &flen))
            if ((ret = parse_option(&o, f, flen, number, err)))
                goto bad;
        w->healthy_pct = o.healthy_pct;
        w->max_failures = o.max_failures;
        w->soak_s = o.soak_s;
        w->parallel = o.parallel;
        if (w->select == CROW_WAVE_REST || (w->select == CROW_WAVE_PERCENT && w->percent == 100))
            closed_at = number;
        p->wave_count++;
    }
    if (p->wave_count == 0) {
        ret = fail(err, CROW_EPARSE, 0, "the plan has no wave", NULL, 0);
        goto bad;
    }
    return 0;
bad:
    memset(p, 0, sizeof *p);
    return ret;
}

static int by_name(const void *a, const void *b, void *names)
{
    const char(*n)[CROW_RACK_NAME_MAX + 1] = names;
    return strcmp(n[*(const uint32_t *)a], n[*(const uint32_t *)b]);
}

int crow_rollout_plan_assign(const crow_rollout_plan_t *p, const char (*rack_names)[CROW_RACK_NAME_MAX + 1],
                             uint32_t rack_count, uint32_t *wave_of, crow_rollout_plan_error_t *err)
{
    uint32_t pool[CROW_RACKS_MAX], left = 0, next = 0;
    if (rack_count > CROW_RACKS_MAX)
        return fail(err, CROW_ELIMIT, 0, "too many racks", NULL, 0);
    for (uint32_t i = 0; i < rack_count; i++)
        wave_of[i] = UINT32_MAX;
    for (uint32_t k = 0; k < p->named_count; k++) {
        uint32_t i = 0;
        while (i < rack_count && strcmp(rack_names[i], p->named[k]) != 0)
            i++;
        const crow_rollout_plan_wave_t *w = p->waves;
        while (!(w->select == CROW_WAVE_RACKS && k >= w->first_named && k < w->first_named + w->named_count))
            w++;
        if (i == rack_count) {
            return fail(err, CROW_EPARSE, w->line, "no such rack", p->named[k], strlen(p->named[k]));
        }
        wave_of[i] = (uint32_t)(w - p->waves);
    }
    for (uint32_t i = 0; i < rack_count; i++)
        if (wave_of[i] == UINT32_MAX)
            pool[left++] = i;
    qsort_r(pool, left, sizeof *pool, by_name, (void *)rack_names);
    uint32_t unnamed = left;
    for (uint32_t k = 0; k < p->wave_count; k++) {
        const crow_rollout_plan_wave_t *w = &p->waves[k];
        uint32_t take = w->select == CROW_WAVE_REST      ? left - next
                        : w->select == CROW_WAVE_PERCENT ? (unnamed * w->percent + 99) / 100
                                                         : 0;
        if (take > left - next)
            take = left - next;
        if (w->select != CROW_WAVE_RACKS && take == 0) {
            return fail(err, CROW_EPARSE, w->line, "this wave gets no rack", NULL, 0);
        }
        for (uint32_t t = 0; t < take; t++)
            wave_of[pool[next++]] = k;
    }
    return 0;
}
