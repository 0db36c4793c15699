/* Machine-readable events: one flat JSON object a line, as `crowcast get --json` and `seed --json`
 * print them and `crowcast demo` reads them.
 *
 *   {"event":"progress","elapsed":1.25,"verified":120,"pieces":256,"bytes_mcast":125829120,...}
 *
 * Values are numbers, strings (escaped), true or false; no nesting. Writer and reader are sans I/O.
 */
#ifndef CROWCAST_EVENT_H
#define CROWCAST_EVENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "crowcast/json.h"
#include "crowcast/text.h"

/* The events' writer is the bounded text writer; crow_json_quote (crowcast/json.h) escapes. */
typedef crow_text_t crow_event_writer_t;

/* Starts an object {"event":"<name>" in buf. */
void crow_event_begin(crow_event_writer_t *w, char *buf, size_t cap, const char *name);
void crow_event_str(crow_event_writer_t *w, const char *key, const char *value);
void crow_event_u64(crow_event_writer_t *w, const char *key, uint64_t value);
void crow_event_num(crow_event_writer_t *w, const char *key, double value);
void crow_event_bool(crow_event_writer_t *w, const char *key, bool value);
/* Closes the object and appends '\n'. Returns the line length, or -1 when it did not fit. */
long crow_event_end(crow_event_writer_t *w);

/* Finds `key` in a one-line event and reads its value. Strings are unescaped into out (at most
 * cap-1 bytes, NUL-terminated). All return false when the key is absent or of another type. */
bool crow_event_get_str(const char *line, size_t len, const char *key, char *out, size_t cap);
bool crow_event_get_num(const char *line, size_t len, const char *key, double *out);
bool crow_event_get_bool(const char *line, size_t len, const char *key, bool *out);

#endif
