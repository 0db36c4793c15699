/* The rollout agent (`crowcast agent`): a daemon on every host that long-polls the tracker for
 * orders of a staged rollout, downloads releases as `crowcast get` does, publishes each verified
 * release atomically under DIR/<name>/<release id>/, activates, checks health and rolls back when
 * told, and reports every step. The protocol is docs of issue 9 (agent_proto.h).
 *
 * Layout under DIR:
 *   DIR/.crowcast-agent                   state: current and previous release per name, unsent reports
 *   DIR/<name>/<id>/<name>                a verified release (the manifest's top entry, as get -o
 *                                         publishes it); appears by one rename, never partially
 *   DIR/<name>/current -> <id>            the default activation: a symlink switched atomically
 *   DIR/<name>/.crowcast/<id>.torrent     the release's manifest, as the tracker served it
 *   DIR/<name>/.crowcast/<id>/            get's output directory while downloading (staging inside:
 *                                         a restarted agent resumes from it)
 */
#ifndef CROWCAST_AGENT_H
#define CROWCAST_AGENT_H

#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>

#include "crowcast/control_auth.h"

/* Exit codes of `crowcast agent`. */
enum crow_agent_exit {
    CROW_AGENT_OK = 0,    /* stopped by SIGINT or SIGTERM */
    CROW_AGENT_USAGE = 2, /* bad arguments, or a state file that does not decode */
    CROW_AGENT_IO = 3,    /* DIR unusable, io_uring unavailable */
};

struct crow_keyring;

/* The children the agent runs, in its own terms; the CLI spells them as arguments of `crowcast get`
 * and `crowcast verify` (the config's get_argv / verify_argv, next to those commands' option tables),
 * so the agent knows no flag name. Strings stay the caller's; NULL leaves an option out. */
struct crow_agent_get_args {
    const char *exe, *torrent, *out; /* get TORRENT --output OUT, always --json (the agent reads it) */
    const char *tracker, *iface;
    const char *seed_time;                /* seconds, as text */
    const char *previous, *previous_path; /* both or neither */
    const char *log_level, *trust, *tls_ca, *mcast_key;
};
struct crow_agent_verify_args {
    const char *exe, *torrent, *data; /* verify TORRENT DATA, quietly */
    const char *trust;
};
/* Each writes a NULL-terminated argv of at most cap entries (the NULL counted) and returns 0,
 * CROW_ESPACE, or CROW_EUSAGE when the command has lost an option the agent relies on. */
typedef int crow_agent_get_argv_fn(char **argv, size_t cap, const struct crow_agent_get_args *g);
typedef int crow_agent_verify_argv_fn(char **argv, size_t cap, const struct crow_agent_verify_args *v);

struct crow_agent_config {
    const char *tracker;   /* http://A.B.C.D:PORT (the agent endpoints and /announce live there) */
    const char *dir;       /* DIR */
    const char *rack;      /* sent with every poll, or NULL (the tracker's racks file decides first) */
    const char *host;      /* host name the tracker knows us by */
    struct in_addr iface;  /* source address of every connection; get joins multicast on it */
    const char *activate;  /* sh -c command, or NULL: switch DIR/<name>/current */
    const char *health;    /* sh -c command, or NULL: healthy */
    double seed_time;      /* get --seed-time: keep serving neighbours after publishing */
    double hook_timeout;   /* seconds an activate or health command may run before it is killed */
    unsigned poll_wait;    /* seconds the tracker may hold a poll (<= 30) */
    const char *exe;       /* the crowcast executable for get/verify children (/proc/self/exe) */
    const char *log_level; /* passed on to children, or NULL */
    /* --trust: a release is downloaded, verified or activated only when one of these keys signed
     * it (release_sig.h); trust_path (absolute) is handed to the get and verify children, which
     * check again. NULL: any release */
    const struct crow_keyring *trust;
    const char *trust_path;
    /* --tls-ca (absolute), handed to the get children for an https tracker, or NULL */
    const char *tls_ca;
    const char *mcast_key; /* get --mcast-key FILE, passed on to every get, or NULL (get's default) */
    bool json;             /* machine-readable events on stdout, one JSON object a line */
    const crow_control_auth_key_t *key; /* signs polls and reports (an agent identity named host), or NULL */
    crow_agent_get_argv_fn *get_argv;   /* spells a get child's arguments (the CLI's) */
    crow_agent_verify_argv_fn *verify_argv; /* spells a verify child's arguments (the CLI's) */
};

/* Runs until SIGINT or SIGTERM. Returns a crow_agent_exit code. */
int crow_agent_run(const struct crow_agent_config *cfg);

#endif
