/* crowcast-diag's command line (diag.h). */
#include <errno.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "crowcast/error.h"
#include "crowcast/units.h"
#include "diag.h"

void diag_options_usage(FILE *out)
{
    fprintf(out,
            "usage: crowcast-diag -i IFACE [--filter BPF] [--interval S] [-w FILE.pcap] [options]\n"
            "       crowcast-diag -r FILE.pcap [-r FILE2.pcap ...] [options]\n\n"
            "Decodes crowcast multicast datagrams, peer-wire connections and tracker announces in a\n"
            "capture and reports, per session, sender (source IP:port), group (destination IP:port)\n"
            "and receiving host: datagrams, bytes, rate, loss (sequence gaps), reordering, duplicates,\n"
            "BEACON/END seen; per peer-wire connection: messages by type, piece bytes, request->piece\n"
            "latency; per announcing peer: announces and events.\n\n"
            "A host is one capture source (each -r file, or the -i interface), split further by the\n"
            "interface index of a Linux cooked v2 capture (-i any) and by direction (copies leaving\n"
            "an interface are shown as 'out'). To compare receivers, capture on each host and pass\n"
            "every file, or capture with -i any on the host that bridges them.\n\n"
            "  -i, --interface IFACE  capture live (\"any\" records the interface of each frame)\n"
            "  -r, --read FILE        read a pcap/pcapng file; repeat for several hosts (max %d)\n"
            "  -f, --filter BPF       capture filter, e.g. 'udp port 5000 or tcp port 6881'\n"
            "  -w, --write FILE       live: also save the captured frames (pcap)\n"
            "      --interval S       print a line every S seconds of capture time\n"
            "      --duration S       live: stop after S seconds\n"
            "  -c, --count N          stop after N frames\n"
            "      --snaplen N        live: bytes kept per frame (default 262144; 96 keeps headers)\n"
            "      --wire-port N      a peer-wire TCP port (repeatable; handshakes are found anyway)\n"
            "      --tracker-port N   a tracker HTTP port whose GET /announce to count (repeatable)\n"
            "      --no-handshake-detect  only --wire-port connections are decoded\n"
            "      --max-streams N    streams tracked (default 4096); --max-flows N TCP connections (256)\n"
            "      --json             JSON lines: interval events, then one summary object\n"
            "  -h, --help             this text\n\n"
            "Exit status: 0 done, 2 bad usage, 3 the capture could not be opened or read.\n",
            DIAG_MAX_FILES);
}

static int parse_port(const char *text, uint16_t *ports, uint32_t *count)
{
    char *end;
    errno = 0;
    unsigned long v = strtoul(text, &end, 10);
    if (errno || *end || v == 0 || v > 65535 || *count >= CROW_DIAG_MAX_PORTS)
        return CROW_EUSAGE;
    ports[(*count)++] = (uint16_t)v;
    return 0;
}

static int parse_u64(const char *text, uint64_t max, uint64_t *out)
{
    char *end;
    errno = 0;
    unsigned long long v = strtoull(text, &end, 10);
    if (errno || *end || end == text || v == 0 || v > max)
        return CROW_EUSAGE;
    *out = v;
    return 0;
}

int diag_options_parse(int argc, char **argv, diag_options_t *o)
{
    enum { O_INTERVAL = 256, O_DURATION, O_SNAPLEN, O_WIRE, O_TRACKER, O_NOHS, O_STREAMS, O_FLOWS, O_JSON };
    static const struct option longs[] = {
        {"interface", required_argument, NULL, 'i'},
        {"read", required_argument, NULL, 'r'},
        {"filter", required_argument, NULL, 'f'},
        {"write", required_argument, NULL, 'w'},
        {"count", required_argument, NULL, 'c'},
        {"interval", required_argument, NULL, O_INTERVAL},
        {"duration", required_argument, NULL, O_DURATION},
        {"snaplen", required_argument, NULL, O_SNAPLEN},
        {"wire-port", required_argument, NULL, O_WIRE},
        {"tracker-port", required_argument, NULL, O_TRACKER},
        {"no-handshake-detect", no_argument, NULL, O_NOHS},
        {"max-streams", required_argument, NULL, O_STREAMS},
        {"max-flows", required_argument, NULL, O_FLOWS},
        {"json", no_argument, NULL, O_JSON},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    memset(o, 0, sizeof *o);
    o->snaplen = 262144;
    crow_diag_flows_config_t *fc = &o->cfg.flows;
    uint64_t v;
    int c;
    while ((c = getopt_long(argc, argv, "i:r:f:w:c:h", longs, NULL)) != -1) {
        int ret = 0;
        switch (c) {
        case 'i':
            o->iface = optarg;
            break;
        case 'r':
            if (o->file_count == DIAG_MAX_FILES)
                ret = CROW_EUSAGE;
            else
                o->files[o->file_count++] = optarg;
            break;
        case 'f':
            o->filter = optarg;
            break;
        case 'w':
            o->write = optarg;
            break;
        case 'c':
            ret = parse_u64(optarg, UINT64_MAX, &o->count);
            break;
        case O_INTERVAL:
            ret = crow_parse_seconds(optarg, &o->interval);
            break;
        case O_DURATION:
            ret = crow_parse_seconds(optarg, &o->duration);
            break;
        case O_SNAPLEN:
            ret = parse_u64(optarg, 262144, &v);
            o->snaplen = (int)v;
            break;
        case O_WIRE:
            ret = parse_port(optarg, fc->wire_ports, &fc->wire_port_count);
            break;
        case O_TRACKER:
            ret = parse_port(optarg, fc->tracker_ports, &fc->tracker_port_count);
            break;
        case O_NOHS:
            fc->no_handshake_detect = true;
            break;
        case O_STREAMS:
            ret = parse_u64(optarg, 1u << 20, &v);
            o->cfg.max_streams = (uint32_t)v;
            break;
        case O_FLOWS:
            ret = parse_u64(optarg, 1u << 16, &v);
            fc->max_conns = (uint32_t)v;
            break;
        case O_JSON:
            o->json = true;
            break;
        case 'h':
            diag_options_usage(stdout);
            exit(DIAG_EXIT_OK);
        default:
            return CROW_EUSAGE;
        }
        if (ret) {
            fprintf(stderr, "crowcast-diag: invalid value for option %s: %s\n", argv[optind - 1], optarg);
            return CROW_EUSAGE;
        }
    }
    if (optind != argc || (!o->iface) == (o->file_count == 0)) {
        fprintf(stderr, "crowcast-diag: give either -i IFACE or -r FILE (see --help)\n");
        return CROW_EUSAGE;
    }
    if (o->write && !o->iface) {
        fprintf(stderr, "crowcast-diag: -w only saves a live capture\n");
        return CROW_EUSAGE;
    }
    return 0;
}
