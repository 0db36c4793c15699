/* BitTorrent v1 peer wire codec (BEP 3) with the extension protocol handshake (BEP 10), sans I/O.
 *
 * Framing: after a 68-byte handshake, every message is a 4-byte big-endian length followed by
 * that many bytes; a zero length is a keep-alive, otherwise the first byte is the message id.
 *
 * Decoders read from a caller buffer, never copy and never allocate: variable parts (bitfield
 * bytes, a PIECE block, an extended payload) are returned as pointers into that buffer, valid as
 * long as the caller keeps those bytes. They return the number of bytes consumed, CROW_EMORE when
 * the buffer holds only part of a message (nothing is consumed; call again with more bytes),
 * CROW_ELIMIT when the length prefix exceeds the caller's limit (checked before waiting for the
 * body, so a hostile 4 GiB prefix never makes anyone buffer it), or CROW_EPROTO with a static
 * reason string.
 *
 * Encoders write into a caller buffer that has room for the sizes below and return the pointer
 * past the last byte written (as quicly's encoders do).
 */
#ifndef CROWCAST_WIRE_H
#define CROWCAST_WIRE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define CROW_WIRE_PSTR          "BitTorrent protocol"
#define CROW_WIRE_PSTR_LEN      19u
#define CROW_WIRE_HANDSHAKE_LEN 68u /* 1 + 19 + 8 reserved + 20 info hash + 20 peer id */
#define CROW_WIRE_ID_LEN        20u
/* BEP 10: the extension protocol is announced by bit 0x10 of reserved byte 5. */
#define CROW_WIRE_EXT_BYTE 5u
#define CROW_WIRE_EXT_BIT  0x10u

/* Encoded sizes (length prefix included). */
#define CROW_WIRE_KEEPALIVE_LEN       4u
#define CROW_WIRE_STATE_LEN           5u /* choke, unchoke, interested, not interested */
#define CROW_WIRE_HAVE_LEN            9u
#define CROW_WIRE_REQUEST_LEN         17u /* request and cancel */
#define CROW_WIRE_PIECE_HEADER_LEN    13u /* followed by the block bytes */
#define CROW_WIRE_BITFIELD_HEADER_LEN 5u
#define CROW_WIRE_EXT_HEADER_LEN      6u /* prefix, id 20, extended id; followed by the payload */

/* Largest block crowcast ever requests or serves; stock clients use 16 KiB. */
#define CROW_WIRE_STOCK_BLOCK (16u * 1024)
#define CROW_WIRE_MAX_BLOCK   (4u * 1024 * 1024)

enum crow_wire_type {
    CROW_WIRE_CHOKE = 0,
    CROW_WIRE_UNCHOKE = 1,
    CROW_WIRE_INTERESTED = 2,
    CROW_WIRE_NOT_INTERESTED = 3,
    CROW_WIRE_HAVE = 4,
    CROW_WIRE_BITFIELD = 5,
    CROW_WIRE_REQUEST = 6,
    CROW_WIRE_PIECE = 7,
    CROW_WIRE_CANCEL = 8,
    CROW_WIRE_PORT = 9, /* BEP 5 DHT port; decoded so it can be ignored */
    CROW_WIRE_EXTENDED = 20,
    CROW_WIRE_KEEPALIVE = 256, /* no id on the wire: a zero-length message */
    CROW_WIRE_UNKNOWN = 257,   /* an id this codec does not know; BEP 3 says ignore it */
};

typedef struct crow_wire_handshake {
    uint8_t reserved[8];
    uint8_t info_hash[CROW_WIRE_ID_LEN];
    uint8_t peer_id[CROW_WIRE_ID_LEN];
} crow_wire_handshake_t;

typedef struct crow_wire_msg {
    enum crow_wire_type type;
    uint8_t id;          /* the id byte as received (meaningful for CROW_WIRE_UNKNOWN) */
    uint8_t ext_id;      /* CROW_WIRE_EXTENDED: the extended message id (0 = extension handshake) */
    uint32_t index;      /* HAVE, REQUEST, PIECE, CANCEL */
    uint32_t begin;      /* REQUEST, PIECE, CANCEL */
    uint32_t length;     /* REQUEST, CANCEL: requested bytes; PIECE: block bytes */
    uint16_t port;       /* PORT */
    const uint8_t *data; /* BITFIELD bytes, PIECE block, EXTENDED payload: inside the caller's buffer */
    size_t data_len;
} crow_wire_msg_t;

/* Decodes a handshake from buf. Returns CROW_WIRE_HANDSHAKE_LEN, CROW_EMORE, or CROW_EPROTO when
 * the protocol string is not "BitTorrent protocol" (checked on the bytes already present, so a
 * stranger is rejected before 68 bytes arrive). *why gets a static reason on CROW_EPROTO. */
int crow_wire_decode_handshake(const uint8_t *buf, size_t len, crow_wire_handshake_t *hs, const char **why);
uint8_t *crow_wire_encode_handshake(uint8_t *dst, const crow_wire_handshake_t *hs);
static inline bool crow_wire_handshake_has_ext(const crow_wire_handshake_t *hs)
{
    return (hs->reserved[CROW_WIRE_EXT_BYTE] & CROW_WIRE_EXT_BIT) != 0;
}

/* Decodes one message. max_len bounds the length prefix (the bytes after it), so callers size
 * their receive buffer as 4 + max_len. Fixed-size messages with another length, a PIECE shorter
 * than its header and an EXTENDED without its id byte are CROW_EPROTO. Returns the bytes consumed
 * (4 + prefix), CROW_EMORE, CROW_ELIMIT or CROW_EPROTO; *why (when not NULL) names the problem. */
long crow_wire_decode(const uint8_t *buf, size_t len, uint32_t max_len, crow_wire_msg_t *msg,
                      const char **why);

uint8_t *crow_wire_encode_keepalive(uint8_t *dst);
/* CROW_WIRE_CHOKE, UNCHOKE, INTERESTED or NOT_INTERESTED. */
uint8_t *crow_wire_encode_state(uint8_t *dst, enum crow_wire_type type);
uint8_t *crow_wire_encode_have(uint8_t *dst, uint32_t index);
/* Copies the bitfield bytes after a 5-byte header: needs CROW_WIRE_BITFIELD_HEADER_LEN + nbytes. */
uint8_t *crow_wire_encode_bitfield(uint8_t *dst, const uint8_t *bits, uint32_t nbytes);
/* CROW_WIRE_REQUEST or CROW_WIRE_CANCEL. */
uint8_t *crow_wire_encode_request(uint8_t *dst, enum crow_wire_type type, uint32_t index, uint32_t begin,
                                  uint32_t length);
/* The 13 bytes before a block of `length` bytes; the caller sends the block right after them
 * (e.g. read from storage straight into the send buffer). */
uint8_t *crow_wire_encode_piece_header(uint8_t *dst, uint32_t index, uint32_t begin, uint32_t length);
/* The 6 bytes before an extended payload of payload_len bytes. */
uint8_t *crow_wire_encode_ext_header(uint8_t *dst, uint8_t ext_id, uint32_t payload_len);

/* The BEP 10 extension handshake (extended id 0), as crowcast reads and writes it:
 *   "crowcast": {"max req": int, "pos": int, "rack": str}   crowcast peers only
 *   "m": {}                  extension messages we accept (none: unknown ones are ignored)
 *   "reqq": int              requests the sender queues before dropping
 *   "v": str                 client name and version
 * Decoding ignores every other key (stock clients send "p", "yourip", "ipv4", ...). */
typedef struct crow_wire_ext {
    const uint8_t *client; /* "v"; NULL when absent; points into the decoded payload */
    size_t client_len;
    uint32_t reqq;       /* 0 when absent */
    bool crowcast;       /* the "crowcast" dictionary was present */
    const uint8_t *rack; /* crowcast: rack name (NULL when absent) */
    size_t rack_len;
    int64_t pos;          /* crowcast: chain position in the rack, -1 when absent */
    uint32_t max_request; /* crowcast: largest request the sender serves, 0 when absent */
} crow_wire_ext_t;

#define CROW_WIRE_EXT_MAX_NODES 128u /* stack nodes for decoding; stock handshakes use < 40 */

/* Decodes an extension handshake payload (the bytes after the extended id). Returns 0, or
 * CROW_EPROTO (not bencode, not a dictionary, out-of-range integers) with *why set. */
int crow_wire_decode_ext(const uint8_t *payload, size_t len, crow_wire_ext_t *ext, const char **why);
/* Writes the bencoded payload (without the 6-byte header) into dst. Returns its length or
 * CROW_ESPACE. The crowcast dictionary is written when ext->crowcast is true. */
long crow_wire_encode_ext(uint8_t *dst, size_t cap, const crow_wire_ext_t *ext);

/* Static name of a message type, for logs ("piece", "keep-alive", ...). */
const char *crow_wire_type_name(enum crow_wire_type type);

#endif
