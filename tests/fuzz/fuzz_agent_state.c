/* The agent's state file (DIR/.crowcast-agent; damaged by a crash or a careless hand): any bytes are
 * refused or decode to a state that encodes to bytes decoding to the same state. */
#include "crowcast/agent_state.h"
#include "crowcast/error.h"
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static crow_agent_state_t s, again;
    static uint8_t buf[CROW_AGENT_STATE_MAX], buf2[CROW_AGENT_STATE_MAX];
    const char *why = NULL;
    int ret = crow_agent_state_decode(data, size, &s, &why);
    if (ret != 0) {
        FUZZ_ASSERT((ret == CROW_EPARSE || ret == CROW_ELIMIT) && why != NULL);
        return 0;
    }
    FUZZ_ASSERT(s.release_count <= CROW_AGENT_MAX_NAMES && s.outbox_count <= CROW_AGENT_MAX_OUTBOX);
    for (uint32_t i = 0; i < s.release_count; i++)
        FUZZ_ASSERT(crow_agent_name_valid(s.releases[i].name));
    long len = crow_agent_state_encode(&s, buf, sizeof buf);
    FUZZ_ASSERT(len > 0);
    FUZZ_ASSERT(crow_agent_state_decode(buf, (size_t)len, &again, &why) == 0);
    FUZZ_ASSERT(crow_agent_state_encode(&again, buf2, sizeof buf2) == len &&
                memcmp(buf, buf2, (size_t)len) == 0);
    return 0;
}
