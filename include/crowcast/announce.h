/* BitTorrent tracker messages (BEP 3 announce, BEP 23 compact peers, BEP 48 scrape) with crowcast's
 * rack extension, sans I/O, both sides.
 *
 * Tracker side: crow_announce_parse / crow_scrape_parse read a query string (the part after '?');
 * crow_announce_encode / crow_announce_encode_failure / crow_scrape_encode write bencoded bodies
 * (src/codec/announce_tracker.c). Client side: crow_announce_build_query writes a query string,
 * crow_announce_decode reads a body (src/codec/announce_client.c).
 *
 * The crowcast extension: the announce may carry `rack=NAME`, `groups=1` (the seeder asks for every
 * rack's multicast group) and `hook=N` (0..255: the exit status of the peer's --on-complete command,
 * which the tracker shows in its status) and `mcast=lit|dark` (whether the peer receives the
 * release's multicast stream: lit, it does; dark, the tracker listed a seeder but no datagram of the
 * session came within the first-datagram clock) and `need=rA-B.C...` (the segments of the
 * release it still needs from the stream, crowcast/stream_need.h, in crowcast/need_map.h's text form) and
 * `sending=1` (a seeder whose multicast passes are not over: under way, or about to start) and `streaming=1`
 * (a seeder multicasting now) and `lead=1` (a peer whose chain head brought it nothing acts as head: it is
 * listed the sources outside the rack that the head would be); the response may carry a dictionary
 *   "crowcast": { "dark": N, "group": "239.x.y.z", "groups": ["239.x.y.z:PORT", ...], "head": 0|1,
 *                 "lit": N, "need": "rA-B.C...", "peer flags": <one byte per listed peer>,
 *                 "port": <multicast port>, "position": <chain index>, "rack": "NAME", "sending": N,
 *                 "streaming": N }
 * "lit" and "dark" (absent when 0) count the release's incomplete peers whose last announce said
 * mcast=lit / mcast=dark: a seeder learns from them whether its multicast reaches anyone. "need" is the
 * OR of the need maps of the incomplete peers, present only when every one of them sent a
 * map. A need= or "need" in another form (an older peer's 16 hex digits)
 * counts as no map: the announce or the answer is taken without it. "group" and
 * "port" are absent when the peer's rack has no multicast group (an unracked peer, whose "rack" is "").
 * "groups" is present only when the announce asked for it and some rack has a group: every rack's group
 * once (racks sharing a group share one entry), as "A.B.C.D:PORT" strings, at most
 * CROW_ANNOUNCE_MAX_GROUPS. "peer flags" bytes: CROW_PEER_SEEDER, CROW_PEER_OTHER_RACK. "sending" and
 * "streaming" (always written) count the release's peers whose last announce said sending=1 and
 * streaming=1: with no sender, no stream of the release is coming, and a peer that has seen none fetches
 * over TCP at once instead of waiting for a first datagram; with one streaming, its datagrams are due
 * within milliseconds (a tracker without the keys says nothing either way). Stock clients ignore the
 * whole dictionary.
 *
 * Addresses are IPv4 in host byte order throughout.
 */
#ifndef CROWCAST_ANNOUNCE_H
#define CROWCAST_ANNOUNCE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "crowcast/bencode.h"
#include "crowcast/ipv4.h"
#include "crowcast/need_map.h"

#define CROW_INFO_HASH_LEN       20
#define CROW_PEER_ID_LEN         20
#define CROW_RACK_NAME_MAX       32 /* bytes of a rack name: [A-Za-z0-9._-] */
#define CROW_COMPACT_PEER_LEN    6  /* BEP 23: 4 address bytes, 2 port bytes, network order */
#define CROW_NUMWANT_ABSENT      (-1)
#define CROW_SCRAPE_MAX_HASHES   64
#define CROW_ANNOUNCE_MAX_GROUPS 64

enum crow_announce_event {
    CROW_EVENT_NONE = 0,
    CROW_EVENT_STARTED,
    CROW_EVENT_STOPPED,
    CROW_EVENT_COMPLETED,
    CROW_EVENT_PAUSED, /* BEP 21 */
};

/* What a peer says of the multicast stream (mcast=). */
enum crow_mcast_report {
    CROW_MCAST_REPORT_NONE = 0, /* nothing to say (not sent) */
    CROW_MCAST_REPORT_LIT,      /* datagrams of the session arrive */
    CROW_MCAST_REPORT_DARK,     /* a seeder is listed but no datagram of the session came */
};

/* An announce as the client sends it. */
typedef struct crow_announce_req {
    uint8_t info_hash[CROW_INFO_HASH_LEN];
    uint8_t peer_id[CROW_PEER_ID_LEN];
    uint16_t port;
    uint64_t uploaded, downloaded, left;
    enum crow_announce_event event;
    int32_t numwant; /* CROW_NUMWANT_ABSENT when not sent */
    bool compact;    /* parse: true unless the client sent compact=0 */
    bool no_peer_id; /* dictionary form without "peer id" */
    bool has_ip;
    uint32_t ip; /* the `ip` parameter (dotted IPv4 only); whether to believe it is the caller's policy */
    bool has_rack;
    char rack[CROW_RACK_NAME_MAX + 1]; /* NUL-terminated */
    bool want_groups;                  /* groups=1: list every rack's multicast group in the reply */
    bool has_hook;
    uint8_t hook;  /* hook=N: exit status of the peer's --on-complete command */
    uint8_t mcast; /* mcast=lit|dark: enum crow_mcast_report */
    bool has_need;
    crow_need_map_t need; /* need=: the segments it still needs from the stream */
    bool sending;         /* sending=1: a seeder whose multicast passes are not over */
    bool streaming;       /* streaming=1: a seeder multicasting now */
    bool lead;            /* lead=1: a peer whose chain head brings nothing fetches from outside the rack */
} crow_announce_req_t;

/* Parses an announce query. Required (BEP 3): info_hash and peer_id (exactly 20 bytes after
 * percent-decoding), port (1..65535), uploaded, downloaded, left (unsigned decimal). Optional: event
 * (started|stopped|completed|paused|empty), numwant (0..2^31-1), compact (0|1), no_peer_id, ip
 * (dotted IPv4), rack (1..32 of [A-Za-z0-9._-]), groups (0|1), hook (0..255), mcast (lit|dark), need (a map,
 * crowcast/need_map.h; any other text is no map, not an error), sending (0|1), streaming (0|1), lead (0|1).
 * Unknown parameters are ignored; a known one given twice is an error. Returns 0, or CROW_EPARSE with
 * *failure set to a static text fit for a "failure reason" (e.g. "missing info_hash", "invalid port").
 */
int crow_announce_parse(const char *query, size_t len, crow_announce_req_t *req, const char **failure);

/* Parses a scrape query: zero or more info_hash parameters (BEP 48; none means "all"), at most
 * `cap` (and at most CROW_SCRAPE_MAX_HASHES are sensible). Returns the number of hashes written, or
 * CROW_EPARSE / CROW_ELIMIT with *failure set. */
int crow_scrape_parse(const char *query, size_t len, uint8_t (*hashes)[CROW_INFO_HASH_LEN], size_t cap,
                      const char **failure);

#define CROW_PEER_SEEDER     0x01 /* the peer's last announce said left=0 */
#define CROW_PEER_OTHER_RACK 0x02 /* the peer is in another rack than the asking peer */

typedef struct crow_announce_peer {
    uint32_t addr;
    uint16_t port;
    uint8_t flags; /* CROW_PEER_* */
    uint8_t peer_id[CROW_PEER_ID_LEN];
} crow_announce_peer_t;

typedef struct crow_crowcast_info {
    bool present;
    char rack[CROW_RACK_NAME_MAX + 1]; /* "" for a peer in no rack */
    uint32_t group;                    /* multicast group, 0 when none */
    uint16_t port;                     /* multicast port, 0 when none */
    uint32_t position;                 /* index of the peer in its rack's chain */
    bool head;                         /* the rack's chain head (its oldest member) */
    bool relay;                        /* "relay": 1: the peer is its relayed rack's relay: it multicasts
                                          what it verifies to group:port (only encoded when set) */
    uint32_t lit, dark;                /* incomplete peers reporting mcast=lit / mcast=dark */
    bool has_need;                     /* "need": every incomplete peer sent need= */
    crow_need_map_t need;              /* the OR of their maps */
    bool has_sending;                  /* "sending" was present (always encoded) */
    uint32_t sending;                  /* peers whose last announce said sending=1 */
    uint32_t streaming;                /* ... and streaming=1 (decoded with "sending") */
    uint32_t group_count;              /* "groups": every rack's multicast group (asked with groups=1);
                                          encoded when non-zero, filled by the decoder */
    struct {
        uint32_t addr;
        uint16_t port;
    } groups[CROW_ANNOUNCE_MAX_GROUPS];
} crow_crowcast_info_t;

/* A successful announce response. peers is borrowed. */
typedef struct crow_announce_resp {
    uint32_t interval, min_interval; /* seconds */
    uint32_t complete, incomplete;
    const crow_announce_peer_t *peers;
    size_t peer_count;
    crow_crowcast_info_t crowcast; /* encoded when crowcast.present */
} crow_announce_resp_t;

/* Encodes a response: peers as one BEP 23 string when compact, else a list of dictionaries
 * {"ip": dotted, "peer id": 20 bytes (left out when no_peer_id), "port": n}. Returns the length or
 * CROW_ESPACE. */
long crow_announce_encode(uint8_t *buf, size_t cap, const crow_announce_resp_t *resp, bool compact,
                          bool no_peer_id);
/* Encodes {"failure reason": reason}. Returns the length or CROW_ESPACE. */
long crow_announce_encode_failure(uint8_t *buf, size_t cap, const char *reason);

typedef struct crow_scrape_entry {
    uint8_t info_hash[CROW_INFO_HASH_LEN];
    uint32_t complete, downloaded, incomplete;
} crow_scrape_entry_t;

/* Encodes {"files": {hash: {"complete", "downloaded", "incomplete"}}}. Sorts `entries` in place by
 * info hash (bencode keys must be ordered) and writes a duplicated hash once. Returns the length or
 * CROW_ESPACE. */
long crow_scrape_encode(uint8_t *buf, size_t cap, crow_scrape_entry_t *entries, size_t count);

/* Client side: writes the query string (no leading '?') for req, NUL-terminated: info_hash,
 * peer_id, port, uploaded, downloaded, left, compact=1|0, then event, numwant, ip, rack, groups=1, hook,
 * mcast when set. Returns the length or CROW_ESPACE. */
long crow_announce_build_query(char *buf, size_t cap, const crow_announce_req_t *req);

/* A decoded response. Pointers point into the body given to crow_announce_decode. */
typedef struct crow_announce_result {
    const uint8_t *failure; /* "failure reason" when the tracker refused, else NULL */
    size_t failure_len;
    int64_t interval, min_interval; /* -1 when absent */
    int64_t complete, incomplete;   /* -1 when absent */
    size_t peer_count;              /* peers written to the caller's array */
    size_t peers_dropped;           /* listed but not stored: over peer_cap, or not IPv4 */
    crow_crowcast_info_t crowcast;  /* present when the tracker speaks crowcast */
} crow_announce_result_t;

/* Decodes a tracker response body (strict bencode): compact or dictionary peers, failure reason,
 * the crowcast dictionary (whose "peer flags" land in peers[i].flags). nodes: scratch for the decoder;
 * a dictionary-form list needs about 9 nodes per peer, a compact one about 30 in all. Returns 0 (check
 * result->failure), or CROW_EPARSE / CROW_ELIMIT with *why set. */
int crow_announce_decode(const uint8_t *body, size_t len, crow_bencode_node_t *nodes, uint32_t node_cap,
                         crow_announce_peer_t *peers, size_t peer_cap, crow_announce_result_t *result,
                         const char **why);

/* True when name is 1..CROW_RACK_NAME_MAX bytes of [A-Za-z0-9._-]. */
bool crow_rack_name_valid(const char *name, size_t len);

#endif
