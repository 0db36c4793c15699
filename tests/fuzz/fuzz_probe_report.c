/* Probe records (a receiver's /probe/report query at the tracker, /probe/results lines at the
 * sender): any text is refused, or decodes to a record that encodes to text decoding to the same. */
#include "crowcast/error.h"
#include "crowcast/probe_report.h"
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *text = (const char *)data;
    char buf[1024];
    crow_probe_report_t r, r2;
    if (crow_probe_report_decode(text, size, &r) == 0) {
        FUZZ_ASSERT(r.step < CROW_PROBE_MAX_STEPS && r.received <= r.expected);
        long len = crow_probe_report_encode(&r, buf, sizeof buf);
        FUZZ_ASSERT(len > 0 && crow_probe_report_decode(buf, (size_t)len, &r2) == 0);
        FUZZ_ASSERT(memcmp(&r, &r2, sizeof r) == 0);
    }
    uint16_t run, step;
    crow_probe_report_results_decode(text, size, &run, &step);
    crow_probe_report_line_t l, l2;
    memset(&l, 0, sizeof l);
    memset(&l2, 0, sizeof l2);
    if (crow_probe_report_line_decode(text, size, &l) == 0) {
        FUZZ_ASSERT(l.kind == CROW_PROBE_REPORT_LINE_RECEIVER || l.kind == CROW_PROBE_REPORT_LINE_REPORT);
        FUZZ_ASSERT(crow_rack_name_valid(l.rack, strlen(l.rack)));
        long len = crow_probe_report_line_encode(&l, buf, sizeof buf);
        FUZZ_ASSERT(len > 0 && buf[len - 1] == '\n');
        FUZZ_ASSERT(crow_probe_report_line_decode(buf, (size_t)len - 1, &l2) == 0);
        FUZZ_ASSERT(l2.kind == l.kind && l2.host == l.host && strcmp(l2.rack, l.rack) == 0);
    }
    return 0;
}
