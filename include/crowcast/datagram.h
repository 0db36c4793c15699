/* The multicast datagram: one UDP payload = a fixed 32-byte header, then a type-specific body.
 * Sans I/O: decode from a caller's bytes into a struct, encode into a caller's buffer; nothing here
 * allocates or keeps a pointer past the call (except `payload`, which points into the input).
 *
 * Header (every integer big-endian):
 *
 *   offset  size  field
 *   ------  ----  ---------------------------------------------------------------------------
 *        0     2  magic 0x4357 ("CW")
 *        2     1  version (CROW_DGRAM_VERSION)
 *        3     1  type: 1 DATA, 2 BEACON, 3 END
 *        4     2  flags (CROW_DGRAM_F_*); bits not defined for the type must be zero
 *        6     2  length: body bytes after the header; must equal datagram size - 32
 *                 (- 16 more with CROW_DGRAM_F_AUTH: the tag follows the body)
 *        8     8  session id: the first 8 bytes of the release id
 *       16     8  sequence number, per sender, one space for every type, +1 per datagram
 *       24     4  piece index (DATA; 0 otherwise)
 *       28     4  byte offset within the piece (DATA; 0 otherwise)
 *
 * DATA body: `length` bytes of the release, piece bytes [offset, offset + length); offset is a
 * multiple of the chunk size and length is that chunk's size (only a piece's last chunk is short).
 * 32 + 1408 (CROW_DEFAULT_CHUNK_SIZE) + 28 (IPv4 + UDP) = 1468 bytes: fits a 1500-byte MTU.
 * One chunk a datagram: a link with larger frames wants a release made with larger chunks
 * (crow_dgram_chunk_for_mtu, `crowcast make --mtu`); a datagram is never fragmented on purpose.
 *
 * BEACON body (72 bytes), announcing the session:
 *
 *        0    32  release id (SHA-256 of the bencoded info; its first 8 bytes are the session id)
 *       32     8  total length of the release, bytes
 *       40     8  sending rate, bits per second (IP level)
 *       48     4  piece length
 *       52     4  chunk size
 *       56     4  piece count
 *       60     4  pass number (0-based) the sender is in
 *       64     4  passes the sender will make (0: until stopped)
 *       68     2  sender's TCP port for peer-wire repair (0: none)
 *       70     2  reserved, zero
 *
 * END body (16 bytes), closing a pass:
 *
 *        0     4  pass number that just ended
 *        4     4  reserved, zero
 *        8     8  sequence number of the last DATA datagram of that pass
 *
 * An END carries CROW_DGRAM_F_FINAL when no pass follows it. A BEACON carries CROW_DGRAM_F_CATCH_UP
 * when its sender resends, before its final END, the stretches that peers which joined late missed
 * (crowcast/mcast_sender.h): such a peer may wait for them rather than fetch them over TCP.
 *
 * Authentication (any type): CROW_DGRAM_F_AUTH (0x8000) says a 16-byte tag follows the body:
 *
 *   32 + length    16  tag: HMAC-SHA256 of every byte before it (header and body) under the session
 *                      key, truncated to its first 16 bytes (crowcast/dgram_auth.h)
 *
 * The version stays 1: a sender without a key sends exactly the datagrams it always did, and a
 * receiver without a key ignores the tag. A receiver with a key drops every datagram of its session
 * whose tag is missing or wrong, before it touches any state.
 */
#ifndef CROWCAST_DATAGRAM_H
#define CROWCAST_DATAGRAM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "crowcast/hash.h"
#include "crowcast/manifest.h"

#define CROW_DGRAM_MAGIC       0x4357u
#define CROW_DGRAM_VERSION     1u
#define CROW_DGRAM_HEADER_LEN  32u
#define CROW_DGRAM_BEACON_BODY 72u
#define CROW_DGRAM_END_BODY    16u
/* Largest BEACON or END datagram: the whole of it fits this many bytes. */
#define CROW_DGRAM_CONTROL_MAX (CROW_DGRAM_HEADER_LEN + CROW_DGRAM_BEACON_BODY)
/* Largest DATA body the length field can carry. */
#define CROW_DGRAM_MAX_PAYLOAD 65535u
/* IPv4 (no options) and UDP headers in front of every datagram on an IP link. */
#define CROW_DGRAM_IPV4_UDP_LEN 28u

enum crow_dgram_type {
    CROW_DGRAM_DATA = 1,
    CROW_DGRAM_BEACON = 2,
    CROW_DGRAM_END = 3,
};

/* DATA: sent in a pass after the first (the receiver may already hold the chunk). */
#define CROW_DGRAM_F_REPEAT 0x0001u
/* END: the last pass; nothing follows. */
#define CROW_DGRAM_F_FINAL 0x0001u
/* BEACON: the stream resends what late joiners missed before its final END. */
#define CROW_DGRAM_F_CATCH_UP 0x0002u
/* Any type: a CROW_DGRAM_TAG_LEN-byte tag follows the body. */
#define CROW_DGRAM_F_AUTH  0x8000u
#define CROW_DGRAM_TAG_LEN 16u

typedef struct crow_dgram_beacon {
    uint8_t release_id[CROW_SHA256_LEN];
    uint64_t total_length;
    uint64_t rate_bps;
    uint32_t piece_length;
    uint32_t chunk_size;
    uint32_t piece_count;
    uint32_t pass;
    uint32_t passes;
    uint16_t tcp_port;
} crow_dgram_beacon_t;

typedef struct crow_dgram_end {
    uint32_t pass;
    uint64_t last_data_seq;
} crow_dgram_end_t;

typedef struct crow_dgram {
    uint8_t type; /* enum crow_dgram_type */
    uint16_t flags;
    uint16_t length; /* body bytes; the encoders set it for BEACON and END */
    uint64_t session;
    uint64_t seq;
    uint32_t piece;         /* DATA */
    uint32_t offset;        /* DATA */
    const uint8_t *payload; /* DATA: `length` bytes; after decode, inside the decoded buffer */
    const uint8_t *tag;     /* after decode with CROW_DGRAM_F_AUTH: the tag's 16 bytes, else NULL */
    union {
        crow_dgram_beacon_t beacon; /* BEACON */
        crow_dgram_end_t end;       /* END */
    };
} crow_dgram_t;

/* The session id of a release: its release id's first 8 bytes, read big-endian. */
uint64_t crow_dgram_session_of(const uint8_t release_id[CROW_SHA256_LEN]);

/* Decodes one whole datagram buf[0..len) into *out. Checks structure only: size, magic, version,
 * known type, flags defined for the type, the length field equal to the bytes actually present
 * (less the tag with CROW_DGRAM_F_AUTH; the tag itself is checked by crow_dgram_authentic),
 * a non-empty DATA body, zero piece/offset/reserved fields where the layout says so. Returns 0, or
 * CROW_EPARSE (then *out is unspecified). Never reads past buf + len. */
int crow_dgram_decode(const uint8_t *buf, size_t len, crow_dgram_t *out);

/* Checks a decoded DATA datagram against the release it claims to belong to. Returns 0;
 * CROW_ESESSION when its session is not m's (a foreign stream, not an error of this one);
 * CROW_EPROTO when it is for m but does not fit: piece >= piece count, offset not a multiple of the
 * chunk size or past the piece, or length different from that chunk's size. */
int crow_dgram_check_data(const crow_dgram_t *d, const crow_manifest_t *m);
/* Checks a decoded BEACON against m. Returns 0; CROW_ESESSION when the session or the release id
 * differs; CROW_EPROTO when the release id matches but the geometry (total length, piece length,
 * chunk size, piece count) does not. */
int crow_dgram_check_beacon(const crow_dgram_t *d, const crow_manifest_t *m);

/* Bytes of the IP packet carrying a DATA datagram with a full chunk of chunk_size bytes (its tag
 * too when auth): what must not exceed the link's MTU. */
uint32_t crow_dgram_ip_size(uint32_t chunk_size, bool auth);
/* The chunk size for links of `mtu` bytes (IP packet size): the largest multiple of 8 whose DATA
 * datagram fits the MTU with room for the tag (the same manifest then fits whether the fleet
 * authenticates its datagrams or not), so a piece takes the fewest datagrams; never over
 * CROW_MAX_CHUNK_SIZE or the piece length. Returns 0 when not even CROW_MIN_CHUNK_SIZE fits. */
uint32_t crow_dgram_chunk_for_mtu(uint32_t mtu, uint32_t piece_length);

/* Writes the 32-byte header of d (with d->length as the body length) at dst; returns dst + 32.
 * For DATA the caller appends d->length payload bytes. With CROW_DGRAM_F_AUTH in d->flags the
 * caller then appends the tag (crow_dgram_seal). */
uint8_t *crow_dgram_encode_header(uint8_t *dst, const crow_dgram_t *d);
/* Writes the whole datagram (header and body, no tag: see crow_dgram_seal) into buf[0..cap). For BEACON and
 * END the body comes from d->beacon / d->end and d->length is ignored; for DATA, d->length bytes are copied
 * from d->payload. Returns the datagram's size, or CROW_ESPACE when cap is too small, or CROW_EPARSE for an
 * unknown type or an empty DATA payload (nothing a decoder would accept). */
long crow_dgram_encode(const crow_dgram_t *d, uint8_t *buf, size_t cap);

#endif
