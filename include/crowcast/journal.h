/* The rollout journal: an append-only file of records, one per coordinator decision, order or report,
 * replayed at start to rebuild the rollout state (rollout.h). Sans I/O: this is the record codec.
 *
 * A record is one text line: 8 lower-case hex digits of the CRC-32 (IEEE) of the payload, a space, the
 * payload, '\n'. The payload is a query string (key=value&...) whose values are percent-encoded, so a
 * record never contains a newline and a journal stays readable with grep. Keys: t (type), r (rollout),
 * ms, w (wave), c (code), s (status), q (sequence), h (host), k (rack), rel (release id), n (name),
 * p (path), x (text), y (extra).
 * Fields at their zero value are left out. A write cut short by a crash leaves a last line without its
 * '\n' or with a bad CRC: crow_journal_scan reports it as torn and the replay ignores it.
 */
#ifndef CROWCAST_JOURNAL_H
#define CROWCAST_JOURNAL_H

#include <stddef.h>
#include <stdint.h>

#include "crowcast/announce.h"

#define CROW_JREC_HOST_MAX  63
#define CROW_JREC_NAME_MAX  255
#define CROW_JREC_TEXT_MAX  1024 /* a plan, a reason or a detail */
#define CROW_JREC_PATH_MAX  1023
#define CROW_JREC_EXTRA_MAX 8448 /* the racks known at start, comma-separated */
#define CROW_JREC_LINE_MAX  (3 * (CROW_JREC_TEXT_MAX + CROW_JREC_EXTRA_MAX + CROW_JREC_PATH_MAX + 512) + 256)

enum crow_jrec_type {
    CROW_JREC_START =
        1,            /* a rollout begins: n release name, rel id, p torrent, x plan, y racks, c distribute */
    CROW_JREC_HOST,   /* an agent registered: h host, k rack, rel its current release */
    CROW_JREC_ORDER,  /* c crow_order for host h (rel: the release it goes to) */
    CROW_JREC_REPORT, /* host h finished step c with status s (0 ok, 1 failed), x detail, q its sequence */
    CROW_JREC_WAVE,   /* wave w enters state c (crow_wave_state) at ms; x reason */
    CROW_JREC_CONTROL, /* an operator command c (crow_control) ; x who/why */
    CROW_JREC_END,     /* the rollout ends in state c (crow_rollout_state); x reason */
    CROW_JREC_EXPIRE,  /* host h leaves rollout r: it stopped polling; x reason (a poll brings it back) */
    CROW_JREC_TYPE_LAST_
};

typedef struct crow_jrec {
    enum crow_jrec_type type;
    uint32_t rollout;
    uint64_t t_ms; /* wall clock, milliseconds since the epoch */
    uint32_t wave;
    int32_t code;
    int32_t status;
    uint64_t seq; /* REPORT: the agent's sequence number (0: an agent without one) */
    char host[CROW_JREC_HOST_MAX + 1];
    char rack[CROW_RACK_NAME_MAX + 1];
    char release[65]; /* hex release id, or "" */
    char name[CROW_JREC_NAME_MAX + 1];
    char path[CROW_JREC_PATH_MAX + 1];
    char text[CROW_JREC_TEXT_MAX + 1];
    char extra[CROW_JREC_EXTRA_MAX + 1];
} crow_jrec_t;

/* Writes one record line into buf. Returns its length, CROW_ESPACE (CROW_JREC_LINE_MAX always fits) or
 * CROW_EPARSE for a record without a valid type. */
long crow_journal_encode(char *buf, size_t cap, const crow_jrec_t *rec);

/* Decodes the record at the start of buf[0..len). Returns the line's length including '\n' (> 0),
 * CROW_EMORE when no '\n' is there yet (a torn record at the end of a file), or CROW_EPARSE (a bad CRC,
 * an unknown key or type, a value too long). */
int crow_journal_decode(const char *buf, size_t len, crow_jrec_t *rec);

/* The CRC-32 (IEEE) of a record's payload, as the line's first 8 hex digits carry it (the fuzz harness
 * frames mutated payloads with it). */
uint32_t crow_journal_crc32(const char *payload, size_t len);

/* Walks a whole journal. Calls fn for each good record in order (stopping at the first non-zero return,
 * which it passes back). *good_len is set to the bytes of good records (what a recovering writer keeps).
 * Returns 0 when the rest after *good_len is empty or is one torn last record, CROW_EPARSE when a bad
 * record is followed by more (corruption in the middle, *good_len then points at it), or fn's code. */
int crow_journal_scan(const char *buf, size_t len, size_t *good_len,
                      int (*fn)(void *ctx, const crow_jrec_t *rec), void *ctx);

#endif
