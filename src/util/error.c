/* Human-readable text for crowcast error codes and -errno values, and the reason writer parsers share. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "crowcast/error.h"

static const char *const crow_messages[] = {
    [CROW_EMORE - CROW_EMORE] = "need more input",
    [CROW_EPARSE - CROW_EMORE] = "malformed input",
    [CROW_ELIMIT - CROW_EMORE] = "input exceeds a limit",
    [CROW_EPROTO - CROW_EMORE] = "protocol violation",
    [CROW_EMANIFEST - CROW_EMORE] = "invalid manifest",
    [CROW_EPATH - CROW_EMORE] = "unsafe path in manifest",
    [CROW_EHASH - CROW_EMORE] = "hash mismatch",
    [CROW_ESPACE - CROW_EMORE] = "output buffer too small",
    [CROW_EUSAGE - CROW_EMORE] = "bad usage",
    [CROW_ESESSION - CROW_EMORE] = "message for another session",
    [CROW_EUNSUPPORTED - CROW_EMORE] = "not supported",
    [CROW_ECLOSED - CROW_EMORE] = "connection closed",
    [CROW_ETIMEOUT - CROW_EMORE] = "timed out",
    [CROW_ESIGNATURE - CROW_EMORE] = "release not signed by a trusted key",
    [CROW_EAUTH - CROW_EMORE] = "authentication failed",
    [CROW_ETLS - CROW_EMORE] = "TLS failure",
};

const char *crow_strerror(int code)
{
    if (code == 0)
        return "success";
    if (code >= CROW_EMORE && code < CROW_ELAST_)
        return crow_messages[code - CROW_EMORE];
    if (code < 0 && code > -4096)
        return strerror(-code);
    return "unknown error";
}

int crow_why(char *why, size_t cap, int code, const char *fmt, ...)
{
    if (cap) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(why, cap, fmt, ap);
        va_end(ap);
    }
    return code;
}
