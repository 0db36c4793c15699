/* The racks file: which addresses form a rack, and which multicast group serves each rack. Sans I/O:
 * the caller reads the file and hands over its bytes.
 *
 * Format, one directive a line; '#' starts a comment (anywhere), blank lines are ignored, fields are
 * separated by spaces or tabs:
 *
 *   rack NAME CIDR[,CIDR...] GROUP:PORT [direct|relayed]
 *       NAME: 1..32 of [A-Za-z0-9._-], unique. CIDR: a.b.c.d/len (0..32; a bare address means /32),
 *       with no bits set past the prefix. GROUP: an IPv4 multicast address (224.0.0.0/4); several racks
 *       may share one group. PORT: 1..65535. direct (the default): the seeder's multicast reaches the
 *       rack. relayed: it does not (a fabric that routes no multicast between racks); the seeder does not
 *       send to the rack's group, and the tracker names one of the rack's peers its relay, which fetches
 *       over TCP and re-multicasts into the rack.
 *   trust-announced-rack yes|no
 *       Whether a peer's own `rack=` announce parameter overrides its address (default: no). At most once.
 *
 * Overlaps: nested prefixes are allowed and the longest prefix containing an address wins (a /24 carved
 * out of another rack's /16); the same prefix twice (in one rack or two) is an error.
 * Limits: CROW_RACKS_MAX racks, CROW_RACK_PREFIXES_MAX prefixes in all.
 */
#ifndef CROWCAST_RACKS_H
#define CROWCAST_RACKS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "crowcast/announce.h"

#define CROW_RACKS_MAX         256
#define CROW_RACK_PREFIXES_MAX 1024
#define CROW_RACK_NONE         UINT32_MAX /* "in no rack" */

typedef struct crow_rack {
    char name[CROW_RACK_NAME_MAX + 1];
    uint32_t group; /* multicast group, host order */
    uint16_t port;
    bool relayed; /* the seeder's multicast does not reach the rack: one of its peers relays */
} crow_rack_t;

typedef struct crow_rack_endpoint {
    uint32_t group; /* host order */
    uint16_t port;
} crow_rack_endpoint_t;

struct crow_rack_prefix {
    uint32_t net, mask;
    uint32_t rack;
    uint8_t len;
};

/* A parsed racks file (about 22 KiB; plain data, no dispose needed). */
typedef struct crow_racks {
    crow_rack_t racks[CROW_RACKS_MAX];
    uint32_t count;
    struct crow_rack_prefix prefixes[CROW_RACK_PREFIXES_MAX];
    uint32_t prefix_count;
    bool trust_announced;
} crow_racks_t;

typedef struct crow_racks_error {
    unsigned line;  /* 1-based line of the first problem */
    char text[160]; /* "line 3: bad CIDR '10.0.0.1/24' (host bits set)" */
} crow_racks_error_t;

/* An empty map: every address is in no rack, announced racks are not trusted. */
void crow_racks_init(crow_racks_t *r);

/* Parses a racks file. Returns 0, CROW_EPARSE (a malformed or inconsistent line) or CROW_ELIMIT
 * (too many racks or prefixes); on failure *err names the line and the problem, and *r is left empty. */
int crow_racks_parse(crow_racks_t *r, const char *text, size_t len, crow_racks_error_t *err);

/* Rack index of the longest prefix containing addr, or CROW_RACK_NONE. O(prefix count). */
uint32_t crow_racks_lookup(const crow_racks_t *r, uint32_t addr);

/* Rack index by name, or CROW_RACK_NONE. */
uint32_t crow_racks_find(const crow_racks_t *r, const char *name, size_t len);

/* The rack a peer belongs to: its announced name when the file trusts announced racks and the peer
 * named one, else the lookup of its address. Returns 0 and sets *rack (possibly CROW_RACK_NONE), or
 * CROW_EPROTO when a trusted announced name is not in the file (a misconfigured peer: tell it). */
int crow_racks_resolve(const crow_racks_t *r, uint32_t addr, const char *announced, uint32_t *rack);

/* The groups a seeder sends to: every direct rack's GROUP:PORT, deduplicated, in file order, at most cap
 * of them (a group a direct rack shares with a relayed one included). Returns their number. */
unsigned crow_racks_stream_groups(const crow_racks_t *r, crow_rack_endpoint_t *out, unsigned cap);

/* The rack at an index (< r->count), or NULL for CROW_RACK_NONE or an out-of-range index. */
const crow_rack_t *crow_racks_get(const crow_racks_t *r, uint32_t rack);

#endif
