/* Option values that several subcommands take (addresses, endpoints, seconds, the log level):
 * each helper parses one value and, when it is bad, prints the one usage error every command
 * uses for it. */
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
