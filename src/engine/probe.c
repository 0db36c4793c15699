/* Probe sessions: ids, the synthetic release of a step, the rate ladder, and the receiver's per-step
 * bookkeeping over the ordinary multicast receiver engine. No I/O, no clock. */
#include <errno.h>
#include <string.h>

#include "crowcast/byteorder.h"
#include "crowcast/error.h"
#include "crowcast/probe.h"

uint64_t crow_probe_session(uint16_t run, uint16_t step)
{
    return (uint64_t)CROW_PROBE_MAGIC << 32 | (uint64_t)run << 16 | step;
}

bool crow_probe_session_parse(uint64_t session, uint16_t *run, uint16_t *step)
{
    if (session >> 32 != CROW_PROBE_MAGIC)
        return false;
    if (run)
        *run = (uint16_t)(session >> 16);
    if (step)
        *step = (uint16_t)session;
    return true;
}

int crow_probe_manifest(crow_manifest_t *m, uint16_t run, uint16_t step, uint64_t bytes, uint32_t chunk_size)
{
    memset(m, 0, sizeof *m);
    if (bytes == 0 || bytes > CROW_PROBE_MAX_STEP_BYTES || chunk_size < CROW_MIN_CHUNK_SIZE ||
        chunk_size > CROW_MAX_CHUNK_SIZE)
        return CROW_EUSAGE;
    m->single_file = true;
    m->total_length = bytes;
    m->piece_length = CROW_PROBE_PIECE_LENGTH;
    m->piece_count = (uint32_t)((bytes - 1) / CROW_PROBE_PIECE_LENGTH + 1);
    m->chunk_size = chunk_size;
    crow_put64(m->release_id, crow_probe_session(run, step));
    return 0;
}

int crow_probe_manifest_from_beacon(crow_manifest_t *m, const crow_dgram_beacon_t *b)
{
    uint16_t run, step;
    static const uint8_t zero[CROW_SHA256_LEN - 8];
    if (!crow_probe_session_parse(crow_dgram_session_of(b->release_id), &run, &step))
        return CROW_ESESSION;
    if (memcmp(b->release_id + 8, zero, sizeof zero) || b->piece_length != CROW_PROBE_PIECE_LENGTH ||
        crow_probe_manifest(m, run, step, b->total_length, b->chunk_size) ||
        b->piece_count != m->piece_count) {
        memset(m, 0, sizeof *m);
        return CROW_EPROTO;
    }
    return 0;
}

uint64_t crow_probe_step_bytes(uint64_t rate_bps, double seconds, uint32_t chunk_size,
                               uint32_t overhead_bytes)
{
    double datagrams =
        (double)rate_bps * seconds / 8.0 / (CROW_DGRAM_HEADER_LEN + chunk_size + overhead_bytes);
    double bytes = datagrams * chunk_size;
    if (bytes < chunk_size)
        return chunk_size;
    if (bytes > (double)CROW_PROBE_MAX_STEP_BYTES)
        return CROW_PROBE_MAX_STEP_BYTES;
    return (uint64_t)bytes;
}

size_t crow_probe_ladder(uint64_t from, uint64_t to, double factor, uint64_t *out, size_t max)
{
    size_t n = 0;
    if (from == 0 || from > to || !(factor > 1.0))
        return 0;
    for (double r = (double)from; n < max && r < (double)to * 0.999; r *= factor)
        out[n++] = (uint64_t)r;
    if (n < max)
        out[n++] = to;
    return n;
}

/* ---- receiver ---- */

void crow_probe_rx_init(crow_probe_rx_t *rx)
{
    memset(rx, 0, sizeof *rx);
}

static void end_step(crow_probe_rx_t *rx)
{
    if (!rx->active)
        return;
    crow_mcast_receiver_dispose(&rx->r);
    rx->active = false;
}

void crow_probe_rx_dispose(crow_probe_rx_t *rx)
{
    end_step(rx);
}

/* Closes the step under way into *done. */
static void report_step(crow_probe_rx_t *rx, crow_probe_report_t *done)
{
    uint64_t expected = crow_manifest_total_chunks(&rx->m);
    uint64_t received = expected - crow_mcast_receiver_missing_chunks(&rx->r) + rx->early;
    *done = (crow_probe_report_t){
        .run = rx->run,
        .step = rx->step,
        .rate_bps = rx->rate_bps,
        .expected = expected,
        .received = received < expected ? received : expected,
        .payload_bytes = rx->payload,
        .usec = rx->last_ns > rx->first_ns ? (rx->last_ns - rx->first_ns) / 1000 : 0,
    };
    rx->have_done = true;
    rx->done_run = rx->run;
    rx->done_step = rx->step;
    rx->stats.steps++;
    end_step(rx);
}

/* Already reported (or older than what was): a straggler. A new run number starts afresh. */
static bool is_stale(const crow_probe_rx_t *rx, uint16_t run, uint16_t step)
{
    return rx->have_done && run == rx->done_run && step <= rx->done_step;
}

static int start_step(crow_probe_rx_t *rx, const crow_dgram_t *d, uint64_t session)
{
    if (crow_probe_manifest_from_beacon(&rx->m, &d->beacon)) {
        rx->stats.refused++;
        return 0;
    }
    int ret = crow_mcast_receiver_init(&rx->r, &rx->m);
    if (ret)
        return ret == -ENOMEM ? ret : 0;
    crow_probe_session_parse(session, &rx->run, &rx->step);
    rx->active = true;
    rx->rate_bps = d->beacon.rate_bps;
    rx->payload = 0;
    /* DATA seen before this BEACON arrived: received, though the chunk map missed them. */
    rx->early = rx->early_session == session ? rx->early : 0;
    rx->early_session = 0;
    return 0;
}

int crow_probe_rx_on_datagram(crow_probe_rx_t *rx, uint64_t source, const uint8_t *buf, size_t len,
                              uint64_t now_ns, crow_probe_report_t *done)
{
    rx->stats.datagrams++;
    crow_dgram_t d;
    uint16_t run, step;
    if (crow_dgram_decode(buf, len, &d)) {
        rx->stats.malformed++;
        return 0;
    }
    if (!crow_probe_session_parse(d.session, &run, &step)) {
        rx->stats.foreign++;
        return 0;
    }
    if (is_stale(rx, run, step)) {
        rx->stats.stale++;
        return 0;
    }
    int ended = 0;
    bool current = rx->active && run == rx->run && step == rx->step;
    if (!current && d.type != CROW_DGRAM_BEACON) {
        if (d.type == CROW_DGRAM_DATA) {
            rx->early = rx->early_session == d.session ? rx->early + 1 : 1;
            rx->early_session = d.session;
        }
        return 0;
    }
    if (!current) {
        if (rx->active) {
            report_step(rx, done);
            ended = 1;
        }
        int ret = start_step(rx, &d, d.session);
        if (ret)
            return ret;
        if (!rx->active)
            return ended;
        rx->first_ns = now_ns;
    }
    crow_mcast_rx_event_t ev;
    if (crow_mcast_receiver_on_datagram(&rx->r, source, buf, len, &ev)) {
        rx->stats.refused++;
        return ended;
    }
    rx->last_ns = now_ns;
    if (ev.kind == CROW_MCAST_RX_DATA) {
        rx->payload += ev.length;
        if (ev.piece_complete) /* the payload is synthetic: nothing to hash */
            crow_mcast_receiver_mark_verified(&rx->r, ev.piece);
    } else if (ev.kind == CROW_MCAST_RX_END && ev.stream_done && !ended) {
        report_step(rx, done);
        ended = 1;
    }
    return ended;
}

int crow_probe_rx_poll(crow_probe_rx_t *rx, uint64_t now_ns, uint64_t silence_ns, crow_probe_report_t *done)
{
    if (!rx->active || now_ns < rx->last_ns + silence_ns)
        return 0;
    report_step(rx, done);
    return 1;
}
