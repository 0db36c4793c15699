/* Who supplied the bytes of a piece that failed verification, and which sources to drop for it (see
 * crowcast/blame.h for the rules). */
#include <errno.h>
#include <stdlib.h>

#include "crowcast/blame.h"
#include "crowcast/error.h"

struct source {
    uint64_t key;
    uint32_t strikes;
    bool used, dropped;
};

/* Sources that supplied new bytes of one piece since its last reset. */
struct record {
    uint32_t first_bytes;                   /* new bytes from src[0] */
    uint16_t src[CROW_BLAME_PIECE_SOURCES]; /* source index + 1; 0: none */
    bool shared;                            /* other sources too (beyond src[0]) */
};

struct crow_blame {
    crow_blame_config_t cfg;
    struct source *sources;
    struct record *records;
};

int crow_blame_new(const crow_blame_config_t *cfg, crow_blame_t **out)
{
    if (!cfg->manifest || !cfg->manifest->piece_count || !cfg->max_sources || cfg->max_sources > UINT16_MAX ||
        !cfg->strikes)
        return CROW_EUSAGE;
    crow_blame_t *b = calloc(1, sizeof *b);
    if (!b)
        return -ENOMEM;
    b->cfg = *cfg;
    b->sources = calloc(cfg->max_sources, sizeof *b->sources);
    b->records = calloc(cfg->manifest->piece_count, sizeof *b->records);
    if (!b->sources || !b->records) {
        crow_blame_free(b);
        return -ENOMEM;
    }
    *out = b;
    return 0;
}

void crow_blame_free(crow_blame_t *b)
{
    if (!b)
        return;
    free(b->records);
    free(b->sources);
    free(b);
}

/* Index + 1 of the source with `key`, or 0. With `add`, a free entry is taken for a new key. */
static uint16_t find(const crow_blame_t *b, uint64_t key, bool add)
{
    uint32_t free_slot = 0;
    for (uint32_t i = 0; i < b->cfg.max_sources; i++) {
        if (b->sources[i].used && b->sources[i].key == key)
            return (uint16_t)(i + 1);
        if (!b->sources[i].used && !free_slot)
            free_slot = i + 1;
    }
    if (add && free_slot) {
        b->sources[free_slot - 1] = (struct source){.key = key, .used = true};
        return (uint16_t)free_slot;
    }
    return 0;
}

void crow_blame_supplied(crow_blame_t *b, uint32_t piece, uint64_t key, uint32_t bytes)
{
    if (piece >= b->cfg.manifest->piece_count || !bytes)
        return;
    struct record *r = &b->records[piece];
    uint16_t id = find(b, key, true);
    if (r->src[0] == id && id) {
        r->first_bytes += bytes;
        return;
    }
    if (!r->src[0] && !r->shared && id) {
        r->src[0] = id;
        r->first_bytes = bytes;
        return;
    }
    r->shared = true;
    for (unsigned k = 1; k < CROW_BLAME_PIECE_SOURCES && id; k++) {
        if (r->src[k] == id)
            return;
        if (!r->src[k]) {
            r->src[k] = id;
            return;
        }
    }
}

void crow_blame_piece_verified(crow_blame_t *b, uint32_t piece)
{
    if (piece < b->cfg.manifest->piece_count)
        b->records[piece] = (struct record){0};
}

size_t crow_blame_piece_failed(crow_blame_t *b, uint32_t piece, crow_blame_drop_t *out, size_t cap)
{
    if (piece >= b->cfg.manifest->piece_count)
        return 0;
    struct record r = b->records[piece];
    b->records[piece] = (struct record){0};
    bool whole = !r.shared && r.first_bytes >= crow_manifest_piece_size(b->cfg.manifest, piece);
    size_t n = 0;
    for (unsigned k = 0; k < CROW_BLAME_PIECE_SOURCES; k++) {
        if (!r.src[k])
            continue;
        struct source *s = &b->sources[r.src[k] - 1];
        if (s->dropped)
            continue; /* bytes it sent before it was dropped */
        s->strikes++;
        if (!whole && s->strikes < b->cfg.strikes)
            continue;
        s->dropped = true;
        if (n < cap)
            out[n++] = (crow_blame_drop_t){.key = s->key, .strikes = s->strikes, .whole = whole};
    }
    if (n)
        for (uint32_t i = 0; i < b->cfg.max_sources; i++)
            if (!b->sources[i].dropped)
                b->sources[i].strikes = 0;
    return n;
}

bool crow_blame_dropped(const crow_blame_t *b, uint64_t key)
{
    uint16_t id = find(b, key, false);
    return id && b->sources[id - 1].dropped;
}

uint32_t crow_blame_strikes(const crow_blame_t *b, uint64_t key)
{
    uint16_t id = find(b, key, false);
    return id ? b->sources[id - 1].strikes : 0;
}
