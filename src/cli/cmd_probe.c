/* `crowcast probe send|recv`: option parsing for the network probe (probe_run.h). */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "commands.h"
#include "crowcast/announce.h"
#include "crowcast/log.h"
#include "crowcast/manifest.h"
#include "crowcast/probe_run.h"
#include "crowcast/udp.h"
#include "crowcast/units.h"

static const char usage[] =
    "usage: crowcast probe recv --tracker URL [options]\n"
    "       crowcast probe send --tracker URL --iface ADDR [options]\n"
    "\n"
    "Measures what multicast rate each rack takes, with synthetic sessions (no release, no disk).\n"
    "Receivers join their rack's group as the tracker's racks file assigns and report every step\n"
    "to the tracker; the sender steps the rate up over every rack's group at once, one step at a\n"
    "time, reads the reports back and prints per rack the highest rate every host of the rack took\n"
    "with loss at or below the threshold, and where loss beyond it happens: on every host of the\n"
    "rack at once (\"rack-wide\": the uplink or the rack switch) or on single hosts (\"hosts\").\n"
    "Probe datagrams are crowcast datagrams of sessions named \"PROB\" + run + step: a\n"
    "`crowcast get` counts them as foreign and ignores them.\n"
    "\n"
    "Both:\n"
    "  --tracker URL          the rack-aware tracker (http[s]://A.B.C.D:PORT)\n"
    "  --iface ADDR           local address: joins / sends multicast there (default 127.0.0.1)\n"
    "  --json                 recv: a JSON line per step; send: the result as one JSON "
    "object\n" CROW_CLI_USAGE_TLS_CA CROW_CLI_USAGE_LOG_LEVEL "recv:\n"
    "  --rack NAME            ask for this rack (if the racks file trusts announced racks)\n"
    "  --silence S            a step ends after S seconds without its datagrams (default 0.5)\n"
    "  --idle S               exit S seconds after the last probe traffic (default 0: never)\n"
    "  --timeout S            exit after S seconds in all (default 0: never)\n"
    "send:\n"
    "  --from RATE            first rate, bits/s at the IP level per group (default 50M)\n"
    "  --to RATE              last rate (default 1G)\n"
    "  --step-factor F        each step's rate is F times the last (default 1.1; at most 64 steps)\n"
    "  --step-time S          seconds of traffic per step (default 1)\n"
    "  --loss-threshold P     loss (percent) a host may have and still pass a step (default 1%)\n"
    "  --receivers N          start once N receivers joined (default: those joined after --join-wait)\n"
    "  --join-wait S          seconds to wait for receivers (default 10)\n"
    "  --report-wait S        seconds to wait for the reports of a step (default 5)\n"
    "  --chunk-size N         payload bytes per datagram (default 1408: 1500-byte frames)\n"
    "  --ttl N                multicast TTL (default 1)\n"
    "  --mcast-loop on|off    deliver to receivers on this host (default: on for loopback)\n"
    "\n"
    "Rates are IP level (IP + UDP headers + 32-byte datagram header + payload), like seed --rate;\n"
    "the table also gives the payload share. Stepping ends at --to, or once every rack lost more\n"
    "than the threshold in two steps in a row.\n"
    "\n"
    "Exit status: 0 verdict printed, 1 no receiver or no report, 2 bad usage, 3 network error.\n";

enum {
    O_RACK = 256,
    O_SILENCE,
    O_IDLE,
    O_TIMEOUT,
    O_FROM,
    O_TO,
    O_FACTOR,
    O_STEP_TIME,
    O_LOSS,
    O_RECEIVERS,
    O_JOIN_WAIT,
    O_REPORT_WAIT,
    O_CHUNK,
    O_TTL,
    O_LOOP,
};

static const struct option opts[] = {
    CROW_CLI_OPTIONS_TRACKER_CLIENT,
    {"rack", required_argument, 0, O_RACK},
    {"silence", required_argument, 0, O_SILENCE},
    {"idle", required_argument, 0, O_IDLE},
    {"timeout", required_argument, 0, O_TIMEOUT},
    {"from", required_argument, 0, O_FROM},
    {"to", required_argument, 0, O_TO},
    {"step-factor", required_argument, 0, O_FACTOR},
    {"step-time", required_argument, 0, O_STEP_TIME},
    {"loss-threshold", required_argument, 0, O_LOSS},
    {"receivers", required_argument, 0, O_RECEIVERS},
    {"join-wait", required_argument, 0, O_JOIN_WAIT},
    {"report-wait", required_argument, 0, O_REPORT_WAIT},
    {"chunk-size", required_argument, 0, O_CHUNK},
    {"ttl", required_argument, 0, O_TTL},
    {"mcast-loop", required_argument, 0, O_LOOP},
    {"help", no_argument, 0, 'h'},
    {0, 0, 0, 0},
};

/* Options of the other mode are refused rather than ignored (the shared ones serve both). */
static bool send_only(int c)
{
    return c >= O_FROM && c <= O_LOOP;
}

static bool recv_only(int c)
{
    return c >= O_RACK && c <= O_TIMEOUT;
}

/* "1%", "0.5", "2.5%": percent in [0, 100]. */
static int parse_percent(const char *text, uint32_t *ppm)
{
    char *end;
    double v = strtod(text, &end);
    if (end == text || (*end && strcmp(end, "%")) || !(v >= 0 && v <= 100))
        return -1;
    *ppm = (uint32_t)(v * 1e4 + 0.5);
    return 0;
}

int crow_cmd_probe(int argc, char **argv)
{
    if (argc >= 2 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") || !strcmp(argv[1], "help"))) {
        fputs(usage, stdout);
        return CROW_EXIT_OK;
    }
    if (argc < 2 || (strcmp(argv[1], "send") && strcmp(argv[1], "recv")))
        return crow_cli_usage_error("probe", "wants send or recv");
    bool sending = !strcmp(argv[1], "send");
    struct crow_probe_recv_config rc = {.silence = 0.5};
    struct crow_probe_send_config sc = {.from_bps = 50000000ull,
                                        .to_bps = 1000000000ull,
                                        .factor = 1.1,
                                        .step_time = 1,
                                        .report_wait = 5,
                                        .loss_ppm = 10000,
                                        .join_wait = 10,
                                        .chunk_size = CROW_DEFAULT_CHUNK_SIZE,
                                        .ttl = 1};
    struct crow_cli_shared sh;
    crow_cli_shared_init(&sh);
    int loop_choice = -1, c;
    uint64_t v;
    optind = 2;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        double secs = 0;
        int err;
        if ((sending && recv_only(c)) || (!sending && send_only(c)))
            return crow_cli_usage_error("probe", "that option is not for probe %s", argv[1]);
        if ((c == O_SILENCE || c == O_IDLE || c == O_TIMEOUT || c == O_STEP_TIME || c == O_JOIN_WAIT ||
             c == O_REPORT_WAIT) &&
            (err = crow_cli_opt_seconds("probe", optarg, &secs)))
            return err;
        switch (c) {
        case 'h':
            fputs(usage, stdout);
            return CROW_EXIT_OK;
        case O_RACK:
            if (!crow_rack_name_valid(optarg, strlen(optarg)))
                return crow_cli_usage_error("probe",
                                            "--rack wants a rack name (letters, digits, '.', '_', '-'), "
                                            "not '%s'",
                                            optarg);
            rc.rack = optarg;
            break;
        case O_SILENCE:
            rc.silence = secs;
            break;
        case O_IDLE:
            rc.idle = secs;
            break;
        case O_TIMEOUT:
            rc.timeout = secs;
            break;
        case O_FROM:
        case O_TO:
            if (crow_parse_rate(optarg, c == O_FROM ? &sc.from_bps : &sc.to_bps) ||
                (c == O_FROM ? sc.from_bps : sc.to_bps) < 100000)
                return crow_cli_usage_error("probe", "--from/--to want bits/s like 50M or 1G, not '%s'",
                                            optarg);
            break;
        case O_FACTOR:
            sc.factor = strtod(optarg, NULL);
            if (!(sc.factor > 1.001 && sc.factor <= 10))
                return crow_cli_usage_error("probe", "--step-factor wants a number above 1, not '%s'",
                                            optarg);
            break;
        case O_RECEIVERS:
        case O_CHUNK:
        case O_TTL:
            if (crow_parse_size(optarg, &v))
                return crow_cli_usage_error("probe", "'%s' is not a number", optarg);
            if (c == O_RECEIVERS)
                sc.receivers = v > 256 ? 257 : (unsigned)v;
            else if (c == O_CHUNK)
                sc.chunk_size = v > CROW_MAX_CHUNK_SIZE ? 0 : (uint32_t)v;
            else
                sc.ttl = v > 255 ? -1 : (int)v;
            break;
        case O_STEP_TIME:
            sc.step_time = secs;
            break;
        case O_LOSS:
            if (parse_percent(optarg, &sc.loss_ppm))
                return crow_cli_usage_error("probe", "--loss-threshold wants a percentage like 1%%, not '%s'",
                                            optarg);
            break;
        case O_JOIN_WAIT:
            sc.join_wait = secs;
            break;
        case O_REPORT_WAIT:
            sc.report_wait = secs;
            break;
        case O_LOOP:
            if (strcmp(optarg, "on") && strcmp(optarg, "off"))
                return crow_cli_usage_error("probe", "--mcast-loop wants on or off");
            loop_choice = strcmp(optarg, "on") == 0;
            break;
        default:
            if ((err = crow_cli_opt_shared("probe", c, optarg, &sh)))
                return err;
        }
    }
    const char *tracker = sh.tracker;
    struct in_addr iface = sh.iface;
    bool json = sh.json;
    if (optind != argc)
        return crow_cli_usage_error("probe", "unexpected argument '%s'", argv[optind]);
    if (!tracker)
        return crow_cli_usage_error("probe", "--tracker is required");
    crow_log_set_role(sending ? "probe-send" : "probe-recv");
    if (!sending) {
        rc.tracker = tracker;
        rc.iface = iface;
        rc.json = json;
        if (rc.silence < 0.05)
            return crow_cli_usage_error("probe", "--silence wants at least 0.05 s");
        return crow_probe_recv_run(&rc);
    }
    if (sc.from_bps > sc.to_bps)
        return crow_cli_usage_error("probe", "--from is above --to");
    if (sc.chunk_size < CROW_MIN_CHUNK_SIZE)
        return crow_cli_usage_error("probe", "--chunk-size wants %u to %u", CROW_MIN_CHUNK_SIZE,
                                    CROW_MAX_CHUNK_SIZE);
    if (sc.ttl < 1 || sc.receivers > 256 || sc.step_time < 0.1 || sc.step_time > 60 || sc.report_wait < 0.5)
        return crow_cli_usage_error(
            "probe", "--ttl 1-255, --receivers up to 256, --step-time 0.1-60 s, --report-wait >= 0.5 s");
    sc.tracker = tracker;
    sc.iface = iface;
    sc.json = json;
    sc.mcast_loop = loop_choice >= 0 ? loop_choice : (ntohl(iface.s_addr) >> 24) == 127;
    return crow_probe_send_run(&sc);
}
