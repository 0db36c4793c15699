/* The agent's decoders of the tracker's answers (/agent/poll and /agent/report bodies): any bytes are
 * refused, or give an order whose release id and name are safe to use as they are (64 hex digits, one
 * path component): a hostile tracker cannot make the agent write outside its directory. */
#include "crowcast/agent_proto.h"
#include "crowcast/error.h"
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    crow_agent_order_t order;
    const char *why = NULL;
    int ret = crow_agent_order_decode(data, size, &order, &why);
    if (ret == 0) {
        FUZZ_ASSERT(order.order == CROW_ORDER_NONE || order.rollout > 0);
        FUZZ_ASSERT(order.release[0] == '\0' || crow_agent_release_valid(order.release));
        FUZZ_ASSERT(order.order == CROW_ORDER_NONE || crow_agent_name_valid(order.name));
        FUZZ_ASSERT(order.interval <= CROW_AGENT_INTERVAL_MAX);
    } else if (ret == CROW_EPROTO) {
        FUZZ_ASSERT(memchr(order.failure, '\0', sizeof order.failure) != NULL);
    } else {
        FUZZ_ASSERT(ret == CROW_EPARSE && why != NULL);
    }
    char failure[64];
    ret = crow_agent_ack_decode(data, size, failure, sizeof failure);
    FUZZ_ASSERT(ret == 0 || ret == CROW_EPARSE ||
                (ret == CROW_EPROTO && memchr(failure, '\0', sizeof failure)));
    return 0;
}
