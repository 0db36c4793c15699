/* `crowcast seed`: option parsing for the seeder role. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "commands.h"
#include "crowcast/log.h"
#include "crowcast/seeder.h"
#include "crowcast/seeder_policy.h"
#include "crowcast/udp.h"
#include "crowcast/units.h"

static const char usage[] =
    "usage: crowcast seed X.torrent PATH [options]\n"
    "\n"
    "Sends the release at PATH (the file, or the directory of a multi-file release) to each rack's\n"
    "multicast group, paced, and serves it over TCP to any BitTorrent peer.\n"
    "\n"
    "  --mcast GROUP:PORT     multicast group to send to (repeatable: one per rack, or shared)\n"
    "  --iface ADDR           local interface address to send from (default 127.0.0.1)\n"
    "  --rate RATE            bits/s per group, e.g. 900M, 1G (default 1G)\n"
    "  --passes N             passes over the release; 0 repeats until stopped (default 1)\n"
    "  --ttl N                multicast TTL (default 1: the datagrams stay in the rack)\n"
    "  --mcast-loop on|off    deliver to receivers on this host (default: on for a loopback\n"
    "                         interface, off otherwise)\n"
    "  --beacon-interval S    seconds between session BEACONs (default 0.2)\n"
    "  --mcast-key FILE       the fleet's multicast secret (16-64 random bytes, mode 600): tag every\n"
    "                         datagram so receivers with the same key can tell it from a forgery\n"
    "                         (default: /etc/crowcast/mcast.key if it exists; 'none': no tags)\n"
    "  --listen ADDR:PORT     serve the release over TCP (peer wire) on this address\n"
    "  --linger S|forever     after the last pass, keep serving TCP until every peer of the\n"
    "                         release is complete (as the tracker reports; without a tracker: until\n"
    "                         no peer was connected for 15 s), at most S seconds (default 600);\n"
    "                         0 leaves at the pass's end, forever stays until stopped\n"
    "  --wait-peers S|forever with a tracker, multicast only once it shows a peer of the release\n"
    "                         (a pass before the peers join reaches nobody), waiting at most S\n"
    "                         seconds (default 600); 0 multicasts at once\n"
    "  --tracker URL          announce to this tracker only, as the seeder. Default: the\n"
    "                         manifest's trackers (its announce-list tiers in order, failing over\n"
    "                         to the next, else its announce URL; http[s]://A.B.C.D:PORT/ URLs only,\n"
    "                         others are skipped with a warning). A tracker names the groups when\n"
    "                         --mcast does not, and gets a TCP port when --listen does not\n"
    "  --no-tracker           announce to no tracker\n" CROW_CLI_USAGE_JSON_EVENTS CROW_CLI_USAGE_METRICS
        CROW_CLI_USAGE_TLS_CA CROW_CLI_USAGE_LOG_LEVEL "\n"
    "Exit status: 0 done, 2 bad usage or manifest, 3 I/O or network error.\n";

int crow_cmd_seed(int argc, char **argv)
{
    enum { O_MCAST = 256, O_RATE, O_PASSES, O_TTL, O_LOOP, O_BEACON, O_LISTEN, O_LINGER, O_WAIT_PEERS };
    static const struct option opts[] = {
        CROW_CLI_OPTIONS_TRACKER_CLIENT,
        {"mcast", required_argument, 0, O_MCAST},
        {"rate", required_argument, 0, O_RATE},
        {"passes", required_argument, 0, O_PASSES},
        {"ttl", required_argument, 0, O_TTL},
        {"mcast-loop", required_argument, 0, O_LOOP},
        {"beacon-interval", required_argument, 0, O_BEACON},
        CROW_CLI_OPTION_MCAST_KEY,
        {"listen", required_argument, 0, O_LISTEN},
        {"linger", required_argument, 0, O_LINGER},
        {"wait-peers", required_argument, 0, O_WAIT_PEERS},
        CROW_CLI_OPTION_NO_TRACKER,
        CROW_CLI_OPTION_METRICS,
        {"help", no_argument, 0, 'h'},
        {0, 0, 0, 0},
    };
    struct crow_seeder_config cfg = {
        .rate = 1000000000ull, .passes = 1, .ttl = 1, .beacon_interval = 0.2, .linger = -2, .wait_peers = -2};
    struct crow_cli_shared sh;
    crow_cli_shared_init(&sh);
    int loop_choice = -1, c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        uint64_t v;
        int err;
        switch (c) {
        case 'h':
            fputs(usage, stdout);
            return CROW_EXIT_OK;
        case O_MCAST:
            if (cfg.group_count == CROW_MAX_GROUPS)
                return crow_cli_usage_error("seed", "at most %d --mcast groups", CROW_MAX_GROUPS);
            if ((err = crow_cli_opt_group("seed", "--mcast", optarg, &cfg.groups[cfg.group_count])))
                return err;
            cfg.group_count++;
            break;
        case O_RATE:
            if (crow_parse_rate(optarg, &cfg.rate) || cfg.rate < 1000)
                return crow_cli_usage_error("seed", "--rate wants bits/s like 900M or 1G, not '%s'", optarg);
            break;
        case O_PASSES:
        case O_TTL:
            if (crow_parse_size(optarg, &v) || v > 255)
                return crow_cli_usage_error("seed", "--%s wants a number from 0 to 255",
                                            c == O_TTL ? "ttl" : "passes");
            if (c == O_TTL)
                cfg.ttl = (int)v;
            else
                cfg.passes = (unsigned)v;
            break;
        case O_LOOP:
            if (strcmp(optarg, "on") && strcmp(optarg, "off"))
                return crow_cli_usage_error("seed", "--mcast-loop wants on or off");
            loop_choice = strcmp(optarg, "on") == 0;
            break;
        case O_LINGER:
        case O_WAIT_PEERS:
        case O_BEACON: {
            double *to = c == O_BEACON ? &cfg.beacon_interval : c == O_LINGER ? &cfg.linger : &cfg.wait_peers;
            if (c != O_BEACON && strcmp(optarg, "forever") == 0) {
                *to = -1;
                break;
            }
            if ((err = crow_cli_opt_seconds("seed", optarg, to)))
                return err;
            break;
        }
        case O_LISTEN:
            if ((err = crow_cli_opt_endpoint("seed", "--listen", optarg, &cfg.listen)))
                return err;
            break;
        default:
            if ((err = crow_cli_opt_shared("seed", c, optarg, &sh)))
                return err;
        }
    }
    cfg.tracker = sh.tracker;
    cfg.no_tracker = sh.no_tracker;
    cfg.iface = sh.iface;
    cfg.metrics = sh.metrics;
    cfg.mcast_key = sh.mcast_key;
    cfg.json = sh.json;
    if (argc - optind != 2)
        return crow_cli_usage_error("seed", "wants X.torrent and PATH");
    cfg.torrent = argv[optind];
    cfg.path = argv[optind + 1];
    if (cfg.tracker && cfg.no_tracker)
        return crow_cli_usage_error("seed", "--tracker and --no-tracker contradict each other");
    /* Whether the manifest names a tracker is known once it is read (crow_seeder_run checks). */
    if (cfg.group_count == 0 && cfg.listen.sin_port == 0 && cfg.no_tracker)
        return crow_cli_usage_error("seed", "nothing to do: give --mcast, --listen or --tracker");
    cfg.mcast_loop = loop_choice >= 0 ? loop_choice : (ntohl(cfg.iface.s_addr) >> 24) == 127;
    if (cfg.linger == -2)
        cfg.linger = (double)(CROW_SEEDER_LINGER_DEFAULT_NS / 1000000000ull);
    if (cfg.wait_peers == -2)
        cfg.wait_peers = (double)(CROW_SEEDER_WAIT_PEERS_DEFAULT_NS / 1000000000ull);
    crow_log_set_role("seed");
    return crow_seeder_run(&cfg);
}
