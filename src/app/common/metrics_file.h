/* --metrics FILE for the one-shot commands (get, seed): Prometheus text for node_exporter's
 * textfile collector, rewritten atomically every CROW_METRICS_PERIOD_NS and once more at exit. The
 * role renders into crow_metrics_file_buffer when crow_metrics_file_due says so, then commits; a
 * commit while the previous write is still in flight is written right after it, so the last
 * commit (the exit's) always reaches the file. */
#ifndef CROWCAST_APP_METRICS_FILE_H
#define CROWCAST_APP_METRICS_FILE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "atomic_file.h"

#define CROW_METRICS_PERIOD_NS 5000000000ull
#define CROW_METRICS_MAX       16384

struct crow_metrics_file {
    const char *path; /* NULL: off */
    crow_loop_t *loop;
    struct crow_atomic_file file;
    char writing[CROW_METRICS_MAX], next[CROW_METRICS_MAX];
    size_t next_len;
    bool next_ready, warned;
    uint64_t due_ns;
};

/* path NULL turns it off (every call is then a no-op). */
void crow_metrics_file_init(struct crow_metrics_file *mf, crow_loop_t *loop, const char *path);
/* Time to render (the period passed), or `final`. */
bool crow_metrics_file_due(const struct crow_metrics_file *mf, uint64_t now, bool final);
/* Where to render, CROW_METRICS_MAX bytes. */
char *crow_metrics_file_buffer(struct crow_metrics_file *mf);
/* The buffer holds len bytes of text (len < 0: rendering failed, warned once): write it. */
void crow_metrics_file_commit(struct crow_metrics_file *mf, long len, uint64_t now);

#endif
