/* Per-source-address limits of the tracker, sans I/O: open connections at once, and requests per
 * second (a token bucket of `burst` requests refilled at `rate` a second). The caller passes the time.
 *
 * Memory: a fixed table of CROW_ADDR_LIMITS_SLOTS addresses (24 bytes each), allocated once. An address
 * with no connection open and a full bucket holds nothing worth keeping: its slot is taken by the next
 * address that needs one. When an address finds no slot in its probe range (more busy addresses than
 * the table holds), it is let through: the tracker's global --max-connections still bounds it.
 */
#ifndef CROWCAST_ADDR_LIMITS_H
#define CROWCAST_ADDR_LIMITS_H

#include <stdbool.h>
#include <stdint.h>

#define CROW_ADDR_LIMITS_SLOTS (1u << 16)

typedef struct crow_addr_limits_config {
    uint32_t max_conns; /* open connections per address; 0: no limit */
    double rate;        /* requests per second per address; 0: no limit */
    double burst;       /* bucket size; 0: max(rate, 1) */
} crow_addr_limits_config_t;

typedef struct crow_addr_limits crow_addr_limits_t;

int crow_addr_limits_new(crow_addr_limits_t **out, const crow_addr_limits_config_t *cfg);
void crow_addr_limits_free(crow_addr_limits_t *l);

/* Outcome of a check: admitted, or refused (first: the first refusal by that limit since the address
 * last passed it, the one worth a log line). */
enum crow_addr_verdict { CROW_ADDR_OK, CROW_ADDR_REFUSED, CROW_ADDR_REFUSED_FIRST };

/* A connection from addr opens at now_ms. When admitted it counts until crow_addr_limits_close. */
enum crow_addr_verdict crow_addr_limits_open(crow_addr_limits_t *l, uint32_t addr, uint64_t now_ms);
void crow_addr_limits_close(crow_addr_limits_t *l, uint32_t addr);
/* A request from addr at now_ms: takes a token. */
enum crow_addr_verdict crow_addr_limits_request(crow_addr_limits_t *l, uint32_t addr, uint64_t now_ms);

#endif
