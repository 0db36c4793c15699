/* One peer wire connection as a state machine, sans I/O: bytes and a clock in, bytes and actions out.
 *
 * Life of a connection, as the I/O layer drives it:
 *   s = crow_peer_session_new(ctx, distance, same_rack, now)
 *   loop:
 *     crow_peer_session_flush(s, now, &out)       bytes to send are appended to out
 *     on bytes received: while (n = crow_peer_session_receive(s, buf, len, now, &ev)) > 0:
 *         act on ev (BLOCK: write ev.data to storage at (piece, begin); SERVE: see below), drop n bytes
 *     while crow_peer_session_next_serve(s, &b): read b from storage, then
 *         crow_peer_session_piece_header(s, &b, &out) and append the b.length bytes after it
 *     when a piece verifies: set it in ctx->cfg.have, then crow_peer_session_have() on every session
 *     wake up at crow_peer_session_next_deadline(s) and flush
 *   any negative return: close the socket, then crow_peer_session_free(s); crow_peer_session_reason(s)
 *   says why, for the caller to log (the session logs nothing itself: it reports, the glue logs).
 *
 * Policy for a trusted datacenter: every interested neighbour is unchoked up to unchoke_limit per
 * context (no tit-for-tat); requests are pipelined (pipeline_bytes in flight), 16 KiB each to stock
 * clients, up to max_request (and the peer's advertised "max req") between crowcast peers, which
 * recognise each other by the "crowcast" dictionary in the BEP 10 handshake. A request expires when
 * its neighbour has delivered no block for request_timeout (each block it delivers pushes the
 * deadline of all its outstanding requests: on a busy link they are queued, not lost); an expired
 * request is cancelled and its chunks go back to the picker for other neighbours; this neighbour
 * then gets no new request for `backoff`, and the picker stops believing its claims (see
 * crowcast/picker.h) until it delivers; so does one that keeps us choked for request_timeout while
 * we want its pieces.
 *
 * Strictness: an unknown info hash, a wrong protocol string, a message longer than
 * crow_peer_session_max_message(), a bitfield of the wrong size or with spare bits set,
 * a HAVE, REQUEST or PIECE beyond the release or the piece, a request larger than max_request, for a
 * piece we lack, or beyond the advertised queue (reqq) close the connection with a reason.
 * Requests while we choke the peer are dropped (they may cross our CHOKE); unsolicited blocks are
 * dropped (they may cross our CANCEL); unknown messages and extended messages are ignored. A
 * bitfield after other messages (aria2 sends one after its first HAVEs) adds its pieces like HAVEs.
 */
#ifndef CROWCAST_PEER_SESSION_H
#define CROWCAST_PEER_SESSION_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "crowcast/bitfield.h"
#include "crowcast/manifest.h"
#include "crowcast/picker.h"
#include "crowcast/wire.h"

typedef struct crow_peer_config {
    const crow_manifest_t *manifest; /* geometry and info hash; must outlive every session */
    const uint8_t *peer_id;          /* our 20-byte peer id */
    const crow_bitfield_t *have;     /* our verified pieces; caller-owned, shared by the sessions */
    crow_picker_t *picker;           /* where requests come from; NULL: never download (a seed) */
    const char *client;              /* "v" in the extension handshake, e.g. "crowcast 0.1" */
    const char *rack;                /* our rack name, NULL when unknown */
    int64_t pos;                     /* our chain position in the rack, -1 when unknown */
    uint32_t max_request;            /* largest block we serve, and request from crowcast peers */
    uint32_t pipeline_bytes;         /* request bytes in flight per neighbour */
    uint32_t max_depth;     /* requests in flight per neighbour, at most (<= the picker's max_depth) */
    uint32_t reqq;          /* incoming requests queued per connection (advertised) */
    uint32_t unchoke_limit; /* neighbours unchoked at once, per context */
    uint64_t request_timeout, backoff, keepalive, idle_timeout, handshake_timeout; /* nanoseconds */
} crow_peer_config_t;

/* Shared by every session of one release in a process. */
typedef struct crow_peer_context {
    crow_peer_config_t cfg;
    uint32_t unchoked; /* sessions currently unchoking their peer */
} crow_peer_context_t;

/* Datacenter defaults: 1 MiB requests, 16 MiB in flight, depth 64, reqq 256, 64 unchoked,
 * request timeout 2 s, backoff 1 s, keep-alive 60 s, idle 180 s, handshake 10 s. The pointers
 * and rack/pos are left NULL/-1. */
void crow_peer_config_default(crow_peer_config_t *cfg);
/* Copies cfg into ctx after checking it. Returns 0 or CROW_EUSAGE. */
int crow_peer_context_init(crow_peer_context_t *ctx, const crow_peer_config_t *cfg);
/* Our rack and chain position became known or changed (the tracker told us): later handshakes
 * carry them (for the remote's logs: no peer takes a place from a handshake). rack must outlive the
 * context (NULL: unknown). */
void crow_peer_context_set_place(crow_peer_context_t *ctx, const char *rack, int64_t pos);

/* Caller-owned output buffer: sessions append at data + len, never past cap. */
typedef struct crow_outbuf {
    uint8_t *data;
    size_t len, cap;
} crow_outbuf_t;

enum crow_peer_event_type {
    CROW_PEER_EV_NONE,  /* nothing for the caller */
    CROW_PEER_EV_READY, /* the remote handshake checked out; crow_peer_session_info has its id */
    CROW_PEER_EV_BLOCK, /* a requested block: write data[0..block.length) at (block.piece, block.begin) */
    CROW_PEER_EV_SERVE, /* a request was queued: drain crow_peer_session_next_serve */
};

typedef struct crow_peer_event {
    enum crow_peer_event_type type;
    crow_block_t block;
    const uint8_t *data; /* BLOCK: inside the buffer given to receive; valid until those bytes go */
    bool wake_others;    /* chunks went back to the picker: flush the other sessions too */
} crow_peer_event_t;

typedef struct crow_peer_info {
    uint8_t peer_id[CROW_WIRE_ID_LEN]; /* valid after READY */
    bool crowcast;                     /* the remote is a crowcast peer */
    char client[64];                   /* its "v", truncated; empty when unknown */
    char rack[64];                     /* crowcast: the rack it claims; empty when unknown */
    int64_t pos;                       /* crowcast: the chain position it claims, -1 when unknown */
    uint32_t request_size, depth;      /* what we use towards it */
    bool am_choking, am_interested, peer_choking, peer_interested;
    uint32_t remote_pieces;    /* pieces it has */
    int picker_id;             /* its neighbour id in the picker, -1 without a picker */
    uint64_t bytes_served;     /* block bytes we sent it (headers given out) */
    uint32_t requests_dropped; /* requests it sent while we choked it */
} crow_peer_info_t;

typedef struct crow_peer_session crow_peer_session_t;

/* Creates a session for one connection (either direction) and joins the picker as a neighbour at
 * chain `distance` (same_rack: in our rack), as the tracker places it; the rack and position a
 * crowcast peer claims in its handshake are reported in crow_peer_info_t, never believed. Returns 0,
 * CROW_ELIMIT (no picker slot) or -ENOMEM. */
int crow_peer_session_new(crow_peer_context_t *ctx, uint32_t distance, bool same_rack, uint64_t now,
                          crow_peer_session_t **out);
/* Leaves the picker (outstanding requests go back to the pool: flush the other sessions) and
 * frees the unchoke slot. NULL is a no-op. */
void crow_peer_session_free(crow_peer_session_t *s);
/* The tracker placed the remote (again): its picker link becomes this. A connection accepted before
 * the tracker named its peer starts as an unknown, far neighbour; this corrects it. */
void crow_peer_session_set_link(crow_peer_session_t *s, uint32_t distance, bool same_rack);

/* The receive buffer must hold this many bytes (a whole message with its prefix): blocks are
 * handed out in place, never copied. Anything longer closes the connection. */
size_t crow_peer_session_max_message(const crow_peer_session_t *s);
/* The out buffer must have at least this capacity (handshake, bitfield and extension handshake
 * are written whole). */
size_t crow_peer_session_min_out(const crow_peer_session_t *s);

/* Consumes at most one handshake or message from buf[0..len). Returns the bytes consumed (> 0)
 * with *ev filled, CROW_EMORE (nothing consumed), or a negative code (CROW_EPROTO, CROW_ELIMIT):
 * close the connection. */
long crow_peer_session_receive(crow_peer_session_t *s, const uint8_t *buf, size_t len, uint64_t now,
                               crow_peer_event_t *ev);
/* Appends whatever is due to out: handshake, bitfield, extension handshake, choke and interest
 * changes, HAVEs, CANCELs, new requests, keep-alive; expires requests. Items that do not fit wait
 * for the next call. Returns 0, 1 when chunks went back to the picker (its requests timed out: this
 * neighbour backs off; flush the other sessions),
 * or a negative code (CROW_ETIMEOUT: handshake or idle timeout): close the connection. */
int crow_peer_session_flush(crow_peer_session_t *s, uint64_t now, crow_outbuf_t *out);
/* Earliest time flush has work to do by itself (timeouts, keep-alive, end of a backoff). */
uint64_t crow_peer_session_next_deadline(const crow_peer_session_t *s);

/* The hook for a verified piece: call on every session after setting the bit in cfg.have (once per
 * piece). Queues a HAVE for the next flush. */
void crow_peer_session_have(crow_peer_session_t *s, uint32_t piece);

/* Pops the oldest queued request to serve. Returns false when none is queued. */
bool crow_peer_session_next_serve(crow_peer_session_t *s, crow_block_t *out);
/* Appends the 13-byte PIECE header for b; the caller appends b->length block bytes right after.
 * Returns 0 or CROW_ESPACE. */
int crow_peer_session_piece_header(crow_peer_session_t *s, const crow_block_t *b, crow_outbuf_t *out);

void crow_peer_session_info(const crow_peer_session_t *s, crow_peer_info_t *out);
/* Two peers that dialled each other hold two connections, and each would count as a neighbour of
 * its own (twice the requests in flight, an endgame that starts twice as early). Both ends keep
 * the one dialled by the side whose peer id is smaller, so they close the same one: true when we
 * (`ours`) keep the connection we dialled to `theirs`. */
bool crow_peer_keeps_dialled(const uint8_t ours[CROW_WIRE_ID_LEN], const uint8_t theirs[CROW_WIRE_ID_LEN]);
/* Why the session closed ("" while open). */
const char *crow_peer_session_reason(const crow_peer_session_t *s);

#endif
