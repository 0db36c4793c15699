/* `crowcast rollout`: the operator's side of staged rollouts: one request to the tracker's /rollout/...
 * endpoints per command (through the loop's HTTP client), its answer printed. */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "../app/common/auth_file.h"
#include "../app/common/http_client.h"
#include "commands.h"
#include "crowcast/error.h"
#include "crowcast/event.h"
#include "crowcast/http.h"
#include "crowcast/rollout_plan.h"
#include "crowcast/units.h"

#define RESPONSE_MAX (32u * 1024 * 1024) /* a status of thousands of hosts */
#define TARGET_MAX   8192

static const char usage[] =
    "usage: crowcast rollout COMMAND [options] [--tracker URL]\n"
    "\n"
    "Stages a release rack by rack through the tracker's rollout coordinator (the tracker runs with\n"
    "--state DIR; every host runs `crowcast agent`).\n"
    "\n"
    "commands:\n"
    "  start TORRENT --plan FILE [--distribute all|per-wave]\n"
    "                         start a rollout of the release TORRENT describes. The tracker reads\n"
    "                         TORRENT itself (its absolute path is sent): it must see the same file\n"
    "                         at that path; it keeps a copy in its state directory. FILE is the plan\n"
    "                         (at most 1024 bytes, see below). --distribute all (default) sends the\n"
    "                         bits to every rack at once while activation follows the waves; per-wave\n"
    "                         sends them to a wave's racks when the wave starts\n"
    "  status [--json] [--watch[=S]]\n"
    "                         the rollout per wave and rack, with the coordinator's decisions and their\n"
    "                         reasons; --json: the tracker's JSON; --watch: again every S seconds\n"
    "                         (default 2; write --watch=5, not --watch 5) until the rollout is done,\n"
    "                         halted, aborted or rolled back. --json lists every registered host per\n"
    "                         rack, also before the first rollout (the text does not)\n"
    "  pause                  order no more activations (orders already given stand); a no-op when\n"
    "                         paused\n"
    "  resume                 go on after a pause; a no-op when running\n"
    "  abort                  stop the rollout for good; hosts keep what they run\n"
    "  rollback [--reason TEXT]\n"
    "                         hosts told to activate go back to their previous release, wave by wave\n"
    "                         from the last one started down to the canary\n"
    "\n"
    "options:\n"
    "  --tracker URL          the tracker: http[s]://ADDR:PORT, with or without /announce (default:\n"
    "                         the CROWCAST_TRACKER environment variable)\n" CROW_CLI_USAGE_TLS_CA
    "  --timeout S            seconds to wait for the tracker (default 10)\n"
    "  --key FILE             your control-plane key: one 'operator NAME SECRET' line (crowcast token\n"
    "                         new operator NAME); signs every request (default: the CROWCAST_KEY\n"
    "                         environment variable). A tracker with --auth refuses unsigned state\n"
    "                         changes; status needs it only from a tracker with --closed-reads\n"
    "\n"
    "Plan file, one directive a line ('#' comments):\n"
    "  defaults OPTION...          options for the following waves\n"
    "  canary RACK [OPTION...]     the first wave: one rack\n"
    "  wave SELECTION [OPTION...]  RACK[,RACK...], N% of the racks no wave names, or rest\n"
    "  options: healthy=P% (default 100) failures=N (halt at N failed hosts, default 1)\n"
    "           soak=T (N, Ns, Nm, Nh; default 0) parallel=N (activations at once, default no limit)\n"
    "\n"
    "Exit status: 0 done, 1 refused by the tracker now (e.g. resume when aborted: HTTP 409; a missing\n"
    "or bad signature: 401; a key not allowed this: 403), 2 bad usage, plan or torrent (HTTP 400;\n"
    "plan errors name their line), 3 tracker unreachable or another system error.\n";

struct call {
    crow_loop_t *loop;
    int err, status;
    char *body;
    size_t len;
};

/* Control bytes other than newline and tab become '?': what the tracker (or whoever answers in its
 * place) says must not drive the terminal. */
static void make_printable(char *s, size_t len)
{
    for (size_t i = 0; i < len; i++)
        if (((unsigned char)s[i] < ' ' && s[i] != '\n' && s[i] != '\t') || s[i] == 0x7f)
            s[i] = '?';
}

static void on_response(void *ctx, int err, const crow_http_response_t *res)
{
    struct call *call = ctx;
    call->err = err;
    if (!err) {
        call->status = res->status;
        call->body = malloc(res->body_len + 1);
        if (call->body) {
            memcpy(call->body, res->body, res->body_len);
            call->body[res->body_len] = '\0';
            call->len = res->body_len;
            make_printable(call->body, call->len);
        } else {
            call->err = -ENOMEM;
        }
    }
    crow_loop_stop(call->loop, 0);
}

struct tracker {
    const char *url;
    struct crow_http_client_server server;
    char prefix[256]; /* the URL's path without /announce */
    double timeout;
    const crow_control_auth_key_t *key; /* signs every request, or NULL */
};

/* One request: fills *call (status and a NUL-terminated body to free) or returns the error. */
static int request(const struct tracker *t, const char *method, const char *target, struct call *call)
{
    crow_http_client_t *client = NULL;
    *call = (struct call){0};
    int ret = crow_loop_new(&call->loop, 8);
    if (ret)
        return ret;
    if (!(ret = crow_http_client_new(&client, call->loop, RESPONSE_MAX, on_response, call)) &&
        !(ret = crow_http_client_request(client, &t->server, (struct in_addr){0}, method, target, t->key,
                                         t->timeout))) {
        ret = crow_loop_run(call->loop);
        ret = ret < 0 ? ret : call->err;
    }
    crow_http_client_free(client);
    crow_loop_drain(call->loop, 1000000000ull);
    crow_loop_free(call->loop);
    if (ret) {
        free(call->body);
        call->body = NULL;
    }
    return ret;
}

/* Prints the tracker's refusal and maps the status to an exit code. */
static int refused(const char *cmd, const struct call *call, const char *plan_path)
{
    char why[1024];
    if (!crow_event_get_str(call->body, call->len, "error", why, sizeof why))
        snprintf(why, sizeof why, "HTTP %d: %.200s", call->status, call->body);
    make_printable(why, strlen(why)); /* JSON escapes (\u001b) come back raw from the decoder */
    if (plan_path && strncmp(why, "plan: ", 6) == 0)
        fprintf(stderr, "crowcast rollout %s: %s: %s\n", cmd, plan_path, why + 6);
    else
        fprintf(stderr, "crowcast rollout %s: tracker: %s\n", cmd, why);
    return call->status == 400 ? CROW_EXIT_USAGE : call->status < 500 ? CROW_EXIT_FAIL : CROW_EXIT_IO;
}

/* Sends target (a POST unless it is the status); on success leaves the answer in *call (free
 * call->body), else returns the exit code. */
static int ask(const char *cmd, const struct tracker *t, const char *target, struct call *call,
               const char *plan_path)
{
    int ret = request(t, strcmp(cmd, "status") ? "POST" : "GET", target, call);
    if (ret) {
        fprintf(stderr, "crowcast rollout %s: cannot reach the tracker at %s: %s\n", cmd, t->url,
                crow_strerror(ret));
        return CROW_EXIT_IO;
    }
    if (call->status != 200) {
        ret = refused(cmd, call, plan_path);
        free(call->body);
        return ret;
    }
    return CROW_EXIT_OK;
}

/* "<prefix>/rollout/<path>" into buf. */
static int make_target(char *buf, size_t cap, const struct tracker *t, const char *path)
{
    int n = snprintf(buf, cap, "%s/rollout/%s", t->prefix, path);
    return n > 0 && (size_t)n < cap ? 0 : CROW_ESPACE;
}

/* Appends "?key=value" (or "&key=value") with value percent-encoded; nothing when value is NULL. */
static int add_param(char *buf, size_t cap, const char *key, const char *value)
{
    static char enc[4 * PATH_MAX];
    if (!value)
        return 0;
    if (crow_http_pct_encode((const uint8_t *)value, strlen(value), enc, sizeof enc) < 0)
        return CROW_ESPACE;
    size_t len = strlen(buf);
    int n = snprintf(buf + len, cap - len, "%s%s=%s", strchr(buf, '?') ? "&" : "?", key, enc);
    return n > 0 && (size_t)n < cap - len ? 0 : CROW_ESPACE;
}

static int read_plan(const char *path, char *out, size_t cap)
{
    FILE *f = fopen(path, "r");
    if (!f) {
        fprintf(stderr, "crowcast rollout start: %s: %s\n", path, strerror(errno));
        return CROW_EXIT_USAGE;
    }
    size_t n = fread(out, 1, cap, f);
    fclose(f);
    if (n >= cap) {
        fprintf(stderr, "crowcast rollout start: %s: larger than %u bytes\n", path, CROW_PLAN_MAX_TEXT);
        return CROW_EXIT_USAGE;
    }
    out[n] = '\0';
    if (strlen(out) != n) {
        fprintf(stderr, "crowcast rollout start: %s: not a text file\n", path);
        return CROW_EXIT_USAGE;
    }
    return 0;
}

static int cmd_start(const struct tracker *t, const char *torrent, const char *plan_path,
                     const char *distribute)
{
    static char plan[CROW_PLAN_MAX_TEXT + 1], url[TARGET_MAX];
    char abs[PATH_MAX];
    int ret;
    if (!realpath(torrent, abs)) {
        fprintf(stderr, "crowcast rollout start: %s: %s\n", torrent, strerror(errno));
        return CROW_EXIT_USAGE;
    }
    if ((ret = read_plan(plan_path, plan, sizeof plan)))
        return ret;
    if (make_target(url, sizeof url, t, "start") || add_param(url, sizeof url, "torrent", abs) ||
        add_param(url, sizeof url, "plan", plan) || add_param(url, sizeof url, "distribute", distribute))
        return crow_cli_usage_error("rollout", "torrent path and plan too long for one request");
    struct call call;
    if ((ret = ask("start", t, url, &call, plan_path)))
        return ret;
    char release[80] = "", name[256] = "", state[32] = "";
    double id = 0, waves = 0;
    crow_event_get_num(call.body, call.len, "rollout", &id);
    crow_event_get_num(call.body, call.len, "waves", &waves);
    crow_event_get_str(call.body, call.len, "release", release, sizeof release);
    crow_event_get_str(call.body, call.len, "name", name, sizeof name);
    crow_event_get_str(call.body, call.len, "state", state, sizeof state);
    make_printable(name, strlen(name));
    make_printable(release, strlen(release));
    make_printable(state, strlen(state));
    printf("rollout %.0f: %s (release %.12s) in %.0f wave(s), %s\n", id, name, release, waves, state);
    printf("follow it with: crowcast rollout status --watch\n");
    free(call.body);
    return CROW_EXIT_OK;
}

static volatile sig_atomic_t interrupted;
static void on_interrupt(int signo)
{
    (void)signo;
    interrupted = 1;
}

static bool finished(const char *state)
{
    static const char *const ends[] = {"idle", "done", "halted", "aborted", "rolled-back"};
    for (size_t i = 0; i < sizeof ends / sizeof ends[0]; i++)
        if (strcmp(state, ends[i]) == 0)
            return true;
    return false;
}

static int cmd_status(const struct tracker *t, bool json, double watch)
{
    char url[512];
    if (make_target(url, sizeof url, t, "status?format=json"))
        return CROW_EXIT_USAGE;
    size_t json_len = strlen(url), text_len = json_len - strlen("?format=json");
    if (watch > 0) {
        signal(SIGINT, on_interrupt);
        signal(SIGTERM, on_interrupt);
    }
    for (;;) {
        struct call call;
        char state[32] = "";
        url[json ? json_len : text_len] = '\0';
        int ret = ask("status", t, url, &call, NULL);
        if (ret)
            return ret;
        if (watch > 0 && !json && isatty(STDOUT_FILENO))
            fputs("\033[H\033[J", stdout);
        fwrite(call.body, 1, call.len, stdout);
        fflush(stdout);
        free(call.body);
        if (watch <= 0 || interrupted)
            return CROW_EXIT_OK;
        /* The state comes from the JSON form (the text one is for people). */
        url[text_len] = '?';
        if ((ret = ask("status", t, url, &call, NULL)))
            return ret;
        crow_event_get_str(call.body, call.len, "state", state, sizeof state);
        free(call.body);
        if (finished(state))
            return CROW_EXIT_OK;
        struct timespec ts = {.tv_sec = (time_t)watch,
                              .tv_nsec = (long)((watch - (double)(time_t)watch) * 1e9)};
        nanosleep(&ts, NULL);
        if (interrupted)
            return CROW_EXIT_OK;
    }
}

static int cmd_control(const struct tracker *t, const char *verb, const char *reason)
{
    char url[TARGET_MAX];
    if (make_target(url, sizeof url, t, verb) || add_param(url, sizeof url, "reason", reason))
        return crow_cli_usage_error("rollout", "--reason too long");
    struct call call;
    int ret = ask(verb, t, url, &call, NULL);
    if (ret)
        return ret;
    char state[32] = "";
    double id = 0;
    crow_event_get_str(call.body, call.len, "state", state, sizeof state);
    crow_event_get_num(call.body, call.len, "rollout", &id);
    make_printable(state, strlen(state));
    printf("rollout %.0f: %s\n", id, state);
    free(call.body);
    return CROW_EXIT_OK;
}

static int tracker_url(struct tracker *t, const char *url)
{
    if (!url || !url[0])
        return crow_cli_usage_error("rollout", "no tracker: give --tracker URL or set CROWCAST_TRACKER");
    t->url = url;
    if (crow_http_client_parse_server(url, &t->server))
        return crow_cli_usage_error("rollout", "--tracker wants http[s]://ADDR:PORT[/announce], not '%s'",
                                    url);
    size_t n = strlen(t->server.path);
    static const char announce[] = "/announce";
    if (n >= sizeof announce - 1 && strcmp(t->server.path + n - (sizeof announce - 1), announce) == 0)
        n -= sizeof announce - 1;
    while (n && t->server.path[n - 1] == '/')
        n--;
    snprintf(t->prefix, sizeof t->prefix, "%.*s", (int)n, t->server.path);
    return 0;
}

int crow_cmd_rollout(int argc, char **argv)
{
    enum { O_TIMEOUT = 256, O_PLAN, O_DISTRIBUTE, O_WATCH, O_REASON };
    static const struct option opts[] = {
        CROW_CLI_OPTION_TRACKER,
        {"timeout", required_argument, 0, O_TIMEOUT},
        {"plan", required_argument, 0, O_PLAN},
        {"distribute", required_argument, 0, O_DISTRIBUTE},
        CROW_CLI_OPTION_JSON,
        {"watch", optional_argument, 0, O_WATCH},
        {"reason", required_argument, 0, O_REASON},
        CROW_CLI_OPTION_KEY,
        CROW_CLI_OPTION_TLS_CA,
        {"help", no_argument, 0, 'h'},
        {0, 0, 0, 0},
    };
    if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 ||
        strcmp(argv[1], "help") == 0) {
        fputs(usage, argc < 2 ? stderr : stdout);
        return argc < 2 ? CROW_EXIT_USAGE : CROW_EXIT_OK;
    }
    const char *cmd = argv[1], *plan = NULL, *distribute = "all", *reason = NULL;
    struct tracker t = {.timeout = 10};
    struct crow_cli_shared sh;
    crow_cli_shared_init(&sh);
    double watch = 0;
    int c, err;
    optind = 1;
    while ((c = getopt_long(argc - 1, argv + 1, "h", opts, NULL)) != -1) {
        switch (c) {
        case 'h':
            fputs(usage, stdout);
            return CROW_EXIT_OK;
        case O_TIMEOUT:
            if (crow_parse_seconds(optarg, &t.timeout) || t.timeout <= 0)
                return crow_cli_usage_error("rollout", "--timeout wants positive seconds");
            break;
        case O_PLAN:
            plan = optarg;
            break;
        case O_DISTRIBUTE:
            if (strcmp(optarg, "all") && strcmp(optarg, "per-wave"))
                return crow_cli_usage_error("rollout", "--distribute wants all or per-wave");
            distribute = optarg;
            break;
        case O_WATCH:
            watch = 2;
            if (optarg && (crow_parse_seconds(optarg, &watch) || watch < 0.1 || watch > 3600))
                return crow_cli_usage_error("rollout", "--watch wants 0.1 to 3600 seconds");
            break;
        case O_REASON:
            reason = optarg;
            break;
        default:
            if ((err = crow_cli_opt_shared("rollout", c, optarg, &sh)))
                return err;
        }
    }
    const char *url = sh.tracker ? sh.tracker : getenv("CROWCAST_TRACKER");
    const char *key_path = sh.key ? sh.key : getenv("CROWCAST_KEY");
    bool json = sh.json;
    bool is_start = strcmp(cmd, "start") == 0, is_status = strcmp(cmd, "status") == 0;
    bool is_control =
        !strcmp(cmd, "pause") || !strcmp(cmd, "resume") || !strcmp(cmd, "abort") || !strcmp(cmd, "rollback");
    if (!is_start && !is_status && !is_control)
        return crow_cli_usage_error("rollout",
                                    "no command '%s' (start, status, pause, resume, abort, rollback)", cmd);
    int args = argc - 1 - optind;
    if (is_start && args != 1)
        return crow_cli_usage_error("rollout", "start wants one TORRENT");
    if (!is_start && args)
        return crow_cli_usage_error("rollout", "%s takes no argument, got '%s'%s", cmd, argv[1 + optind],
                                    is_status && watch > 0 ? " (an interval goes --watch=S)" : "");
    if ((plan || strcmp(distribute, "all")) && !is_start)
        return crow_cli_usage_error("rollout", "--plan and --distribute go with start");
    if ((json || watch > 0) && !is_status)
        return crow_cli_usage_error("rollout", "--json and --watch go with status");
    if (reason && strcmp(cmd, "rollback"))
        return crow_cli_usage_error("rollout", "--reason goes with rollback");
    if (is_start && !plan)
        return crow_cli_usage_error("rollout", "start wants --plan FILE");
    int ret = tracker_url(&t, url);
    if (ret)
        return ret;
    static crow_control_auth_key_t key;
    if (key_path && key_path[0]) {
        if ((ret = crow_cli_opt_auth_key("rollout", key_path, &key)))
            return ret;
        t.key = &key;
    }
    if (is_start)
        return cmd_start(&t, argv[1 + optind], plan, distribute);
    if (is_status)
        return cmd_status(&t, json, watch);
    return cmd_control(&t, cmd, reason);
}
