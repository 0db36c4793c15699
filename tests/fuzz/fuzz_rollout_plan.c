/* Rollout plan parser (a plan travels in /rollout/start and in the journal): any text is refused with
 * a line and a reason, or gives waves within the limits that assign a set of racks (the plan's own
 * names plus a few others) to waves that exist. */
#include "crowcast/error.h"
#include "crowcast/rollout_plan.h"
#include "fuzz.h"

#define OTHER_RACKS 6u

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static crow_rollout_plan_t plan;
    static char racks[CROW_PLAN_MAX_NAMED + OTHER_RACKS][CROW_RACK_NAME_MAX + 1];
    static uint32_t wave_of[CROW_PLAN_MAX_NAMED + OTHER_RACKS];
    crow_rollout_plan_error_t err;
    int ret = crow_rollout_plan_parse(&plan, (const char *)data, size, &err);
    if (ret != 0) {
        FUZZ_ASSERT((ret == CROW_EPARSE || ret == CROW_ELIMIT) && err.text[0] != '\0');
        FUZZ_ASSERT(memchr(err.text, '\0', sizeof err.text) != NULL);
        return 0;
    }
    FUZZ_ASSERT(plan.wave_count >= 1 && plan.wave_count <= CROW_PLAN_MAX_WAVES);
    FUZZ_ASSERT(plan.named_count <= CROW_PLAN_MAX_NAMED);
    for (uint32_t w = 0; w < plan.wave_count; w++) {
        const crow_rollout_plan_wave_t *wave = &plan.waves[w];
        FUZZ_ASSERT(wave->healthy_pct >= 1 && wave->healthy_pct <= 100 && wave->max_failures >= 1);
        FUZZ_ASSERT(wave->first_named + wave->named_count <= plan.named_count);
    }
    uint32_t n = 0;
    for (uint32_t i = 0; i < plan.named_count; i++) {
        FUZZ_ASSERT(crow_rack_name_valid(plan.named[i], strlen(plan.named[i])));
        memcpy(racks[n++], plan.named[i], sizeof racks[0]);
    }
    for (uint32_t i = 0; i < OTHER_RACKS && i < (size ? data[0] % (OTHER_RACKS + 1) : 0); i++)
        snprintf(racks[n++], sizeof racks[0], "zz-other-%u", i);
    if (crow_rollout_plan_assign(&plan, (const char(*)[CROW_RACK_NAME_MAX + 1]) racks, n, wave_of, &err) == 0)
        for (uint32_t i = 0; i < n; i++)
            FUZZ_ASSERT(wave_of[i] == UINT32_MAX || wave_of[i] < plan.wave_count);
    return 0;
}
