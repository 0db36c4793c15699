/* The tracker role: `crowcast tracker` serves the registry (tracker_registry.h) over HTTP/1.1 on the
 * event loop until SIGINT or SIGTERM.
 *
 * Connections: keep-alive and pipelining; a request head is bounded by the HTTP parser's limits (7 KiB
 * request line -> 414, 8 KiB head -> 431, malformed -> 400), after which the connection is answered and
 * closed. A request head must arrive whole within header_timeout of its first byte (else 408 and close);
 * a connection with no request under way is closed after idle_timeout. At most max_connections are open:
 * the ones over it are accepted and closed at once, and so are those over max_per_address from one
 * source address; a request over rate_per_address is answered 429 and its connection closed (the first
 * refusal of an address is logged, until it is admitted again). A response that does not fit the connection's
 * output buffer (a large /status) is streamed and ends the connection (Connection: close).
 * Memory: about 26 KiB of buffers per open connection (mostly untouched; with TLS 16 KiB more of
 * ciphertext buffers and OpenSSL's state), the registry's peer slots,
 * and /status or /metrics text up to 64 MiB.
 * With tls_cert and tls_key it speaks HTTPS only (TLS 1.2 or later): the handshake must end within
 * header_timeout of the accept (else the connection is closed), and SIGHUP reads both files again
 * (new connections use the new certificate; a bad pair keeps the one in use, with an error logged).
 * With state_dir it also coordinates staged rollouts (/agent/..., /rollout/...: app/tracker_rollout.h),
 * holding at most 4096 long polls.
 */
#ifndef CROWCAST_TRACKER_H
#define CROWCAST_TRACKER_H

#include <netinet/in.h>
#include <stdbool.h>
#include <stdint.h>

struct crow_tracker_config {
    struct sockaddr_in listen; /* address and port to serve on */
    const char *racks_path;    /* racks file (racks.h), or NULL: every peer in no rack */
    uint32_t interval;         /* seconds between announces told to peers; 0: 30 */
    uint32_t max_connections;  /* 0: 16384, lowered to what RLIMIT_NOFILE allows */
    double header_timeout;     /* seconds; 0: 10 */
    double idle_timeout;       /* seconds; 0: 60 */
    uint32_t max_releases;     /* registry swarms; 0: 64 */
    uint32_t max_peers;        /* peers per release; 0: 4096 */
    bool trust_ip;             /* take the announce's ip= as the peer's address */
    bool json_log;             /* one JSON line per request on stdout */
    const char *state_dir;     /* rollout state (journal, release torrents), or NULL: no rollouts */
    const char *auth_path;     /* control-plane keys file (control_auth.h), re-read on SIGHUP, or NULL */
    bool insecure_control;     /* without auth_path: believe unsigned state changes (loopback only) */
    bool closed_reads;         /* /status, /metrics, /rollout/status, /agent/torrent need a signature */
    double host_expiry;        /* seconds without a poll before a host leaves a rollout; 0: 300 */
    uint32_t max_per_address;  /* open connections per source address; 0: 256 */
    double rate_per_address;   /* requests per second per source address (burst 2x); 0: 200 */
    const char *tls_cert;      /* PEM certificate chain: serve HTTPS only (with tls_key), or NULL */
    const char *tls_key;       /* its PEM private key */
};

/* Runs the tracker until SIGINT/SIGTERM. Raises RLIMIT_NOFILE's soft limit to the hard one first.
 * Returns a process exit code: 0 after a signal, 2 for a bad racks file, keys file, certificate or
 * configuration (insecure_control on an address that is not loopback, closed_reads without auth_path),
 * 3 when the address cannot be bound or io_uring is unavailable. SIGHUP re-reads auth_path (a bad file
 * keeps the keys in use, with an error logged) and the TLS files. */
int crow_tracker_run(const struct crow_tracker_config *cfg);

#endif
