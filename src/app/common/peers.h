/* The connection set (README "Words"): the TCP side of a getter or a seeder, its peer-wire
 * connections to and from neighbours, each driven by a crow_peer_session, requests chosen by the
 * picker (downloads), blocks served from the piece store (uploads). One object per process and
 * release. */
#ifndef CROWCAST_APP_PEERS_H
#define CROWCAST_APP_PEERS_H

#include <netinet/in.h>
#include <stdbool.h>
#include <stdint.h>

#include "crowcast/loop.h"
#include "crowcast/peer_directory.h"
#include "crowcast/picker.h"
#include "piece_store.h"

struct crow_peers_config {
    const crow_manifest_t *m;
    crow_piece_store_t *store;
    crow_picker_t *picker;     /* NULL: serve only (a seeder) */
    struct sockaddr_in listen; /* port 0: any port; address 0: do not listen */
    struct in_addr bind_addr;  /* source address of outgoing connections */
    const char *rack;          /* our rack, or NULL */
    int64_t pos;               /* our chain position, -1 when unknown */
    /* Where neighbours sit (borrowed, outlives p); NULL: every neighbour is unknown and far. */
    const crow_peer_directory_t *directory;
    unsigned max_incoming, max_outgoing; /* connections each way (0: 64) */
};

typedef struct crow_peers crow_peers_t;

/* Bytes received by block from one remote address (for reports). */
struct crow_peers_source {
    struct in_addr addr;
    uint64_t bytes;
};

/* on_bytes: new bytes accepted from TCP (may be NULL). */
int crow_peers_new(crow_peers_t **out, crow_loop_t *loop, const struct crow_peers_config *cfg,
                   void (*on_bytes)(void *ctx, uint64_t bytes), void *ctx);
/* Stops every connection and the listener; freed once nothing is pending. */
void crow_peers_free(crow_peers_t *p);
/* The listening address (after binding port 0), or NULL when not listening. */
const struct sockaddr_in *crow_peers_listen_addr(const crow_peers_t *p);

/* Connects to a neighbour unless already connected to that address; its place comes from the
 * directory. Returns 0, -EPERM (a peer dropped for the session), -ENOMEM (no room: the outgoing
 * cap) or a connect error. */
int crow_peers_connect(crow_peers_t *p, const struct sockaddr_in *addr);
unsigned crow_peers_count(const crow_peers_t *p);
/* Our 20-byte peer id. */
const uint8_t *crow_peers_peer_id(const crow_peers_t *p);
/* Our rack and chain position as the tracker gave them (rack must outlive p): later handshakes carry
 * them, for the remote's logs. */
void crow_peers_set_place(crow_peers_t *p, const char *rack, int64_t pos);
/* The directory changed (a tracker answer): every open connection takes its place from it again (an
 * accepted connection from a neighbour the tracker names now stops counting as unknown). */
void crow_peers_relink(crow_peers_t *p);
/* A piece failed verification: the sources of its TCP blocks are blamed; those the blame engine drops
 * are disconnected, logged, and refused for the rest of the session. Call before the picker asks for
 * the piece again. */
void crow_peers_piece_failed(crow_peers_t *p, uint32_t piece);
/* A piece failed verification with multicast chunks in it: anyone on the group may have sent the bad
 * bytes, so its TCP sources take no strike; its record is only reset (the stream takes no part in
 * its next attempt: crowcast/mcast_receiver.h, so a TCP source that lies is blamed then). */
void crow_peers_piece_failed_mixed(crow_peers_t *p, uint32_t piece);
/* A piece verified: HAVE to every neighbour (and its sources are cleared of it), then new requests. */
void crow_peers_have(crow_peers_t *p, uint32_t piece);
/* Something changed for the picker (frontier, stream end, a failed piece): ask for more now. */
void crow_peers_kick(crow_peers_t *p);
/* Per remote address: bytes received. Returns how many entries were written. */
unsigned crow_peers_sources(const crow_peers_t *p, struct crow_peers_source *out, unsigned max);
uint64_t crow_peers_bytes_served(const crow_peers_t *p);

#endif
