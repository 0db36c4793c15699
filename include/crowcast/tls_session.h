/* A TLS session without I/O: OpenSSL over a pair of memory BIOs.
 *
 * The caller moves ciphertext between the network and the session, and plaintext between the
 * session and its protocol; the session never touches a socket, a file or a clock. Ciphertext
 * waits in two fixed buffers of CROW_TLS_BUF bytes each (received, not yet decrypted; encrypted,
 * not yet sent), so a session's memory is bounded whatever the peer sends.
 *
 * A context (crow_tls_session_ctx_t) holds what sessions share: a server's certificate chain and key, or a
 * client's trusted CAs. Versions below TLS 1.2 are refused. A client verifies the server's chain
 * against its CAs and its name (an IPv4 literal is matched against the certificate's IP
 * subjectAltNames, anything else against its DNS names). A session keeps its own reference to the
 * context's OpenSSL state: freeing a context (a certificate reloaded) leaves open sessions working.
 *
 * Typical loop: put received bytes in (crow_tls_session_in_room/in_commit, or feed), call
 * crow_tls_session_read until it returns CROW_EMORE, send what crow_tls_session_out_peek shows
 * (then out_consume), and call crow_tls_session_write to encrypt plaintext once ready.
 */
#ifndef CROWCAST_TLS_SESSION_H
#define CROWCAST_TLS_SESSION_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define CROW_TLS_BUF 8192 /* ciphertext bytes buffered each way */

typedef struct crow_tls_session_ctx crow_tls_session_ctx_t;
typedef struct crow_tls_session crow_tls_session_t;

/* A server context from a PEM certificate chain (leaf first) and a PEM private key, both in memory.
 * Returns 0, CROW_ETLS (unreadable PEM, or a key that does not match the certificate: the reason in
 * why) or -ENOMEM. */
int crow_tls_session_ctx_new_server(crow_tls_session_ctx_t **out, const char *cert_pem, size_t cert_len,
                                    const char *key_pem, size_t key_len, char *why, size_t why_cap);
/* A client context trusting the PEM certificates in ca_pem, or, with ca_pem NULL, the system's
 * store (OpenSSL's default paths, read when a chain is verified). Same returns. */
int crow_tls_session_ctx_new_client(crow_tls_session_ctx_t **out, const char *ca_pem, size_t ca_len,
                                    char *why, size_t why_cap);
void crow_tls_session_ctx_free(crow_tls_session_ctx_t *ctx);

/* A session of ctx's role. A client names the server it expects in peer_name (copied; required);
 * a server passes NULL. Returns 0, CROW_EUSAGE or -ENOMEM. */
int crow_tls_session_new(crow_tls_session_t **out, const crow_tls_session_ctx_t *ctx, const char *peer_name);
void crow_tls_session_free(crow_tls_session_t *s);

/* Received ciphertext, zero-copy: *dst gets where up to the returned number of bytes may be written
 * (0: the buffer is full, read plaintext first); in_commit then says how many were. */
size_t crow_tls_session_in_room(crow_tls_session_t *s, uint8_t **dst);
void crow_tls_session_in_commit(crow_tls_session_t *s, size_t len);
/* Copying form of the two: returns how many of len bytes were taken (less when the buffer fills). */
size_t crow_tls_session_feed(crow_tls_session_t *s, const uint8_t *data, size_t len);

/* Ciphertext to send, zero-copy: *src gets the next bytes (their count is returned, 0 for none; the
 * pointer stays valid until out_consume or free); out_consume drops the len bytes that were sent. */
size_t crow_tls_session_out_peek(crow_tls_session_t *s, const uint8_t **src);
void crow_tls_session_out_consume(crow_tls_session_t *s, size_t len);
/* All ciphertext waiting to be sent. */
size_t crow_tls_session_out_pending(const crow_tls_session_t *s);

/* Advances the handshake (a client's first call writes its hello). Returns 0 once it is done,
 * CROW_EMORE while it waits for input (or for output room), CROW_ETLS when it failed. */
int crow_tls_session_handshake(crow_tls_session_t *s);
bool crow_tls_session_ready(const crow_tls_session_t *s);
/* Decrypts into buf[0..cap), running the handshake first. Returns the bytes read (> 0), CROW_EMORE
 * (no plaintext until more ciphertext arrives or output drains), CROW_ECLOSED (the peer sent
 * close_notify) or CROW_ETLS (bad record, failed handshake or verification: see why). */
long crow_tls_session_read(crow_tls_session_t *s, uint8_t *buf, size_t cap);
/* Encrypts plaintext. Returns how many of len bytes were taken: 0 before the handshake is done or
 * while the output buffer lacks room for a record (send, then call again), or CROW_ETLS. */
long crow_tls_session_write(crow_tls_session_t *s, const uint8_t *data, size_t len);
/* Queues close_notify (once; the session writes nothing after it). */
void crow_tls_session_close(crow_tls_session_t *s);

/* Why the session failed (after CROW_ETLS): "certificate verify failed: ...", "http request" ...;
 * "" before any failure. Valid until the session is freed. */
const char *crow_tls_session_why(const crow_tls_session_t *s);
bool crow_tls_session_is_server(const crow_tls_session_t *s);

#endif
