/* Prometheus text exposition format (version 0.0.4), written into a caller's buffer, sans I/O: what
 * `get --metrics` and `seed --metrics` write for node_exporter's textfile collector.
 *
 *   # HELP crowcast_get_bytes_total Release bytes received, by path.
 *   # TYPE crowcast_get_bytes_total counter
 *   crowcast_get_bytes_total{via="multicast"} 66060288
 *
 * One family at a time: crow_prom_text_family writes its HELP and TYPE lines, crow_prom_text_sample its
 * samples (at most two labels each; NULL names leave them out). Label values are escaped (\\, \",
 * \n) and HELP text too (\\, \n). Names are checked against [a-zA-Z_:][a-zA-Z0-9_:]* (labels:
 * no ':'): a bad one marks the writer failed rather than producing a file a scraper rejects.
 * Nothing allocates; the writer never writes past cap.
 */
#ifndef CROWCAST_PROM_TEXT_H
#define CROWCAST_PROM_TEXT_H

#include <stdbool.h>
#include <stddef.h>

#include "crowcast/text.h"

/* The bounded text writer; `full` also marks a bad name. */
typedef crow_text_t crow_prom_text_writer_t;

void crow_prom_text_begin(crow_prom_text_writer_t *w, char *buf, size_t cap);
/* type: "counter" or "gauge". */
void crow_prom_text_family(crow_prom_text_writer_t *w, const char *name, const char *type, const char *help);
void crow_prom_text_sample(crow_prom_text_writer_t *w, const char *name, const char *label1,
                           const char *value1, const char *label2, const char *value2, double value);
/* The text's length (buf is NUL-terminated), or -1 when the writer failed. */
long crow_prom_text_end(const crow_prom_text_writer_t *w);

#endif
