/* TLS contexts (tls_session.h) from PEM files: the tracker's certificate and key, a client's CA file.
 * Read whole and synchronously (at start, or on SIGHUP), never blocking on a FIFO. */
#ifndef CROWCAST_APP_TLS_FILES_H
#define CROWCAST_APP_TLS_FILES_H

#include <stddef.h>

#include "crowcast/tls_session.h"

#define CROW_TLS_FILE_MAX (1024 * 1024)

/* A server context from cert_path (PEM chain, leaf first) and key_path (PEM private key; a warning
 * when group or others may read it). Returns 0, or an error with the reason, naming the file, in why. */
int crow_tls_files_server(const char *cert_path, const char *key_path, crow_tls_session_ctx_t **out,
                          char *why, size_t cap);
/* A client context trusting the PEM certificates of ca_path, or the system's store when it is NULL.
 * Same returns. */
int crow_tls_files_client(const char *ca_path, crow_tls_session_ctx_t **out, char *why, size_t cap);

#endif
