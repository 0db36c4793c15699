/* crowcast-diag's parts, one job a file: the options (diag_options.c), the text report and the names
 * every report shares (diag_text.c), the JSON report (diag_json.c), the periodic line (diag_tick.c),
 * and libpcap, live or from files, with main (crowcast-diag.c). The accounting itself is the engine's
 * (diag_stats, diag_flows). */
#ifndef CROWCAST_TOOLS_DIAG_H
#define CROWCAST_TOOLS_DIAG_H

#include <pcap/pcap.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "crowcast/diag_stats.h"

#define DIAG_MAX_FILES 64

enum { DIAG_EXIT_OK = 0, DIAG_EXIT_USAGE = 2, DIAG_EXIT_CAPTURE = 3 };

/* What the command line asked for (diag_options.c). */
typedef struct diag_options {
    const char *iface;
    const char *files[DIAG_MAX_FILES];
    int file_count;
    const char *filter;
    const char *write;
    double interval, duration;
    uint64_t count;
    int snaplen;
    bool json;
    crow_diag_stats_config_t cfg;
} diag_options_t;

/* One run: the accounting, the capture open now, the periodic line's clock (capture time). */
typedef struct diag_run {
    diag_options_t *opt;
    crow_diag_stats_t diag;
    pcap_t *pcap;
    pcap_dumper_t *dumper;
    int link;
    uint16_t source;
    double start_ts, prev_tick, next_tick, last_ts;
    bool started;
    crow_diag_stats_counts_t tick_prev;
    crow_diag_stats_agg_t *agg; /* max_streams entries: room for any view */
    uint64_t frames;
} diag_run_t;

/* Prints the --help text to out. */
void diag_options_usage(FILE *out);
/* Fills *o from argv; prints why and returns CROW_EUSAGE on a bad command line; --help prints the
 * usage and exits 0. */
int diag_options_parse(int argc, char **argv, diag_options_t *o);

/* Names as both reports print them: "IP:PORT"; a host ("FILE", "IFACE", "any/if3(veth1)", with
 * " out" for copies leaving an interface); the key of an aggregate row; a peer-wire message slot. */
const char *diag_text_ip_port(uint32_t ip, uint16_t port, char *out, size_t cap);
const char *diag_text_host_label(const diag_run_t *r, const crow_diag_stats_key_t *k, char *out, size_t cap);
const char *diag_text_agg_label(const diag_run_t *r, enum crow_diag_stats_by by,
                                const crow_diag_stats_agg_t *a, char *out, size_t cap);
const char *diag_text_msg_name(uint32_t slot);
/* Loss in percent of the expected datagrams; bits per second between the first and the last. */
double diag_text_loss_pct(const crow_diag_stats_counts_t *c);
double diag_text_rate_bps(const crow_diag_stats_counts_t *c);

/* The summary: tables (text) or one JSON object; agg has room for r->diag.cfg.max_streams rows. */
void diag_text_print(const diag_run_t *r, crow_diag_stats_agg_t *agg);
void diag_json_print(const diag_run_t *r, crow_diag_stats_agg_t *agg);

/* Prints the periodic lines due by now (capture time, seconds), one per --interval. */
void diag_tick_until(diag_run_t *r, double now);

#endif
