/* The racks file: parsing CIDR-to-rack and rack-to-group lines, and longest-prefix lookup. */
#include <stdio.h>
#include <string.h>

#include "crowcast/error.h"
#include "crowcast/racks.h"
#include "crowcast/units.h"

void crow_racks_init(crow_racks_t *r)
{
    r->count = 0;
    r->prefix_count = 0;
    r->trust_announced = false;
}

struct line {
    const char *p, *end;
    unsigned number;
};

/* Next whitespace-separated field of the line; false at its end. */
static bool next_field(struct line *l, const char **start, size_t *len)
{
    while (l->p < l->end && (*l->p == ' ' || *l->p == '\t'))
        l->p++;
    if (l->p >= l->end)
        return false;
    *start = l->p;
    while (l->p < l->end && *l->p != ' ' && *l->p != '\t')
        l->p++;
    *len = (size_t)(l->p - *start);
    return true;
}

static int line_error(crow_racks_error_t *err, int code, unsigned line, const char *what, const char *field,
                      size_t len)
{
    if (err) {
        err->line = line;
        if (field)
            snprintf(err->text, sizeof(err->text), "line %u: %s '%.*s'", line, what,
                     (int)(len > 64 ? 64 : len), field);
        else
            snprintf(err->text, sizeof(err->text), "line %u: %s", line, what);
    }
    return code;
}

static int add_prefix(crow_racks_t *r, const char *s, size_t len, uint32_t rack, unsigned line,
                      crow_racks_error_t *err)
{
    const char *slash = memchr(s, '/', len);
    uint32_t addr;
    uint64_t plen = 32;
    if (!crow_ipv4_parse(s, slash ? (size_t)(slash - s) : len, &addr) ||
        (slash && !crow_parse_decimal(slash + 1, len - (size_t)(slash + 1 - s), 32, &plen)))
        return line_error(err, CROW_EPARSE, line, "bad CIDR", s, len);
    uint32_t mask = plen == 0 ? 0 : UINT32_MAX << (32 - plen);
    if (addr & ~mask)
        return line_error(err, CROW_EPARSE, line, "bad CIDR (bits set past the prefix)", s, len);
    for (uint32_t i = 0; i < r->prefix_count; i++)
        if (r->prefixes[i].net == addr && r->prefixes[i].len == plen)
            return line_error(err, CROW_EPARSE, line, "CIDR listed twice", s, len);
    if (r->prefix_count >= CROW_RACK_PREFIXES_MAX)
        return line_error(err, CROW_ELIMIT, line, "too many CIDR prefixes", NULL, 0);
    r->prefixes[r->prefix_count++] = (struct crow_rack_prefix){addr, mask, rack, (uint8_t)plen};
    return 0;
}

static int parse_rack(crow_racks_t *r, struct line *l, crow_racks_error_t *err)
{
    const char *name, *cidrs, *group, *mode, *extra;
    size_t name_len, cidrs_len, group_len, mode_len = 0, extra_len;
    if (!next_field(l, &name, &name_len) || !next_field(l, &cidrs, &cidrs_len) ||
        !next_field(l, &group, &group_len))
        return line_error(err, CROW_EPARSE, l->number,
                          "expected: rack NAME CIDR[,CIDR...] GROUP:PORT [direct|relayed]", NULL, 0);
    bool has_mode = next_field(l, &mode, &mode_len);
    if (next_field(l, &extra, &extra_len))
        return line_error(err, CROW_EPARSE, l->number, "unexpected field", extra, extra_len);
    if (!crow_rack_name_valid(name, name_len))
        return line_error(err, CROW_EPARSE, l->number, "bad rack name (1-32 of A-Z a-z 0-9 . _ -)", name,
                          name_len);
    if (crow_racks_find(r, name, name_len) != CROW_RACK_NONE)
        return line_error(err, CROW_EPARSE, l->number, "rack defined twice", name, name_len);
    if (r->count >= CROW_RACKS_MAX)
        return line_error(err, CROW_ELIMIT, l->number, "too many racks", NULL, 0);
    crow_rack_t *rack = &r->racks[r->count];
    const char *colon = memchr(group, ':', group_len);
    uint64_t port;
    if (!colon || !crow_ipv4_parse(group, (size_t)(colon - group), &rack->group))
        return line_error(err, CROW_EPARSE, l->number, "bad GROUP:PORT", group, group_len);
    if ((rack->group >> 28) != 0xe)
        return line_error(err, CROW_EPARSE, l->number, "not a multicast group (224.0.0.0/4)", group,
                          (size_t)(colon - group));
    if (!crow_parse_decimal(colon + 1, group_len - (size_t)(colon + 1 - group), 65535, &port) || port == 0)
        return line_error(err, CROW_EPARSE, l->number, "bad port", colon + 1,
                          group_len - (size_t)(colon + 1 - group));
    rack->port = (uint16_t)port;
    rack->relayed = has_mode && mode_len == 7 && memcmp(mode, "relayed", 7) == 0;
    if (has_mode && !rack->relayed && (mode_len != 6 || memcmp(mode, "direct", 6) != 0))
        return line_error(err, CROW_EPARSE, l->number, "expected direct or relayed, got", mode, mode_len);
    memcpy(rack->name, name, name_len);
    rack->name[name_len] = '\0';
    const char *p = cidrs, *end = cidrs + cidrs_len;
    while (p <= end) {
        const char *comma = memchr(p, ',', (size_t)(end - p));
        const char *stop = comma ? comma : end;
        int ret = add_prefix(r, p, (size_t)(stop - p), r->count, l->number, err);
        if (ret < 0)
            return ret;
        p = stop + 1;
    }
    r->count++;
    return 0;
}

static int parse_trust(crow_racks_t *r, struct line *l, bool *seen, crow_racks_error_t *err)
{
    const char *v, *extra;
    size_t vlen, extra_len;
    if (*seen)
        return line_error(err, CROW_EPARSE, l->number, "trust-announced-rack given twice", NULL, 0);
    if (!next_field(l, &v, &vlen) || next_field(l, &extra, &extra_len))
        return line_error(err, CROW_EPARSE, l->number, "expected: trust-announced-rack yes|no", NULL, 0);
    if (vlen == 3 && memcmp(v, "yes", 3) == 0)
        r->trust_announced = true;
    else if (vlen == 2 && memcmp(v, "no", 2) == 0)
        r->trust_announced = false;
    else
        return line_error(err, CROW_EPARSE, l->number, "expected yes or no, got", v, vlen);
    *seen = true;
    return 0;
}

int crow_racks_parse(crow_racks_t *r, const char *text, size_t len, crow_racks_error_t *err)
{
    const char *p = text, *end = text + len;
    bool trust_seen = false;
    int ret = 0;
    crow_racks_init(r);
    for (unsigned number = 1; p < end; number++) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        const char *stop = nl ? nl : end;
        const char *hash = memchr(p, '#', (size_t)(stop - p));
        struct line l = {p, hash ? hash : stop, number};
        if (l.end > l.p && l.end[-1] == '\r')
            l.end--;
        p = stop + 1;
        const char *word;
        size_t wlen;
        if (!next_field(&l, &word, &wlen))
            continue;
        if (memchr(word, '\0', (size_t)(l.end - word))) {
            ret = line_error(err, CROW_EPARSE, number, "NUL byte in line", NULL, 0);
            goto out;
        }
        if (wlen == 4 && memcmp(word, "rack", 4) == 0)
            ret = parse_rack(r, &l, err);
        else if (wlen == 20 && memcmp(word, "trust-announced-rack", 20) == 0)
            ret = parse_trust(r, &l, &trust_seen, err);
        else
            ret = line_error(err, CROW_EPARSE, number, "unknown directive", word, wlen);
        if (ret < 0)
            goto out;
    }
out:
    if (ret < 0)
        crow_racks_init(r);
    return ret;
}

uint32_t crow_racks_lookup(const crow_racks_t *r, uint32_t addr)
{
    uint32_t best = CROW_RACK_NONE;
    int best_len = -1;
    for (uint32_t i = 0; i < r->prefix_count; i++) {
        const struct crow_rack_prefix *pf = &r->prefixes[i];
        if ((addr & pf->mask) == pf->net && (int)pf->len > best_len) {
            best = pf->rack;
            best_len = pf->len;
        }
    }
    return best;
}

uint32_t crow_racks_find(const crow_racks_t *r, const char *name, size_t len)
{
    for (uint32_t i = 0; i < r->count; i++)
        if (strlen(r->racks[i].name) == len && memcmp(r->racks[i].name, name, len) == 0)
            return i;
    return CROW_RACK_NONE;
}

int crow_racks_resolve(const crow_racks_t *r, uint32_t addr, const char *announced, uint32_t *rack)
{
    if (r->trust_announced && announced && announced[0]) {
        *rack = crow_racks_find(r, announced, strlen(announced));
        return *rack == CROW_RACK_NONE ? CROW_EPROTO : 0;
    }
    *rack = crow_racks_lookup(r, addr);
    return 0;
}

unsigned crow_racks_stream_groups(const crow_racks_t *r, crow_rack_endpoint_t *out, unsigned cap)
{
    unsigned n = 0;
    for (uint32_t i = 0; i < r->count; i++) {
        const crow_rack_t *rack = &r->racks[i];
        bool seen = false;
        for (unsigned k = 0; k < n && !seen; k++)
            seen = out[k].group == rack->group && out[k].port == rack->port;
        if (!rack->relayed && !seen && n < cap)
            out[n++] = (crow_rack_endpoint_t){rack->group, rack->port};
    }
    return n;
}

const crow_rack_t *crow_racks_get(const crow_racks_t *r, uint32_t rack)
{
    return rack < r->count ? &r->racks[rack] : NULL;
}
