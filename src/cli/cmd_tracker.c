/* `crowcast tracker`: option parsing for the tracker role. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "commands.h"
#include "crowcast/log.h"
#include "crowcast/tracker.h"
#include "crowcast/udp.h"
#include "crowcast/units.h"

static const char usage[] =
    "usage: crowcast tracker --listen ADDR:PORT [--racks FILE] [options]\n"
    "\n"
    "A rack-aware BitTorrent tracker over HTTP/1.1: tells each peer its rack's multicast group and\n"
    "its chain neighbours; stock clients see a plain BEP 3 tracker.\n"
    "\n"
    "  --listen ADDR:PORT     address to serve on\n"
    "  --racks FILE           racks file: 'rack NAME CIDR[,CIDR...] GROUP:PORT' lines (without it,\n"
    "                         every peer is in no rack)\n"
    "  --interval S           seconds between announces told to peers (default 30); a peer silent\n"
    "                         for 3 intervals expires\n"
    "  --max-connections N    open connections at most; more are accepted and closed at once\n"
    "                         (default 16384, bounded by the descriptor limit)\n"
    "  --header-timeout S     a request head must arrive within S seconds of its first byte\n"
    "                         (default 10; then 408 and close)\n"
    "  --idle-timeout S       close a connection without a request for S seconds (default 60)\n"
    "  --max-releases N       releases (info hashes) tracked at once (default 64)\n"
    "  --max-peers N          peers per release (default 4096)\n"
    "  --trust-ip             take the announce's ip= parameter as the peer's address (only behind\n"
    "                         a NAT or proxy; by default the connection's source address is used)\n"
    "  --json-log             one JSON line per request on stdout\n"
    "  --state DIR            coordinate staged rollouts (crowcast rollout, crowcast agent): keeps\n"
    "                         DIR/rollout.journal (append-only, synced before acting, replayed at\n"
    "                         start: a restarted tracker resumes the rollout) and DIR/releases/\n"
    "                         (copies of the released torrents); created if missing\n"
    "  --auth FILE            the control plane's identities, one 'operator NAME SECRET' or 'agent\n"
    "                         HOST SECRET' line each (crowcast token new); every state change\n"
    "                         (/rollout/start|pause|resume|abort|rollback, /agent/poll|report) must\n"
    "                         be a POST signed by one of them, and an agent only speaks for its own\n"
    "                         host. SIGHUP reads FILE again (add a line to issue, change it to\n"
    "                         rotate, delete it to revoke). Without --auth state changes are refused\n"
    "  --insecure-control     without --auth: believe unsigned state changes (a loopback --listen\n"
    "                         only, for demos)\n"
    "  --closed-reads         /status, /metrics, /rollout/status and /agent/torrent need a signed\n"
    "                         request too (any identity; needs --auth)\n"
    "  --host-expiry S        a host that has not polled for S seconds leaves the rollout (a\n"
    "                         journaled decision; default 300)\n"
    "  --max-per-address N    open connections from one source address at most; more are closed\n"
    "                         at once (default 256)\n"
    "  --rate-per-address R   requests a second from one source address (bursts of 2R); more are\n"
    "                         answered 429 and their connection closed (default 200)\n"
    "  --tls-cert FILE        serve HTTPS only (TLS 1.2 or later) with this PEM certificate chain\n"
    "                         (leaf first; its subjectAltName must carry the address clients use,\n"
    "                         IP:A.B.C.D); the handshake must end within --header-timeout.\n"
    "                         SIGHUP reads it and --tls-key again: new connections use the new pair\n"
    "  --tls-key FILE         the certificate's PEM private key (mode 0600)\n" CROW_CLI_USAGE_LOG_LEVEL "\n"
    "Endpoints: /announce, /scrape, /status (JSON), /metrics (Prometheus text); with --state also\n"
    "/agent/poll, /agent/torrent, /agent/report (agents) and /rollout/start, /rollout/status,\n"
    "/rollout/pause, /rollout/resume, /rollout/abort, /rollout/rollback (crowcast rollout); the\n"
    "state changes are POSTs, everything else GETs (405 otherwise).\n"
    "Exit status: 0 stopped by SIGINT/SIGTERM, 2 bad usage, racks file, keys file, certificate or\n"
    "corrupt journal, 3 network or system error.\n";

static int number(const char *text, uint64_t max, uint32_t *out)
{
    uint64_t v;
    if (crow_parse_size(text, &v) || v == 0 || v > max)
        return -1;
    *out = (uint32_t)v;
    return 0;
}

int crow_cmd_tracker(int argc, char **argv)
{
    enum {
        O_LISTEN = 256,
        O_RACKS,
        O_INTERVAL,
        O_MAXCONN,
        O_HEADER,
        O_IDLE,
        O_RELEASES,
        O_PEERS,
        O_TRUST_IP,
        O_JSON,
        O_STATE,
        O_AUTH,
        O_INSECURE,
        O_CLOSED,
        O_EXPIRY,
        O_PER_ADDR,
        O_RATE,
        O_TLS_CERT,
        O_TLS_KEY
    };
    static const struct option opts[] = {
        {"listen", required_argument, 0, O_LISTEN},
        {"racks", required_argument, 0, O_RACKS},
        {"interval", required_argument, 0, O_INTERVAL},
        {"max-connections", required_argument, 0, O_MAXCONN},
        {"header-timeout", required_argument, 0, O_HEADER},
        {"idle-timeout", required_argument, 0, O_IDLE},
        {"max-releases", required_argument, 0, O_RELEASES},
        {"max-peers", required_argument, 0, O_PEERS},
        {"trust-ip", no_argument, 0, O_TRUST_IP},
        {"json-log", no_argument, 0, O_JSON},
        CROW_CLI_OPTION_LOG_LEVEL,
        {"state", required_argument, 0, O_STATE},
        {"auth", required_argument, 0, O_AUTH},
        {"insecure-control", no_argument, 0, O_INSECURE},
        {"closed-reads", no_argument, 0, O_CLOSED},
        {"host-expiry", required_argument, 0, O_EXPIRY},
        {"max-per-address", required_argument, 0, O_PER_ADDR},
        {"rate-per-address", required_argument, 0, O_RATE},
        {"tls-cert", required_argument, 0, O_TLS_CERT},
        {"tls-key", required_argument, 0, O_TLS_KEY},
        {"help", no_argument, 0, 'h'},
        {0, 0, 0, 0},
    };
    struct crow_tracker_config cfg = {0};
    struct crow_cli_shared sh; /* --log-level */
    crow_cli_shared_init(&sh);
    bool listen_set = false;
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        double s;
        char *end;
        int err;
        switch (c) {
        case 'h':
            fputs(usage, stdout);
            return CROW_EXIT_OK;
        case O_LISTEN:
            if ((err = crow_cli_opt_endpoint("tracker", "--listen", optarg, &cfg.listen)))
                return err;
            listen_set = true;
            break;
        case O_RACKS:
            cfg.racks_path = optarg;
            break;
        case O_INTERVAL:
            if (number(optarg, 86400, &cfg.interval))
                return crow_cli_usage_error("tracker", "--interval wants seconds from 1 to 86400");
            break;
        case O_MAXCONN:
            if (number(optarg, 1000000, &cfg.max_connections))
                return crow_cli_usage_error("tracker", "--max-connections wants 1 to 1000000");
            break;
        case O_RELEASES:
        case O_PEERS:
            if (number(optarg, 1000000, c == O_RELEASES ? &cfg.max_releases : &cfg.max_peers))
                return crow_cli_usage_error("tracker", "--%s wants 1 to 1000000",
                                            c == O_RELEASES ? "max-releases" : "max-peers");
            break;
        case O_HEADER:
        case O_IDLE:
            if (crow_parse_seconds(optarg, &s) || s <= 0)
                return crow_cli_usage_error("tracker", "'%s' is not a positive number of seconds", optarg);
            *(c == O_HEADER ? &cfg.header_timeout : &cfg.idle_timeout) = s;
            break;
        case O_TRUST_IP:
            cfg.trust_ip = true;
            break;
        case O_JSON:
            cfg.json_log = true;
            break;
        case O_STATE:
            cfg.state_dir = optarg;
            break;
        case O_AUTH:
            cfg.auth_path = optarg;
            break;
        case O_INSECURE:
            cfg.insecure_control = true;
            break;
        case O_CLOSED:
            cfg.closed_reads = true;
            break;
        case O_PER_ADDR:
            if (number(optarg, 1000000, &cfg.max_per_address))
                return crow_cli_usage_error("tracker", "--max-per-address wants 1 to 1000000");
            break;
        case O_RATE:
            cfg.rate_per_address = strtod(optarg, &end);
            if (end == optarg || *end || !(cfg.rate_per_address >= 0.1 && cfg.rate_per_address <= 1e6))
                return crow_cli_usage_error("tracker",
                                            "--rate-per-address wants 0.1 to 1000000 requests a second");
            break;
        case O_TLS_CERT:
            cfg.tls_cert = optarg;
            break;
        case O_TLS_KEY:
            cfg.tls_key = optarg;
            break;
        case O_EXPIRY:
            if (crow_parse_seconds(optarg, &cfg.host_expiry) || cfg.host_expiry < 1 ||
                cfg.host_expiry > 86400)
                return crow_cli_usage_error("tracker", "--host-expiry wants 1 to 86400 seconds");
            break;
        default:
            if ((err = crow_cli_opt_shared("tracker", c, optarg, &sh)))
                return err;
        }
    }
    if (optind != argc)
        return crow_cli_usage_error("tracker", "unexpected argument '%s'", argv[optind]);
    if (!listen_set)
        return crow_cli_usage_error("tracker", "--listen ADDR:PORT is required");
    if (cfg.auth_path && cfg.insecure_control)
        return crow_cli_usage_error("tracker", "--auth and --insecure-control exclude each other");
    if (cfg.closed_reads && !cfg.auth_path)
        return crow_cli_usage_error("tracker", "--closed-reads needs --auth FILE (readers sign too)");
    if (!cfg.tls_cert != !cfg.tls_key)
        return crow_cli_usage_error("tracker", "--tls-cert and --tls-key go together");
    crow_log_set_role("tracker");
    return crow_tracker_run(&cfg);
}
