/* Error codes shared by every module.
 *
 * Functions return 0 (or a non-negative count) on success and a negative code on failure:
 * either -errno for a system error, or one of the CROW_E* codes below for crowcast's own
 * conditions. The CROW_E* codes sit below -4096 so they never collide with an errno value.
 */
#ifndef CROWCAST_ERROR_H
#define CROWCAST_ERROR_H

#include <stddef.h>

enum crow_error {
    CROW_EMORE = -5000, /* not an error: the parser needs more bytes */
    CROW_EPARSE,        /* malformed input */
    CROW_ELIMIT,        /* input exceeds a configured limit (length, nesting, count) */
    CROW_EPROTO,        /* a peer violated the protocol */
    CROW_EMANIFEST,     /* a manifest is structurally valid bencode but not a valid release */
    CROW_EPATH,         /* a path from a manifest is unsafe (.., absolute, empty, symlink escape) */
    CROW_EHASH,         /* data does not match its hash */
    CROW_ESPACE,        /* a caller-provided output buffer is too small */
    CROW_EUSAGE,        /* bad command-line usage */
    CROW_ESESSION,      /* a message belongs to another session or release */
    CROW_EUNSUPPORTED,  /* the kernel or the peer lacks a needed feature */
    CROW_ECLOSED,       /* the other side closed the connection */
    CROW_ETIMEOUT,      /* a deadline passed */
    CROW_ESIGNATURE,    /* a release is unsigned, signed by no trusted key, or its signature is bad */
    CROW_EAUTH,         /* a message failed authentication (missing or wrong tag) */
    CROW_ETLS,          /* a TLS handshake, certificate check or record failed */
    CROW_ELAST_
};

/* A static, human-readable description of any code this project returns (CROW_E* or -errno).
 * Never returns NULL. */
const char *crow_strerror(int code);

/* The idiom of parsers that explain their errors, `return crow_why(why, cap, CROW_EMANIFEST, ...)`:
 * writes the printf-formatted one-line reason into why[0..cap) (nothing when cap is 0) and returns
 * code. */
int crow_why(char *why, size_t cap, int code, const char *fmt, ...) __attribute__((format(printf, 4, 5)));

#endif
