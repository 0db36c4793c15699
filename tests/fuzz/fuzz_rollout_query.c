/* The tracker's decoders of rollout and agent queries (/agent/poll, /agent/report, /rollout/start:
 * from anyone who reaches the tracker): the same query goes to each. Every value they keep is
 * NUL-terminated within its field, and a poll's release id is empty or 64 hex digits. */
#include "crowcast/agent_proto.h"
#include "crowcast/error.h"
#include "crowcast/rollout_query.h"
#include "fuzz.h"

#define TERMINATED(field) (memchr((field), '\0', sizeof(field)) != NULL)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static crow_poll_query_t poll;
    static crow_report_query_t report;
    static crow_start_query_t start;
    crow_http_str_t q = {(const char *)data, size};
    const char *why = NULL;
    if (crow_poll_query_parse(q, &poll, &why) == 0) {
        FUZZ_ASSERT(TERMINATED(poll.host) && TERMINATED(poll.rack) && poll.wait_s <= CROW_POLL_WAIT_MAX);
        FUZZ_ASSERT(poll.current[0] == '\0' || crow_agent_release_valid(poll.current));
    } else {
        FUZZ_ASSERT(why != NULL);
    }
    if (crow_report_query_parse(q, &report, &why) == 0)
        FUZZ_ASSERT(TERMINATED(report.host) && TERMINATED(report.detail));
    if (crow_start_query_parse(q, &start, &why) == 0)
        FUZZ_ASSERT(TERMINATED(start.torrent) && TERMINATED(start.plan) && start.torrent[0] == '/');
    char value[16];
    int ret = crow_query_value(q, "host", value, sizeof value);
    FUZZ_ASSERT(ret == 0 || ret == 1 || ret == CROW_EPARSE || ret == CROW_ELIMIT);
    return 0;
}
