/* TLS contexts from PEM files (see tls_files.h). */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crowcast/error.h"
#include "crowcast/log.h"
#include "small_file.h"
#include "tls_files.h"

/* Reads one PEM file; on failure writes "PATH: reason" into why. */
static int read_pem(const char *path, char **text, size_t *len, unsigned *mode, char *why, size_t cap)
{
    int ret = crow_small_file_read(AT_FDCWD, path, O_NOCTTY, CROW_TLS_FILE_MAX, text, len, mode);
    if (ret)
        snprintf(why, cap, "%s: %s", path,
                 ret == CROW_EPATH || ret == CROW_ELIMIT ? "not a regular file of at most 1 MiB"
                                                         : crow_strerror(ret));
    return ret;
}

/* Prefixes why (the engine's reason) with the file it concerns. */
static int name_file(int ret, const char *path, char *why, size_t cap)
{
    char reason[192];
    snprintf(reason, sizeof reason, "%s", why);
    snprintf(why, cap, "%s: %s", path, reason);
    return ret;
}

int crow_tls_files_server(const char *cert_path, const char *key_path, crow_tls_session_ctx_t **out,
                          char *why, size_t cap)
{
    char *cert = NULL, *key = NULL;
    size_t cert_len, key_len;
    unsigned mode;
    int ret = read_pem(cert_path, &cert, &cert_len, NULL, why, cap);
    if (ret || (ret = read_pem(key_path, &key, &key_len, &mode, why, cap)))
        goto out;
    if (mode & 077)
        crow_log_warn("%s: readable by others than its owner (mode %03o): chmod 600 it", key_path,
                      mode & 0777);
    ret = crow_tls_session_ctx_new_server(out, cert, cert_len, key, key_len, why, cap);
    if (ret == CROW_ETLS)
        name_file(ret, strstr(why, "private key") ? key_path : cert_path, why, cap);
out:
    if (key)
        explicit_bzero(key, key_len); /* the private key does not linger in freed memory */
    free(key);
    free(cert);
    return ret;
}

int crow_tls_files_client(const char *ca_path, crow_tls_session_ctx_t **out, char *why, size_t cap)
{
    if (!ca_path)
        return crow_tls_session_ctx_new_client(out, NULL, 0, why, cap);
    char *ca;
    size_t len;
    int ret = read_pem(ca_path, &ca, &len, NULL, why, cap);
    if (ret)
        return ret;
    ret = crow_tls_session_ctx_new_client(out, ca, len, why, cap);
    if (ret == CROW_ETLS)
        name_file(ret, ca_path, why, cap);
    free(ca);
    return ret;
}
