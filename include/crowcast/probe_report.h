/* What a `crowcast probe recv` tells the tracker about one step of a probe, and what the tracker
 * hands the sender back: query-string records, sans I/O.
 *
 * A receiver's report is the query of GET /probe/report:
 *
 *   run=R&step=S&rate=BPS&expected=N&received=N&bytes=N&usec=N&drops=N
 *
 *   run, step   the probe run (0..65535) and step (0..CROW_PROBE_MAX_STEPS-1) the datagrams named
 *   rate        the step's sending rate in bits/s (IP level), as its BEACON announced it
 *   expected    DATA datagrams the step carried (its synthetic release's chunks)
 *   received    distinct DATA datagrams that arrived (never more than expected)
 *   bytes       DATA payload bytes that arrived
 *   usec        microseconds from the step's first to its last datagram at the receiver
 *   drops       datagrams the receiving socket's kernel queue dropped during the step (SO_RXQ_OVFL)
 *
 * GET /probe/results?run=R&step=S answers one record a line, each a query string whose first
 * segment names its kind:
 *
 *   receiver&host=A.B.C.D&rack=NAME&group=A.B.C.D:PORT      every receiver that joined
 *   report&host=A.B.C.D&rack=NAME&run=...&step=...          each report for (run, step)
 *
 * Decoding is strict: every field present once, decimal without sign or leading junk, in range;
 * unknown keys are refused too (a newer peer should bump the format, not be half understood).
 */
#ifndef CROWCAST_PROBE_REPORT_H
#define CROWCAST_PROBE_REPORT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "crowcast/announce.h"

#define CROW_PROBE_MAX_STEPS 64u

typedef struct crow_probe_report {
    uint16_t run;
    uint16_t step;
    uint64_t rate_bps;
    uint64_t expected, received;
    uint64_t payload_bytes;
    uint64_t usec;
    uint64_t kernel_drops;
} crow_probe_report_t;

/* Writes r as a query string (NUL-terminated) into buf[0..cap). Returns its length or CROW_ESPACE. */
long crow_probe_report_encode(const crow_probe_report_t *r, char *buf, size_t cap);
/* Parses a report query q[0..len). Returns 0 or CROW_EPARSE (a missing, repeated, unknown or
 * malformed field, a step out of range, received above expected). */
int crow_probe_report_decode(const char *q, size_t len, crow_probe_report_t *out);

/* Parses the query of GET /probe/results: exactly run=R&step=S (either order). Returns 0 or
 * CROW_EPARSE. */
int crow_probe_report_results_decode(const char *q, size_t len, uint16_t *run, uint16_t *step);

enum crow_probe_report_line_kind {
    CROW_PROBE_REPORT_LINE_RECEIVER = 1,
    CROW_PROBE_REPORT_LINE_REPORT = 2,
};

/* One line of a /probe/results body. */
typedef struct crow_probe_report_line {
    int kind;                          /* enum crow_probe_report_line_kind */
    uint32_t host;                     /* IPv4, host order */
    char rack[CROW_RACK_NAME_MAX + 1]; /* NUL-terminated */
    uint32_t group;                    /* RECEIVER: the rack's group, host order */
    uint16_t port;                     /* RECEIVER */
    crow_probe_report_t report;        /* REPORT */
} crow_probe_report_line_t;

/* Writes a line (with its '\n') for l into buf[0..cap); returns its length or CROW_ESPACE. */
long crow_probe_report_line_encode(const crow_probe_report_line_t *l, char *buf, size_t cap);
/* Parses one line (without its '\n'). Returns 0 or CROW_EPARSE. */
int crow_probe_report_line_decode(const char *line, size_t len, crow_probe_report_line_t *out);

#endif
