/* The sender's output of `crowcast probe send`: per rack the verdict (crow_probe_verdict), per step
 * the rate and the worst loss of each rack; a table for people or one JSON object. */
#ifndef CROWCAST_APP_PROBE_PRINT_H
#define CROWCAST_APP_PROBE_PRINT_H

#include <stdbool.h>
#include <stdint.h>

#include "crowcast/probe.h"

/* Prints on stdout. Returns false when no receiver reported anything (nothing to judge). */
bool crow_probe_print(const crow_probe_table_t *t, uint16_t run, bool json);

#endif
