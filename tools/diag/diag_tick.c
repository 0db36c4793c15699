/* crowcast-diag's periodic line (diag.h): totals, the rate since the last line, the worst host. */
#include <inttypes.h>

#include "crowcast/event.h"
#include "crowcast/units.h"
#include "diag.h"

/* The periodic line: totals now and the rate since the previous line. */
static void print_tick(diag_run_t *r, double now)
{
    crow_diag_stats_counts_t c;
    crow_diag_stats_sum(&r->diag, &c);
    double span = now - r->prev_tick;
    double bps = span > 0 ? 8.0 * (double)(c.bytes - r->tick_prev.bytes) / span : 0.0;
    uint64_t piece = 0;
    for (uint32_t i = 0; i < r->diag.flows.conn_count; i++)
        piece += r->diag.flows.conns[i].dir[0].piece_bytes + r->diag.flows.conns[i].dir[1].piece_bytes;
    /* The receiving host with the highest loss so far: the first place to look. */
    size_t hosts =
        crow_diag_stats_aggregate(&r->diag, CROW_DIAG_STATS_BY_HOST, r->agg, r->diag.cfg.max_streams);
    const crow_diag_stats_agg_t *worst = NULL;
    for (size_t i = 0; i < hosts; i++)
        if (crow_diag_stats_lost(&r->agg[i].c) > 0 &&
            (!worst || diag_text_loss_pct(&r->agg[i].c) > diag_text_loss_pct(&worst->c)))
            worst = &r->agg[i];
    char worst_label[96] = "";
    if (worst)
        diag_text_host_label(r, &worst->key, worst_label, sizeof worst_label);
    if (r->opt->json) {
        char line[512];
        crow_event_writer_t w;
        crow_event_begin(&w, line, sizeof line, "interval");
        crow_event_num(&w, "t", now - r->start_ts);
        crow_event_u64(&w, "datagrams", c.datagrams);
        crow_event_u64(&w, "new_datagrams", c.datagrams - r->tick_prev.datagrams);
        crow_event_num(&w, "rate_bps", bps);
        crow_event_u64(&w, "lost", crow_diag_stats_lost(&c));
        crow_event_u64(&w, "duplicates", c.duplicates);
        crow_event_u64(&w, "reordered", c.reordered);
        crow_event_u64(&w, "piece_bytes", piece);
        crow_event_u64(&w, "announces", r->diag.flows.announces);
        if (worst) {
            crow_event_str(&w, "worst_host", worst_label);
            crow_event_num(&w, "worst_host_loss_pct", diag_text_loss_pct(&worst->c));
        }
        if (crow_event_end(&w) > 0)
            fputs(line, stdout);
    } else {
        char rate[32], size[32];
        printf("[%7.1fs] datagrams %" PRIu64 " (+%" PRIu64 ", %s) lost %" PRIu64 " (%.2f%%) dup %" PRIu64
               " reord %" PRIu64 " | piece data %s | announces %" PRIu64,
               now - r->start_ts, c.datagrams, c.datagrams - r->tick_prev.datagrams,
               crow_format_rate(bps, rate, sizeof rate), crow_diag_stats_lost(&c), diag_text_loss_pct(&c),
               c.duplicates, c.reordered, crow_format_size(piece, size, sizeof size),
               r->diag.flows.announces);
        if (worst)
            printf(" | worst %s %.2f%%", worst_label, diag_text_loss_pct(&worst->c));
        printf("\n");
    }
    fflush(stdout);
    r->tick_prev = c;
}

/* Prints the lines due by `now` (capture time), one per interval; a jump of more than 100 intervals
 * (a damaged timestamp) gets a single line, not millions. A clock that goes back (the next file)
 * restarts them. */
void diag_tick_until(diag_run_t *r, double now)
{
    double iv = r->opt->interval;
    if (iv <= 0 || !r->started)
        return;
    if (now < r->next_tick - iv) {
        r->next_tick = now + iv;
        r->prev_tick = now;
    }
    if (now - r->next_tick > 100 * iv)
        r->next_tick = now;
    while (now >= r->next_tick) {
        print_tick(r, r->next_tick);
        r->prev_tick = r->next_tick;
        r->next_tick += iv;
    }
}
