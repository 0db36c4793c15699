/* A rollout as an operator starts it (/rollout/start: a torrent, so a release name from anyone's
 * manifest, and a plan) and as the agents then hear of it: whenever the coordinator accepts the start,
 * the poll answer that orders a host to download that release must decode at the agent, with the same
 * name and release. A release the agents cannot take would leave every wave distributing forever. The
 * input is a record with the manifest's name, then the plan. */
#include "crowcast/agent_proto.h"
#include "crowcast/error.h"
#include "crowcast/manifest.h"
#include "crowcast/racks.h"
#include "crowcast/rollout.h"
#include "crowcast/rollout_query.h"
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const char release[] = "abababababababababababababababababababababababababababababababab";
    static const char racks_text[] =
        "rack r1 10.0.1.0/24 239.9.0.1:7001\nrack r2 10.0.2.0/24 239.9.0.2:7001\n";
    static crow_racks_t racks;
    static crow_rollout_t *r;
    static crow_jrec_t rec;
    static char name[CROW_MAX_NAME + 1], plan[CROW_PLAN_MAX_TEXT + 1];
    static uint8_t answer[2048];
    crow_racks_error_t rerr;
    if (!r &&
        (crow_rollout_new(&r) != 0 || crow_racks_parse(&racks, racks_text, sizeof racks_text - 1, &rerr)))
        abort();
    fuzz_input_t in = fuzz_input(data, size);
    size_t len;
    uint8_t *rec_name = fuzz_record(&in, &len);
    if (!rec_name)
        return 0;
    size_t n = strnlen((const char *)rec_name, len < sizeof name ? len : sizeof name - 1);
    memcpy(name, rec_name, n);
    name[n] = '\0';
    free(rec_name);
    n = in.left < sizeof plan ? in.left : sizeof plan - 1;
    memcpy(plan, in.pos, n);
    plan[strnlen(plan, n)] = '\0';
    /* The tracker starts only what its manifest parser took: the name is one safe path component. */
    if (crow_manifest_check_path(name, strlen(name)) != 0 || strchr(name, '/'))
        return 0;
    crow_rollout_plan_error_t err;
    if (crow_rollout_prepare_start(r, release, name, "/srv/crowcast/app.torrent",
                                   plan[0] ? plan : "wave rest\n", &racks, CROW_DISTRIBUTE_ALL, 1000, &rec,
                                   &err) != 0) {
        FUZZ_ASSERT(err.text[0] != '\0');
        return 0;
    }
    long alen = crow_poll_answer_encode(answer, sizeof answer, CROW_ORDER_DOWNLOAD, rec.rollout, rec.release,
                                        rec.name, 30);
    FUZZ_ASSERT(alen > 0);
    crow_agent_order_t order;
    const char *why = NULL;
    int ret = crow_agent_order_decode(answer, (size_t)alen, &order, &why);
    if (ret != 0)
        fprintf(stderr, "the agent refuses the order for release \"%s\": %s\n", name, why ? why : "?");
    FUZZ_ASSERT(ret == 0 && order.order == CROW_ORDER_DOWNLOAD && order.rollout == rec.rollout);
    FUZZ_ASSERT(strcmp(order.name, name) == 0 && strcmp(order.release, release) == 0);
    return 0;
}
