/* Parsing of sizes ("256K", "1G", bytes, powers of 1024) and rates ("900M", bits per second,
 * powers of 1000), as the command line takes them, and formatting for reports. */
#ifndef CROWCAST_UNITS_H
#define CROWCAST_UNITS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The strict decimal number of protocol fields and config files: s[0..len) is digits only, without
 * sign or leading zero ("0" itself is fine), at most max. True with *out set, else false. */
bool crow_parse_decimal(const char *s, size_t len, uint64_t max, uint64_t *out);

/* "4096", "16K", "4M", "1G", "2T" (suffixes K/M/G/T = 1024^n, optional trailing "iB" or "B").
 * Returns 0 or CROW_EUSAGE (empty, junk, overflow). */
int crow_parse_size(const char *text, uint64_t *out);
/* "900M", "1G", "100000" bits per second (K/M/G = 1000^n, optional trailing "bit", "bps" or "b/s").
 * Returns 0 or CROW_EUSAGE. */
int crow_parse_rate(const char *text, uint64_t *bits_per_second);
/* Parses a non-negative decimal duration in seconds ("2", "0.5"); returns 0 or CROW_EUSAGE. */
int crow_parse_seconds(const char *text, double *out);

/* "1.50 GiB", "512 B": writes at most `cap` bytes into out and returns out. */
char *crow_format_size(uint64_t bytes, char *out, size_t cap);
/* "943.2 Mbit/s". */
char *crow_format_rate(double bits_per_second, char *out, size_t cap);

#endif
