/* The options several subcommands share (commands.h: the table, crow_cli_opt_shared) and the
 * values several take (addresses, endpoints, seconds): each parses one value and, when it is bad,
 * prints the one usage error every command uses for it. */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "../app/common/http_client.h"
#include "../app/common/tls_files.h"
#include "commands.h"
#include "crowcast/ipv4.h"
#include "crowcast/error.h"
#include "crowcast/log.h"
#include "crowcast/release_sig.h"
#include "crowcast/udp.h"
#include "crowcast/units.h"

int crow_cli_opt_ipv4(const char *cmd, const char *opt, const char *arg, struct in_addr *out)
{
    if (crow_ipv4_parse_in(arg, out))
        return crow_cli_usage_error(cmd, "%s wants an IPv4 address, not '%s'", opt, arg);
    return 0;
}

int crow_cli_opt_endpoint(const char *cmd, const char *opt, const char *arg, struct sockaddr_in *out)
{
    if (crow_ipv4_parse_sockaddr(arg, out))
        return crow_cli_usage_error(cmd, "%s wants ADDR:PORT, not '%s'", opt, arg);
    return 0;
}

int crow_cli_opt_group(const char *cmd, const char *opt, const char *arg, struct sockaddr_in *out)
{
    if (crow_ipv4_parse_sockaddr(arg, out) || !IN_MULTICAST(ntohl(out->sin_addr.s_addr)))
        return crow_cli_usage_error(cmd, "%s wants a multicast GROUP:PORT, not '%s'", opt, arg);
    return 0;
}

int crow_cli_opt_seconds(const char *cmd, const char *arg, double *out)
{
    if (crow_parse_seconds(arg, out))
        return crow_cli_usage_error(cmd, "'%s' is not a number of seconds", arg);
    return 0;
}

static int opt_log_level(const char *cmd, const char *arg)
{
    enum crow_log_level level;
    if (crow_log_parse_level(arg, &level))
        return crow_cli_usage_error(cmd, "--log-level wants error, warn, info or debug");
    crow_log_set_level(level);
    return 0;
}

static int opt_tls_ca(const char *cmd, const char *arg, char *abs, size_t abs_cap)
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

void crow_cli_shared_init(struct crow_cli_shared *s)
{
    memset(s, 0, sizeof *s);
    crow_ipv4_parse_in("127.0.0.1", &s->iface);
}

int crow_cli_opt_shared(const char *cmd, int code, const char *arg, struct crow_cli_shared *s)
{
    static crow_keyring_t trust; /* one command a process: its keys live as long as it runs */
    int err;
    switch (code) {
    case CROW_CLI_O_TRACKER:
        s->tracker = arg;
        return 0;
    case CROW_CLI_O_NO_TRACKER:
        s->no_tracker = true;
        return 0;
    case CROW_CLI_O_IFACE:
        return crow_cli_opt_ipv4(cmd, "--iface", arg, &s->iface);
    case CROW_CLI_O_JSON:
        s->json = true;
        return 0;
    case CROW_CLI_O_METRICS:
        s->metrics = arg;
        return 0;
    case CROW_CLI_O_LOG_LEVEL:
        s->log_level = arg;
        return opt_log_level(cmd, arg);
    case CROW_CLI_O_TLS_CA:
        return opt_tls_ca(cmd, arg, s->tls_ca, sizeof s->tls_ca);
    case CROW_CLI_O_TRUST:
        if ((err = crow_cli_opt_trust(cmd, arg, &trust)))
            return err;
        /* Children (the agent's get) read the same keys whatever directory they start in. */
        if (!realpath(arg, s->trust_path))
            return crow_cli_usage_error(cmd, "--trust %s: %s", arg, strerror(errno));
        s->trust = &trust;
        return 0;
    case CROW_CLI_O_KEY:
        s->key = arg;
        return 0;
    case CROW_CLI_O_MCAST_KEY:
        s->mcast_key = arg;
        return 0;
    default:
        return crow_cli_usage_error(cmd, "unknown option");
    }
}

void crow_cli_argv_word(struct crow_cli_argv *b, const char *word)
{
    if (b->err)
        return;
    if (b->n + 1 >= b->cap) { /* room for the NULL */
        b->err = CROW_ESPACE;
        return;
    }
    b->argv[b->n++] = (char *)word; /* exec's argv is char *const[]: the strings are not written */
}

void crow_cli_argv_opt(struct crow_cli_argv *b, const char *dashed_name, const char *value)
{
    const struct option *o = b->table;
    while (o->name && (strncmp(dashed_name, "--", 2) != 0 || strcmp(o->name, dashed_name + 2) != 0))
        o++;
    if (!o->name) {
        crow_log_error("internal: the child command has no option %s", dashed_name);
        b->err = b->err ? b->err : CROW_EUSAGE;
        return;
    }
    if (!value)
        return;
    crow_cli_argv_word(b, dashed_name);
    if (o->has_arg != no_argument)
        crow_cli_argv_word(b, value);
}

int crow_cli_argv_end(struct crow_cli_argv *b)
{
    if (b->cap == 0)
        return CROW_ESPACE;
    b->argv[b->n < b->cap ? b->n : b->cap - 1] = NULL;
    return b->err;
}
