/* A rack relay's decisions: the role from the tracker's answers, and segments as they verify. */
#include <string.h>

#include "crowcast/relay_plan.h"
#include "crowcast/stream_need.h"

void crow_relay_plan_init(crow_relay_plan_t *p, uint32_t piece_count)
{
    memset(p, 0, sizeof *p);
    p->piece_count = piece_count;
    p->segments = crow_stream_segments(piece_count);
}

enum crow_relay_change crow_relay_plan_answer(crow_relay_plan_t *p, const crow_crowcast_info_t *c)
{
    bool relay = c->present && c->relay && c->group && c->port;
    if (!relay) {
        bool was = p->relay;
        p->relay = false;
        return was ? CROW_RELAY_STOP : CROW_RELAY_SAME;
    }
    if (p->relay && p->group == c->group && p->port == c->port)
        return CROW_RELAY_SAME;
    p->relay = true;
    p->group = c->group;
    p->port = c->port;
    return CROW_RELAY_START;
}

static bool segment_verified(const crow_relay_plan_t *p, const crow_bitfield_t *verified, uint32_t seg)
{
    uint32_t first, end;
    crow_stream_segment_pieces(seg, p->piece_count, &first, &end);
    uint32_t clear = crow_bitfield_next_clear(verified, first);
    return clear >= end;
}

uint32_t crow_relay_plan_take(crow_relay_plan_t *p, const crow_bitfield_t *verified, crow_need_map_t *out)
{
    uint32_t n = 0;
    memset(out, 0, sizeof *out);
    if (verified->nbits != p->piece_count)
        return 0;
    for (uint32_t seg = 0; seg < p->segments; seg++)
        if (!crow_need_map_get(&p->taken, seg) && segment_verified(p, verified, seg)) {
            crow_need_map_set(&p->taken, seg);
            crow_need_map_set(out, seg);
            n++;
        }
    return n;
}

bool crow_relay_plan_all_taken(const crow_relay_plan_t *p)
{
    return crow_need_map_count(&p->taken) >= p->segments;
}

void crow_relay_plan_restart(crow_relay_plan_t *p)
{
    memset(&p->taken, 0, sizeof p->taken);
}
