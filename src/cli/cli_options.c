/* Option values that several subcommands take (addresses, endpoints, seconds, the log level, CAs):
 * each helper parses one value and, when it is bad, prints the one usage error every command
 * uses for it. */
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "../app/http_client.h"
#include "../app/tls_files.h"
#include "commands.h"
#include "crowcast/log.h"
#include "crowcast/udp.h"
#include "crowcast/units.h"

int crow_cli_opt_ipv4(const char *cmd, const char *opt, const char *arg, struct in_addr *out)
{
    if (crow_parse_ipv4(arg, out))
        return crow_cli_usage_error(cmd, "%s wants an IPv4 address, not '%s'", opt, arg);
    return 0;
}

int crow_cli_opt_endpoint(const char *cmd, const char *opt, const char *arg, struct sockaddr_in *out)
{
    if (crow_parse_endpoint(arg, out))
        return crow_cli_usage_error(cmd, "%s wants ADDR:PORT, not '%s'", opt, arg);
    return 0;
}

int crow_cli_opt_group(const char *cmd, const char *opt, const char *arg, struct sockaddr_in *out)
{
    if (crow_parse_endpoint(arg, out) || !IN_MULTICAST(ntohl(out->sin_addr.s_addr)))
        return crow_cli_usage_error(cmd, "%s wants a multicast GROUP:PORT, not '%s'", opt, arg);
    return 0;
}

int crow_cli_opt_seconds(const char *cmd, const char *arg, double *out)
{
    if (crow_parse_seconds(arg, out))
        return crow_cli_usage_error(cmd, "'%s' is not a number of seconds", arg);
    return 0;
}

int crow_cli_opt_log_level(const char *cmd, const char *arg)
{
    enum crow_log_level level;
    if (crow_log_parse_level(arg, &level))
        return crow_cli_usage_error(cmd, "--log-level wants error, warn, info or debug");
    crow_log_set_level(level);
    return 0;
}

int crow_cli_opt_tls_ca(const char *cmd, const char *arg, char *abs, size_t abs_cap)
{
    char why[PATH_MAX + 256], full[PATH_MAX];
    crow_tls_session_ctx_t *ctx;
    if (crow_tls_files_client(arg, &ctx, why, sizeof why))
        return crow_cli_usage_error(cmd, "--tls-ca %s", why);
    crow_http_client_set_tls(ctx);
    if (abs && (!realpath(arg, full) || strlen(full) >= abs_cap))
        return crow_cli_usage_error(cmd, "--tls-ca %s: %s", arg, strerror(errno ? errno : ENAMETOOLONG));
    if (abs)
        memcpy(abs, full, strlen(full) + 1);
    return 0;
}
