/* diag_replay FILE.pcap [WIRE_PORT]: feeds every record of a classic pcap file to crow_diag_stats_feed from a
 * heap buffer of exactly the record's captured length, so that a sanitizer build catches any read past a
 * frame (inside crowcast-diag, libpcap's large read buffer would hide such a read). Used by the diag_fuzz
 * test. Prints the number of frames fed; exits 0, or 3 when the file is not a pcap it can read to the
 * end (what was fed before the damage is still accounted). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "crowcast/diag_stats.h"

#define MAX_RECORD 262144u

static uint32_t get32(const uint8_t *p, int swapped)
{
    return swapped ? (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3]
                   : (uint32_t)p[3] << 24 | (uint32_t)p[2] << 16 | (uint32_t)p[1] << 8 | p[0];
}

int main(int argc, char **argv)
{
    if (argc != 2 && argc != 3) {
        fprintf(stderr, "usage: diag_replay FILE.pcap [WIRE_PORT]\n");
        return 2;
    }
    FILE *f = fopen(argv[1], "rb");
    if (!f)
        return 3;
    int ret = 3;
    uint64_t frames = 0;
    crow_diag_stats_t d;
    crow_diag_stats_config_t cfg = {
        .flows = {.wire_ports = {argc == 3 ? (uint16_t)atoi(argv[2]) : 6881}, .wire_port_count = 1}};
    if (crow_diag_stats_init(&d, &cfg) != 0) {
        fclose(f);
        return 3;
    }
    uint8_t head[24], rec[16];
    if (fread(head, 1, sizeof head, f) != sizeof head)
        goto out;
    uint32_t magic = get32(head, 0);
    int swapped = magic == 0xd4c3b2a1u || magic == 0x4d3cb2a1u;
    double frac = magic == 0xa1b23c4du || magic == 0x4d3cb2a1u ? 1e-9 : 1e-6;
    if (!swapped && magic != 0xa1b2c3d4u && magic != 0xa1b23c4du)
        goto out;
    int link = (int)(get32(head + 20, swapped) & 0xffffu);
    for (;;) {
        size_t n = fread(rec, 1, sizeof rec, f);
        if (n == 0) {
            ret = 0;
            break;
        }
        uint32_t incl = get32(rec + 8, swapped), orig = get32(rec + 12, swapped);
        if (n != sizeof rec || incl > MAX_RECORD)
            break;
        uint8_t *frame = malloc(incl ? incl : 1);
        if (!frame || fread(frame, 1, incl, f) != incl) {
            free(frame);
            break;
        }
        double ts = (double)get32(rec, swapped) + (double)get32(rec + 4, swapped) * frac;
        crow_diag_stats_feed(&d, link, frame, incl, orig, 0, ts);
        free(frame);
        frames++;
    }
out:
    printf("%llu frames\n", (unsigned long long)frames);
    crow_diag_stats_dispose(&d);
    fclose(f);
    return ret;
}
