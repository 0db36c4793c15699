/* Binary min-heap of events ordered by (time, sequence), and the event log. */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>

#include "sim_sched.h"

#define FNV_OFFSET 0xcbf29ce484222325ull
#define FNV_PRIME  0x100000001b3ull

int sim_sched_init(sim_sched_t *s)
{
    *s = (sim_sched_t){.cap = 1024, .hash = FNV_OFFSET};
    s->heap = malloc(s->cap * sizeof *s->heap);
    return s->heap ? 0 : -ENOMEM;
}

void sim_sched_dispose(sim_sched_t *s)
{
    free(s->heap);
    s->heap = NULL;
    s->n = s->cap = 0;
}

static bool before(const sim_event_t *a, const sim_event_t *b)
{
    return a->t < b->t || (a->t == b->t && a->seq < b->seq);
}

int sim_sched_at(sim_sched_t *s, uint64_t t, uint32_t kind, uint32_t obj, uint64_t arg)
{
    if (s->n == s->cap) {
        sim_event_t *h = realloc(s->heap, 2 * s->cap * sizeof *h);
        if (!h)
            return -ENOMEM;
        s->heap = h;
        s->cap *= 2;
    }
    sim_event_t e = {
        .t = t < s->now ? s->now : t, .seq = s->next_seq++, .kind = kind, .obj = obj, .arg = arg};
    size_t i = s->n++;
    while (i > 0) {
        size_t parent = (i - 1) / 2;
        if (!before(&e, &s->heap[parent]))
            break;
        s->heap[i] = s->heap[parent];
        i = parent;
    }
    s->heap[i] = e;
    return 0;
}

static void hash_u64(uint64_t *h, uint64_t v)
{
    for (int i = 0; i < 8; i++, v >>= 8)
        *h = (*h ^ (v & 0xff)) * FNV_PRIME;
}

bool sim_sched_pop(sim_sched_t *s, sim_event_t *out)
{
    if (s->n == 0)
        return false;
    *out = s->heap[0];
    sim_event_t last = s->heap[--s->n];
    size_t i = 0;
    for (;;) {
        size_t l = 2 * i + 1, m = i;
        if (l >= s->n)
            break;
        m = l + 1 < s->n && before(&s->heap[l + 1], &s->heap[l]) ? l + 1 : l;
        if (!before(&s->heap[m], &last))
            break;
        s->heap[i] = s->heap[m];
        i = m;
    }
    if (s->n)
        s->heap[i] = last;
    s->now = out->t;
    s->popped++;
    hash_u64(&s->hash, out->t);
    hash_u64(&s->hash, (uint64_t)out->kind << 32 | out->obj);
    hash_u64(&s->hash, out->arg);
    if (s->log)
        fprintf(s->log, "%" PRIu64 " %" PRIu32 " %" PRIu32 " %" PRIu64 "\n", out->t, out->kind, out->obj,
                out->arg);
    return true;
}

uint64_t sim_sched_peek(const sim_sched_t *s)
{
    return s->n ? s->heap[0].t : UINT64_MAX;
}
