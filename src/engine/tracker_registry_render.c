/* The tracker registry rendered: the JSON of GET /status and the Prometheus text of GET /metrics, read
 * from the registry's state (tracker_registry_internal.h) without changing it. */
#include <stdio.h>
#include <string.h>

#include "crowcast/hash.h"
#include "crowcast/text.h"
#include "crowcast/tracker_registry.h"
#include "tracker_registry_internal.h"

struct rack_stats {
    uint32_t rack, peers, complete;
    uint64_t bytes_left, since;
    const struct peer *head;
};

/* Statistics of the chain starting at index lo; returns the index after it. */
static uint32_t rack_run(const struct swarm *s, uint32_t lo, struct rack_stats *st)
{
    memset(st, 0, sizeof(*st));
    st->rack = s->peers[lo].rack;
    st->since = UINT64_MAX;
    uint32_t i = lo;
    for (; i < s->count && s->peers[i].rack == st->rack; i++) {
        st->peers++;
        st->complete += s->peers[i].seeder;
        st->bytes_left += s->peers[i].left;
        if (s->peers[i].first_seen < st->since)
            st->since = s->peers[i].first_seen;
    }
    st->head = &s->peers[crow_tracker_registry_chain_head(s, lo, i)];
    return i;
}

static void put_endpoint(crow_text_t *t, uint32_t addr, uint16_t port)
{
    char dotted[16];
    crow_ipv4_format(addr, dotted);
    crow_text_printf(t, "\"%s:%u\"", dotted, port);
}

long crow_tracker_registry_status_json(const crow_tracker_registry_t *reg, uint64_t now, char *buf,
                                       size_t cap)
{
    crow_text_t t = {buf, cap, 0, false};
    crow_text_printf(&t, "{\"now_ms\":%llu,\"releases\":[", (unsigned long long)now);
    for (uint32_t k = 0; k < reg->active; k++) {
        const struct swarm *s = &reg->swarms[reg->order[k]];
        char hex[2 * CROW_INFO_HASH_LEN + 1];
        uint64_t left = 0;
        for (uint32_t i = 0; i < s->count; i++)
            left += s->peers[i].left;
        crow_hex(s->info_hash, CROW_INFO_HASH_LEN, hex);
        crow_text_printf(
            &t,
            "%s{\"info_hash\":\"%s\",\"since_ms\":%llu,\"peers\":%u,\"complete\":%u,\"incomplete\":%u,"
            "\"downloaded\":%llu,\"bytes_left\":%llu,\"racks\":[",
            k ? "," : "", hex, (unsigned long long)s->created, s->count, s->complete, s->count - s->complete,
            (unsigned long long)s->downloaded, (unsigned long long)left);
        struct rack_stats st;
        for (uint32_t i = 0; i < s->count;) {
            uint32_t lo = i;
            i = rack_run(s, i, &st);
            const crow_rack_t *r = crow_racks_get(reg->racks, st.rack);
            crow_text_printf(&t, "%s{\"rack\":", lo == 0 ? "" : ",");
            if (r) {
                crow_text_printf(&t, "\"%s\",\"group\":", r->name);
                put_endpoint(&t, r->group, r->port);
            } else {
                crow_text_printf(&t, "null,\"group\":null");
            }
            crow_text_printf(
                &t, ",\"peers\":%u,\"complete\":%u,\"bytes_left\":%llu,\"since_ms\":%llu,\"head\":", st.peers,
                st.complete, (unsigned long long)st.bytes_left, (unsigned long long)st.since);
            put_endpoint(&t, st.head->addr, st.head->port);
            if (r && r->relayed) { /* a relayed rack's head is its relay */
                crow_text_printf(&t, ",\"relay\":");
                put_endpoint(&t, st.head->addr, st.head->port);
            }
            crow_text_printf(&t, ",\"chain\":[");
            for (const struct peer *p = s->peers + lo; p < s->peers + i; p++) {
                crow_text_printf(&t, "%s{\"peer\":", p == s->peers + lo ? "" : ",");
                put_endpoint(&t, p->addr, p->port);
                crow_text_printf(&t,
                                 ",\"left\":%llu,\"since_ms\":%llu,\"hook\":", (unsigned long long)p->left,
                                 (unsigned long long)p->first_seen);
                if (p->hook >= 0)
                    crow_text_printf(&t, "%d", p->hook);
                else
                    crow_text_printf(&t, "null");
                static const char *const mcast[] = {"null", "\"lit\"", "\"dark\""};
                crow_text_printf(&t, ",\"mcast\":%s}", mcast[p->mcast]);
            }
            crow_text_printf(&t, "]}");
        }
        crow_text_printf(&t, "]}");
    }
    crow_text_printf(&t, "]}");
    return crow_text_end(&t);
}

enum rack_metric { M_PEERS, M_COMPLETE, M_BYTES_LEFT };

static void put_rack_metric(crow_text_t *t, const crow_tracker_registry_t *reg, enum rack_metric m,
                            const char *name, const char *help)
{
    crow_text_printf(t, "# HELP %s %s\n# TYPE %s gauge\n", name, help, name);
    for (uint32_t k = 0; k < reg->active; k++) {
        const struct swarm *s = &reg->swarms[reg->order[k]];
        char hex[2 * CROW_INFO_HASH_LEN + 1];
        crow_hex(s->info_hash, CROW_INFO_HASH_LEN, hex);
        struct rack_stats st;
        for (uint32_t i = 0; i < s->count;) {
            i = rack_run(s, i, &st);
            const crow_rack_t *r = crow_racks_get(reg->racks, st.rack);
            uint64_t v = m == M_PEERS ? st.peers : m == M_COMPLETE ? st.complete : st.bytes_left;
            crow_text_printf(t, "%s{info_hash=\"%s\",rack=\"%s\"} %llu\n", name, hex, r ? r->name : "",
                             (unsigned long long)v);
        }
    }
}

long crow_tracker_registry_metrics(const crow_tracker_registry_t *reg, char *buf, size_t cap)
{
    crow_text_t t = {buf, cap, 0, false};
    crow_text_printf(&t,
                     "# HELP crowcast_tracker_swarms Releases (info hashes) with at least one peer.\n"
                     "# TYPE crowcast_tracker_swarms gauge\ncrowcast_tracker_swarms %u\n",
                     reg->active);
    put_rack_metric(&t, reg, M_PEERS, "crowcast_tracker_peers", "Peers per release and rack.");
    put_rack_metric(&t, reg, M_COMPLETE, "crowcast_tracker_complete", "Seeders per release and rack.");
    put_rack_metric(&t, reg, M_BYTES_LEFT, "crowcast_tracker_bytes_left",
                    "Sum of the peers' announced bytes left, per release and rack.");
    crow_text_printf(&t, "# HELP crowcast_tracker_downloaded_total Completed downloads per release.\n"
                         "# TYPE crowcast_tracker_downloaded_total counter\n");
    for (uint32_t k = 0; k < reg->active; k++) {
        const struct swarm *s = &reg->swarms[reg->order[k]];
        char hex[2 * CROW_INFO_HASH_LEN + 1];
        crow_hex(s->info_hash, CROW_INFO_HASH_LEN, hex);
        crow_text_printf(&t, "crowcast_tracker_downloaded_total{info_hash=\"%s\"} %llu\n", hex,
                         (unsigned long long)s->downloaded);
    }
    crow_text_printf(
        &t,
        "# HELP crowcast_tracker_announces_total Announces received.\n"
        "# TYPE crowcast_tracker_announces_total counter\ncrowcast_tracker_announces_total %llu\n"
        "# HELP crowcast_tracker_rejected_total Announces refused because the registry was full.\n"
        "# TYPE crowcast_tracker_rejected_total counter\ncrowcast_tracker_rejected_total %llu\n"
        "# HELP crowcast_tracker_expired_total Peers expired for silence.\n"
        "# TYPE crowcast_tracker_expired_total counter\ncrowcast_tracker_expired_total %llu\n",
        (unsigned long long)reg->announces, (unsigned long long)reg->rejected,
        (unsigned long long)reg->expired);
    return crow_text_end(&t);
}
