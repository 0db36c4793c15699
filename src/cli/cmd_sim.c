/* `crowcast sim`: runs the project's engines over a simulated datacenter (src/sim) and prints what
 * happened: completion against S/B, fabric copies per rack, seeder bytes, tracker load, and the
 * simulator's own cost; or, with --property N, checks N random datacenters. */
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include "commands.h"
#include "crowcast/error.h"
#include "crowcast/log.h"
#include "crowcast/units.h"
#include "sim_property.h"
#include "sim_rollout.h"
#include "sim_world.h"

static void usage(FILE *out)
{
    fprintf(
        out,
        "usage: crowcast sim [--racks N] [--hosts-per-rack N] [--size BYTES] [--rate BPS] [--loss MODEL]\n"
        "                    [--seed N] [--start-order ORDER] [--crash WHO@T+D] [--json] [--hash] ...\n"
        "       crowcast sim --property N [--property-seed S]\n\n"
        "Simulates a rollout over a datacenter: the real engines (multicast sender and receiver, picker,\n"
        "peer sessions speaking the real wire codec, the peer's and the seeder's policies, the tracker's\n"
        "registry and racks) under a simulated clock and network. No socket, no real clock: the same\n"
        "seed gives the same event log, byte for byte.\n\n"
        "  --racks N            racks (default 2), --hosts-per-rack N peers in each (default 4)\n"
        "  --size BYTES         release size (default 64M); --piece-size (1M), --chunk-size (8192:\n"
        "                       one simulated datagram per chunk; larger chunks simulate faster)\n"
        "  --rate BPS           every host's NIC rate, B in S/B (default 10G); the seeder paces its\n"
        "                       multicast at 95 %% of it (--mcast-rate BPS), a rack's links to the\n"
        "                       fabric carry 4x it (--rack-uplink BPS)\n"
        "  --queue BYTES        a host's receive buffering before it drops datagrams (default 8M)\n"
        "  --loss MODEL         none (default), or items joined by ',': random:P (each host loses P of\n"
        "                       the datagrams), ge:P_GB:P_BG:LOSS (bursty Gilbert-Elliott, each host),\n"
        "                       rack:R:P (rack R's link from the fabric: the whole rack misses the\n"
        "                       same datagrams), slow:H:F (host H drains at F x its rate: its buffer\n"
        "                       overflows)\n"
        "  --start-order ORDER  together (default), seeder-first, seeder-last, random; the hosts start\n"
        "                       within --spread S seconds (default 2)\n"
        "  --crash WHO@T+D      kill -9 at T s, restart D s later; WHO: peer:H, seeder, tracker\n"
        "                       (repeatable, up to %d); a killed tracker refuses connections, with\n"
        "                       --tracker-dark its host answers nothing (announces time out in 5 s)\n"
        "  --junk S             a stray sender on the group: every S seconds a datagram to every rack,\n"
        "                       by turns junk and another session's DATA (default: none)\n"
        "  --fault NAME         re-introduce a fault the project once had (repeatable): linger0 (the\n"
        "                       seeder leaves after its pass), junk (any datagram resets a peer's\n"
        "                       silence clock), two-heads (peers of a rack that start together are\n"
        "                       each told chain head)\n"
        "  --seed-time S        a complete peer serves its neighbours this long (default 60)\n"
        "  --limit S            give up at this simulated time (default 3600)\n"
        "  --seed N             the run's seed (default 1)\n"
        "  --hash               print the event log's hash (FNV-1a 64)\n"
        "  --log FILE           write every event as a line: time kind object argument\n"
        "  --json               one JSON object instead of the table\n"
        "  --property N         run N random small datacenters (racks, hosts, sizes, loss, start\n"
        "                       order, one crash), seeds from --property-seed (default 1) on; each must\n"
        "                       end with every peer verified within its bound; a failure prints the\n"
        "                       command replaying it (and runs no further than a broken invariant:\n"
        "                       one chain head per rack); --fault applies to every scenario\n"
        "  -h, --help           this text\n\n"
        "Exit status: 0 every peer verified (every scenario passed); 1 not; 2 bad usage.\n",
        SIM_MAX_CRASHES);
}

enum {
    O_RACKS = 256,
    O_HOSTS,
    O_SIZE,
    O_PIECE,
    O_CHUNK,
    O_RATE,
    O_MCAST_RATE,
    O_UPLINK,
    O_QUEUE,
    O_LOSS,
    O_START,
    O_SPREAD,
    O_CRASH,
    O_SEED_TIME,
    O_LIMIT,
    O_SEED,
    O_HASH,
    O_LOG,
    O_JSON,
    O_PROPERTY,
    O_PROPERTY_SEED,
    O_TRACE,
    O_FAULT,
    O_JUNK,
    O_ROLLOUT,
    O_PLAN,
    O_SICK,
    O_TRACKER_DARK,
};

static double wall_s(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static double peak_rss_mib(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (double)ru.ru_maxrss / 1024;
}

static void print_result(const sim_config_t *c, const sim_result_t *r, double wall, bool json, bool hash)
{
    double rss = peak_rss_mib();
    if (json) {
        printf("{\"hosts\":%u,\"racks\":%u,\"size\":%llu,\"rate_bps\":%llu,\"seed\":%llu,\"all_verified\":%s,"
               "\"verified\":%u,\"sb_s\":%.6f,\"p50_s\":%.6f,\"p99_s\":%.6f,\"max_s\":%.6f,\"p50_sb\":%.4f,"
               "\"p99_sb\":%.4f,\"max_sb\":%.4f,\"last_done_s\":%.6f,\"fabric_copies_per_rack\":%.4f,"
               "\"fabric_copies_max\":%.4f,\"seeder_mcast_bytes\":%llu,\"seeder_tcp_bytes\":%llu,"
               "\"tcp_bytes\":%llu,\"datagrams_lost\":%llu,\"announces\":%llu,\"announces_per_s\":%.2f,"
               "\"sim_s\":%.6f,\"events\":%llu,\"log_hash\":\"%016llx\",\"wall_s\":%.3f,\"peak_rss_mib\":%."
               "1f}\n",
               c->racks * c->hosts_per_rack, c->racks, (unsigned long long)c->size,
               (unsigned long long)c->rate_bps, (unsigned long long)c->seed,
               r->all_verified ? "true" : "false", r->verified, r->sb_s, r->p50_s, r->p99_s, r->max_s,
               r->p50_s / r->sb_s, r->p99_s / r->sb_s, r->max_s / r->sb_s, r->last_done_s,
               r->fabric_copies_per_rack, r->fabric_copies_max, (unsigned long long)r->seeder_mcast_bytes,
               (unsigned long long)r->seeder_tcp_bytes, (unsigned long long)r->tcp_bytes,
               (unsigned long long)r->datagrams_lost, (unsigned long long)r->announces, r->announces_per_s,
               r->sim_s, (unsigned long long)r->events, (unsigned long long)r->hash, wall, rss);
        return;
    }
    char a[32], b[32], s[32];
    printf("%u hosts in %u racks, %s at %s: %u of %u verified%s\n", c->racks * c->hosts_per_rack, c->racks,
           crow_format_size(c->size, s, sizeof s), crow_format_rate((double)c->rate_bps, a, sizeof a),
           r->verified, c->racks * c->hosts_per_rack, r->all_verified ? "" : " (NOT ALL)");
    printf("  completion      p50 %.3f s  p99 %.3f s  max %.3f s   (S/B %.3f s: x%.3f x%.3f x%.3f)\n",
           r->p50_s, r->p99_s, r->max_s, r->sb_s, r->p50_s / r->sb_s, r->p99_s / r->sb_s, r->max_s / r->sb_s);
    printf("  fabric          %.3f copies per rack (max %.3f)\n", r->fabric_copies_per_rack,
           r->fabric_copies_max);
    printf("  seeder          %s multicast, %s over TCP\n",
           crow_format_size(r->seeder_mcast_bytes, a, sizeof a),
           crow_format_size(r->seeder_tcp_bytes, b, sizeof b));
    printf("  peers           %s over TCP, %llu datagrams lost\n",
           crow_format_size(r->tcp_bytes, a, sizeof a), (unsigned long long)r->datagrams_lost);
    printf("  tracker         %llu announces, %.1f/s over %.3f s simulated\n",
           (unsigned long long)r->announces, r->announces_per_s, r->sim_s);
    printf("  simulator       %llu events, %.2f s wall, peak RSS %.0f MiB\n", (unsigned long long)r->events,
           wall, rss);
    if (r->violation[0])
        printf("  BROKEN          %s (the run stopped there)\n", r->violation);
    if (hash)
        printf("  event log hash  %016llx\n", (unsigned long long)r->hash);
}

/* --property N: every scenario must verify every peer within its bound, and break no invariant. The
 * faults of `faults` are set in every scenario. */
static int property(uint64_t count, uint64_t first, const sim_config_t *faults)
{
    unsigned failed = 0;
    double start = wall_s();
    for (uint64_t i = 0; i < count; i++) {
        sim_config_t c;
        sim_property_config(first + i, &c);
        c.fault_linger0 = faults->fault_linger0;
        c.fault_junk = faults->fault_junk;
        c.fault_two_heads = faults->fault_two_heads;
        sim_result_t r;
        int ret = sim_run(&c, &r);
        double bound = sim_property_bound_s(&c);
        if (ret == 0 && !r.violation[0] && r.all_verified && r.last_done_s <= bound)
            continue;
        char cmd[1024];
        sim_property_command(&c, cmd, sizeof cmd);
        if (ret)
            printf("FAIL seed %llu: %s\n", (unsigned long long)c.seed, crow_strerror(ret));
        else if (r.violation[0])
            printf("FAIL seed %llu: %s\n", (unsigned long long)c.seed, r.violation);
        else if (!r.all_verified)
            printf("FAIL seed %llu: %u of %u peers verified at %.3f s (peer %u is not)\n",
                   (unsigned long long)c.seed, r.verified, c.racks * c.hosts_per_rack, r.sim_s,
                   r.first_missing);
        else
            printf("FAIL seed %llu: the last peer verified at %.3f s, after the bound %.3f s\n",
                   (unsigned long long)c.seed, r.last_done_s, bound);
        printf("  replay: %s --hash   (event log hash %016llx)\n", cmd, (unsigned long long)r.hash);
        failed++;
    }
    printf("%llu scenarios, %u failed, %.1f s wall\n", (unsigned long long)count, failed, wall_s() - start);
    return failed ? CROW_EXIT_FAIL : CROW_EXIT_OK;
}

/* --rollout: the coordinator under simulated agents; a download lasts what the stream takes (1.06 x
 * S/B, as the simulator measures at scale). */
static int run_rollout(const sim_config_t *c, const char *plan_path, uint32_t sick, bool json)
{
    char plan[1025];
    if (plan_path) {
        FILE *f = fopen(plan_path, "r");
        size_t n = f ? fread(plan, 1, sizeof plan - 1, f) : 0;
        if (f)
            fclose(f);
        if (!f || n == 0)
            return crow_cli_usage_error("sim", "--plan: cannot read %s", plan_path);
        plan[n] = '\0';
    } else {
        sim_rollout_default_plan(plan, sizeof plan, c->racks);
    }
    if (sick != UINT32_MAX && sick >= c->racks)
        return crow_cli_usage_error("sim", "--sick-rack: no rack %u", sick);
    double sb = (double)c->size * 8 / (double)c->rate_bps;
    sim_rollout_config_t rc = {.racks = c->racks,
                               .hosts_per_rack = c->hosts_per_rack,
                               .plan = plan,
                               .sick_rack = sick,
                               .download_ns = (uint64_t)(1.06 * sb * 1e9),
                               .activate_ns = SIM_NS,
                               .health_ns = 2 * SIM_NS,
                               .rtt_ns = 200000,
                               .limit_ns = c->limit_ns,
                               .seed = c->seed};
    sim_rollout_result_t r;
    double start = wall_s();
    int ret = sim_rollout_run(&rc, &r, json ? NULL : stdout);
    double wall = wall_s() - start;
    if (ret) {
        fprintf(stderr, "crowcast sim: rollout: %s\n", crow_strerror(ret));
        return CROW_EXIT_USAGE;
    }
    printf(json ? "{\"hosts\":%u,\"racks\":%u,\"state\":\"%s\",\"registered\":%u,\"refused\":%u,"
                  "\"activations\":%llu,\"healthy\":%u,\"failed\":%u,\"polls\":%llu,\"reports\":%llu,"
                  "\"records\":%llu,\"poll_ns\":%.0f,\"next_ns\":%.0f,\"poll_work\":%.2f,\"next_work\":%.2f,"
                  "\"sim_s\":%.3f,\"wall_s\":%.3f,"
                  "\"log_hash\":\"%016llx\"}\n"
                : "%u hosts in %u racks: rollout %s; %u registered, %u refused; %llu activations ordered, %u "
                  "healthy, %u failed\n  %llu polls, %llu reports, %llu records; %.0f ns a poll, %.0f ns a "
                  "decision step (wall), %.2f and %.2f steps of work; %.3f s simulated, %.2f s wall, event "
                  "log hash %016llx\n",
           c->racks * c->hosts_per_rack, c->racks, r.state, r.registered, r.refused,
           (unsigned long long)r.activations, r.healthy, r.failed, (unsigned long long)r.polls,
           (unsigned long long)r.reports, (unsigned long long)r.records, r.poll_ns, r.next_ns, r.poll_work,
           r.next_work, r.sim_s, wall, (unsigned long long)r.hash);
    return strcmp(r.state, "done") == 0 ? CROW_EXIT_OK : CROW_EXIT_FAIL;
}

static int parse_u32(const char *arg, uint32_t min, uint32_t *out)
{
    uint64_t v;
    if (!crow_parse_decimal(arg, strlen(arg), UINT32_MAX, &v) || v < min)
        return -1;
    *out = (uint32_t)v;
    return 0;
}

static int parse_seconds_ns(const char *arg, uint64_t *out)
{
    double s;
    if (crow_parse_seconds(arg, &s) || s < 0 || !isfinite(s))
        return -1;
    *out = (uint64_t)llround(s * 1e9);
    return 0;
}

int crow_cmd_sim(int argc, char **argv)
{
    static const struct option opts[] = {
        {"racks", required_argument, NULL, O_RACKS},
        {"hosts-per-rack", required_argument, NULL, O_HOSTS},
        {"size", required_argument, NULL, O_SIZE},
        {"piece-size", required_argument, NULL, O_PIECE},
        {"chunk-size", required_argument, NULL, O_CHUNK},
        {"rate", required_argument, NULL, O_RATE},
        {"mcast-rate", required_argument, NULL, O_MCAST_RATE},
        {"rack-uplink", required_argument, NULL, O_UPLINK},
        {"queue", required_argument, NULL, O_QUEUE},
        {"loss", required_argument, NULL, O_LOSS},
        {"start-order", required_argument, NULL, O_START},
        {"spread", required_argument, NULL, O_SPREAD},
        {"crash", required_argument, NULL, O_CRASH},
        {"seed-time", required_argument, NULL, O_SEED_TIME},
        {"limit", required_argument, NULL, O_LIMIT},
        {"seed", required_argument, NULL, O_SEED},
        {"hash", no_argument, NULL, O_HASH},
        {"log", required_argument, NULL, O_LOG},
        {"json", no_argument, NULL, O_JSON},
        {"property", required_argument, NULL, O_PROPERTY},
        {"property-seed", required_argument, NULL, O_PROPERTY_SEED},
        {"trace", required_argument, NULL, O_TRACE},
        {"fault", required_argument, NULL, O_FAULT},
        {"junk", required_argument, NULL, O_JUNK},
        {"rollout", no_argument, NULL, O_ROLLOUT},
        {"plan", required_argument, NULL, O_PLAN},
        {"sick-rack", required_argument, NULL, O_SICK},
        {"tracker-dark", no_argument, NULL, O_TRACKER_DARK},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    sim_config_t c;
    sim_config_default(&c);
    bool json = false, hash = false, rollout = false;
    const char *plan_path = NULL;
    uint32_t sick = UINT32_MAX;
    uint64_t prop = 0, prop_seed = 1, v;
    const char *log_path = NULL;
    int opt;
    optind = 1;
    int which = 0;
    while ((opt = getopt_long(argc, argv, "h", opts, &which)) != -1) {
        bool bad = false;
        switch (opt) {
        case O_RACKS:
            bad = parse_u32(optarg, 1, &c.racks);
            break;
        case O_HOSTS:
            bad = parse_u32(optarg, 1, &c.hosts_per_rack);
            break;
        case O_SIZE:
            bad = crow_parse_size(optarg, &c.size) || !c.size;
            break;
        case O_PIECE:
        case O_CHUNK:
            bad = crow_parse_size(optarg, &v) || !v || v > UINT32_MAX;
            *(opt == O_PIECE ? &c.piece_length : &c.chunk_size) = (uint32_t)v;
            break;
        case O_RATE:
            bad = crow_parse_rate(optarg, &c.rate_bps) || !c.rate_bps;
            break;
        case O_MCAST_RATE:
            bad = crow_parse_rate(optarg, &c.mcast_rate_bps) || !c.mcast_rate_bps;
            break;
        case O_UPLINK:
            bad = crow_parse_rate(optarg, &c.rack_uplink_bps) || !c.rack_uplink_bps;
            break;
        case O_QUEUE:
            bad = crow_parse_size(optarg, &c.host_queue_bytes);
            break;
        case O_LOSS:
            bad = sim_loss_parse(&c.loss, optarg) != 0;
            break;
        case O_START:
            bad = sim_start_parse(&c.start_order, optarg) != 0;
            break;
        case O_SPREAD:
            bad = parse_seconds_ns(optarg, &c.spread_ns);
            break;
        case O_CRASH:
            bad = c.crash_count == SIM_MAX_CRASHES || sim_crash_parse(&c.crashes[c.crash_count++], optarg);
            break;
        case O_SEED_TIME:
            bad = parse_seconds_ns(optarg, &c.seed_time_ns);
            break;
        case O_LIMIT:
            bad = parse_seconds_ns(optarg, &c.limit_ns);
            break;
        case O_SEED:
            bad = !crow_parse_decimal(optarg, strlen(optarg), UINT64_MAX, &c.seed);
            break;
        case O_HASH:
            hash = true;
            break;
        case O_LOG:
            log_path = optarg;
            break;
        case O_JSON:
            json = true;
            break;
        case O_PROPERTY:
            bad = !crow_parse_decimal(optarg, strlen(optarg), UINT32_MAX, &prop) || !prop;
            break;
        case O_TRACE:
            bad = parse_u32(optarg, 0, &c.trace_host);
            c.trace = stderr;
            break;
        case O_FAULT:
            c.fault_linger0 |= strcmp(optarg, "linger0") == 0;
            c.fault_junk |= strcmp(optarg, "junk") == 0;
            c.fault_two_heads |= strcmp(optarg, "two-heads") == 0;
            bad = strcmp(optarg, "linger0") && strcmp(optarg, "junk") && strcmp(optarg, "two-heads");
            break;
        case O_JUNK:
            bad = parse_seconds_ns(optarg, &c.junk_every_ns) || !c.junk_every_ns;
            break;
        case O_TRACKER_DARK:
            c.tracker_dark = true;
            break;
        case O_ROLLOUT:
            rollout = true;
            break;
        case O_PLAN:
            plan_path = optarg;
            break;
        case O_SICK:
            bad = parse_u32(optarg, 0, &sick);
            break;
        case O_PROPERTY_SEED:
            bad = !crow_parse_decimal(optarg, strlen(optarg), UINT64_MAX, &prop_seed);
            break;
        case 'h':
            usage(stdout);
            return CROW_EXIT_OK;
        default:
            return crow_cli_usage_error("sim", "unknown option");
        }
        if (bad)
            return crow_cli_usage_error("sim", "bad value for --%s: '%s'", opts[which].name, optarg);
    }
    if (optind < argc)
        return crow_cli_usage_error("sim", "unexpected argument '%s'", argv[optind]);
    /* The engines' own logs would stamp simulated events with the wall clock: errors only. */
    crow_log_set_level(CROW_LOG_ERROR);
    if (prop)
        return property(prop, prop_seed, &c);
    if (rollout)
        return run_rollout(&c, plan_path, sick, json);
    for (uint32_t i = 0; i < c.crash_count; i++)
        if (c.crashes[i].who == SIM_WHO_PEER && c.crashes[i].host >= c.racks * c.hosts_per_rack)
            return crow_cli_usage_error("sim", "--crash: no peer %u (there are %u)", c.crashes[i].host,
                                        c.racks * c.hosts_per_rack);
    if (c.loss.rack != UINT32_MAX && c.loss.rack >= c.racks)
        return crow_cli_usage_error("sim", "--loss: no rack %u", c.loss.rack);
    if (log_path && !(c.log = fopen(log_path, "w"))) {
        fprintf(stderr, "crowcast sim: %s: cannot write\n", log_path);
        return CROW_EXIT_IO;
    }
    double start = wall_s();
    sim_result_t r;
    int ret = sim_run(&c, &r);
    double wall = wall_s() - start;
    if (c.log)
        fclose(c.log);
    if (ret) {
        fprintf(stderr, "crowcast sim: %s\n", crow_strerror(ret));
        return ret == CROW_EUSAGE ? CROW_EXIT_USAGE : CROW_EXIT_IO;
    }
    print_result(&c, &r, wall, json, hash);
    return r.all_verified && !r.violation[0] ? CROW_EXIT_OK : CROW_EXIT_FAIL;
}
