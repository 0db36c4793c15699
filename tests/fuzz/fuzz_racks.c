/* Racks file parser (the tracker's map of addresses to racks): any text is refused with a line and a
 * reason, or gives racks that are found by their own names and prefixes that map their own network
 * address to a rack that has it (the longest prefix wins). */
#include "crowcast/error.h"
#include "crowcast/racks.h"
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static crow_racks_t r;
    crow_racks_error_t err;
    int ret = crow_racks_parse(&r, (const char *)data, size, &err);
    if (ret != 0) {
        FUZZ_ASSERT((ret == CROW_EPARSE || ret == CROW_ELIMIT) && err.text[0] != '\0');
        FUZZ_ASSERT(r.count == 0 && r.prefix_count == 0);
        return 0;
    }
    FUZZ_ASSERT(r.count <= CROW_RACKS_MAX && r.prefix_count <= CROW_RACK_PREFIXES_MAX);
    for (uint32_t i = 0; i < r.count; i++) {
        FUZZ_ASSERT(crow_racks_find(&r, r.racks[i].name, strlen(r.racks[i].name)) == i);
        FUZZ_ASSERT((r.racks[i].group >> 28) == 0xe && r.racks[i].port > 0);
    }
    for (uint32_t i = 0; i < r.prefix_count; i++) {
        const struct crow_rack_prefix *p = &r.prefixes[i];
        FUZZ_ASSERT(p->rack < r.count && (p->net & ~p->mask) == 0);
        uint32_t rack = crow_racks_lookup(&r, p->net);
        FUZZ_ASSERT(rack < r.count && crow_racks_get(&r, rack) != NULL);
        uint32_t resolved;
        FUZZ_ASSERT(crow_racks_resolve(&r, p->net, NULL, &resolved) == 0 && resolved == rack);
        crow_racks_resolve(&r, p->net, r.racks[p->rack].name, &resolved);
    }
    return 0;
}
