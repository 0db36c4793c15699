/* bench_codec: the DATA datagram codec (include/crowcast/datagram.h) against the floor of handling
 * the same bytes without it, measured in the same run.
 *
 *   bench_codec [--seconds S] [--reps N] [--piece-length SIZE] [--chunk-size SIZE]
 *
 * The batch is every DATA datagram of one piece (default 1 MiB, the default piece length of a
 * 1 GiB release, in 1408-byte chunks: 745 datagrams, the last one short), each in its own slot of a
 * batch buffer, as a sender fills its send ring and a receiver its receive ring. Three kernels and
 * their baselines, each over the whole batch:
 *
 *   encode           crow_dgram_encode(): the 32-byte header field by field in network byte order,
 *                    then the payload copied in behind it.
 *   encode baseline  memcpy of the same 32 header bytes (encoded once, before timing) and the same
 *                    payload into the same slots. It writes exactly the bytes encode writes (checked),
 *                    so the ratio is what building the header costs over the copy any sender that
 *                    assembles a datagram in one buffer must make.
 *   header           crow_dgram_encode_header() alone, what the seeder does per datagram (its payload
 *                    goes to the kernel by iovec, straight from the read buffer).
 *   header baseline  memcpy of the same 32 pre-encoded header bytes into the same place.
 *   decode           crow_dgram_decode(), the session check and crow_dgram_check_data() against the
 *                    manifest: what crow_mcast_receiver_on_datagram() does before it takes a chunk.
 *   decode baseline  a plain copy of the 32 header bytes into a struct, no byte swapping and no
 *                    validation. Decoding leaves the payload where it is (a pointer into the
 *                    buffer), so the floor is reading the header, not copying the payload.
 *
 * Repetitions are interleaved (every kernel once per round) so load on this shared machine falls on
 * all of them alike; each reports the median ns/datagram over the rounds, and the ratio is crowcast's
 * datagrams/s over the baseline's (below 1: the baseline is a floor). Every result feeds a checksum
 * that is printed, and the batch buffers are declared clobbered between passes, so the compiler can
 * neither drop the work nor hoist it out of the timing loop. Before timing, the results are checked:
 * encode and its baseline produce identical bytes, every decode succeeds with the expected fields.
 *
 * Output: a table and one JSON line starting with {"bench":"codec".
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "crowcast/datagram.h"
#include "crowcast/error.h"
#include "crowcast/manifest.h"
#include "crowcast/units.h"

#define MAX_REPS 101
#define PIECES   4u /* the release: the batch is its piece PIECES - 1 */

/* Each kernel sits at an even index, its baseline right after it (k | 1). */
enum kernel { ENCODE, ENCODE_BASE, HEADER, HEADER_BASE, DECODE, DECODE_BASE, KERNELS };
static const char *const kernel_name[KERNELS] = {"encode",          "encode baseline", "header",
                                                 "header baseline", "decode",          "decode baseline"};
static const char *const kernel_key[KERNELS] = {"encode",          "encode_baseline", "header",
                                                "header_baseline", "decode",          "decode_baseline"};

typedef struct batch {
    size_t count;                              /* datagrams */
    size_t slot;                               /* bytes between datagrams in out */
    crow_dgram_t *in;                          /* what encode encodes */
    uint8_t (*headers)[CROW_DGRAM_HEADER_LEN]; /* the same headers, pre-encoded, for the baseline */
    uint8_t *payload;                          /* the piece's bytes */
    uint8_t *out;                              /* count slots of `slot` bytes */
    size_t *len;                               /* datagram size per slot */
    const crow_manifest_t *m;
} batch_t;

/* The raw header as the decode baseline reads it: the wire bytes, in wire order, unchecked. */
typedef struct raw_header {
    uint8_t magic[2], version, type, flags[2], length[2];
    uint64_t session, seq;
    uint32_t piece, offset;
} raw_header_t;
_Static_assert(sizeof(raw_header_t) == CROW_DGRAM_HEADER_LEN, "raw_header_t is the wire header");

/* Tells the compiler that memory at p may have been read and changed: stores before it must be
 * done, loads after it must be redone. */
static void clobber(const void *p)
{
    __asm__ __volatile__("" : : "r"(p) : "memory");
}

static double now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

/* One pass of kernel k over the batch; returns a checksum of what it produced. */
static uint64_t run_pass(const batch_t *b, enum kernel k)
{
    uint64_t sum = 0;
    clobber(b->out);
    for (size_t i = 0; i < b->count; i++) {
        uint8_t *slot = b->out + i * b->slot;
        switch (k) {
        case ENCODE:
            sum += (uint64_t)crow_dgram_encode(&b->in[i], slot, b->slot);
            break;
        case ENCODE_BASE:
            memcpy(slot, b->headers[i], CROW_DGRAM_HEADER_LEN);
            memcpy(slot + CROW_DGRAM_HEADER_LEN, b->in[i].payload, b->in[i].length);
            sum += CROW_DGRAM_HEADER_LEN + b->in[i].length;
            break;
        case HEADER:
            sum += (uint64_t)(crow_dgram_encode_header(slot, &b->in[i]) - slot);
            break;
        case HEADER_BASE:
            memcpy(slot, b->headers[i], CROW_DGRAM_HEADER_LEN);
            sum += CROW_DGRAM_HEADER_LEN;
            break;
        case DECODE: {
            crow_dgram_t d;
            int ret = crow_dgram_decode(slot, b->len[i], &d);
            if (ret == 0 && d.session != crow_dgram_session_of(b->m->release_id))
                ret = CROW_ESESSION;
            if (ret == 0)
                ret = crow_dgram_check_data(&d, b->m);
            sum += (uint64_t)ret + d.seq + d.piece + d.offset + d.length + (uint64_t)(d.payload - slot);
            break;
        }
        default: { /* DECODE_BASE */
            raw_header_t h;
            memcpy(&h, slot, sizeof h);
            sum += h.seq + h.piece + h.offset + h.length[0] + h.length[1] + h.type;
            break;
        }
        }
    }
    clobber(b->out);
    return sum;
}

/* A pass of the encoders and of decode, checked: the two encoders write the same bytes, decode accepts
 * every datagram with the fields it was given. Returns 0 or prints why and returns -1. */
static int check_batch(const batch_t *b)
{
    size_t bytes = b->count * b->slot;
    uint8_t *copy = malloc(bytes);
    if (!copy)
        return -1;
    run_pass(b, ENCODE_BASE);
    memcpy(copy, b->out, bytes);
    run_pass(b, ENCODE);
    int ret = 0;
    for (size_t i = 0; i < b->count && ret == 0; i++) {
        const crow_dgram_t *want = &b->in[i];
        const uint8_t *slot = b->out + i * b->slot;
        crow_dgram_t d;
        if (memcmp(copy + i * b->slot, slot, b->len[i]) != 0) {
            fprintf(stderr, "bench_codec: datagram %zu: encode and its baseline differ\n", i);
            ret = -1;
        } else if (crow_dgram_decode(slot, b->len[i], &d) != 0 || crow_dgram_check_data(&d, b->m) != 0 ||
                   d.seq != want->seq || d.piece != want->piece || d.offset != want->offset ||
                   d.length != want->length || memcmp(d.payload, want->payload, d.length) != 0) {
            fprintf(stderr, "bench_codec: datagram %zu does not decode to what was encoded\n", i);
            ret = -1;
        }
    }
    free(copy);
    return ret;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double median(double *v, int n)
{
    qsort(v, (size_t)n, sizeof *v, cmp_double);
    return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

static void usage(FILE *f)
{
    fprintf(f,
            "usage: bench_codec [--seconds S] [--reps N] [--piece-length SIZE] [--chunk-size SIZE]\n"
            "  --seconds S          total time budget, 0.05 .. 600 (default 2)\n"
            "  --reps N             rounds, each kernel once per round, 1 .. %d (default 7)\n"
            "  --piece-length SIZE  the batch is one piece of this size (default 1M)\n"
            "  --chunk-size SIZE    payload bytes per datagram (default %u)\n",
            MAX_REPS, CROW_DEFAULT_CHUNK_SIZE);
}

static int parse_args(int argc, char **argv, double *seconds, int *reps, uint64_t *piece, uint64_t *chunk)
{
    static const struct option opts[] = {{"seconds", required_argument, NULL, 's'},
                                         {"reps", required_argument, NULL, 'r'},
                                         {"piece-length", required_argument, NULL, 'p'},
                                         {"chunk-size", required_argument, NULL, 'c'},
                                         {"help", no_argument, NULL, 'h'},
                                         {NULL, 0, NULL, 0}};
    int c;
    char *end;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case 's':
            *seconds = strtod(optarg, &end);
            if (*end || !(*seconds >= 0.05 && *seconds <= 600))
                goto bad;
            break;
        case 'r':
            *reps = (int)strtol(optarg, &end, 10);
            if (*end || *reps < 1 || *reps > MAX_REPS)
                goto bad;
            break;
        case 'p':
            if (crow_parse_size(optarg, piece))
                goto bad;
            break;
        case 'c':
            if (crow_parse_size(optarg, chunk))
                goto bad;
            break;
        case 'h':
            usage(stdout);
            exit(0);
        default:
            goto bad;
        }
    }
    if (optind == argc)
        return 0;
bad:
    usage(stderr);
    return -1;
}

int main(int argc, char **argv)
{
    double seconds = 2;
    int reps = 7;
    uint64_t piece_length = 1u << 20, chunk_size = CROW_DEFAULT_CHUNK_SIZE;
    if (parse_args(argc, argv, &seconds, &reps, &piece_length, &chunk_size))
        return 2;
    if (piece_length > CROW_MAX_PIECE_LENGTH || chunk_size > CROW_MAX_CHUNK_SIZE ||
        chunk_size > piece_length) {
        fprintf(stderr,
                "bench_codec: piece length up to %u, chunk size up to %u and at most the piece length\n",
                CROW_MAX_PIECE_LENGTH, CROW_MAX_CHUNK_SIZE);
        return 2;
    }

    /* The release the datagrams claim to belong to: PIECES pieces; crow_manifest_layout checks the
     * piece length (a power of two in range) and the chunk size. */
    char name[] = "bench.bin";
    crow_manifest_file_t file = {.path = name, .length = PIECES * piece_length};
    crow_manifest_t m = {.name = name,
                         .single_file = true,
                         .file_count = 1,
                         .files = &file,
                         .piece_length = (uint32_t)piece_length,
                         .chunk_size = (uint32_t)chunk_size};
    for (unsigned i = 0; i < CROW_SHA256_LEN; i++)
        m.release_id[i] = (uint8_t)(0x5a ^ (i * 37));
    char why[200];
    if (crow_manifest_layout(&m, why, sizeof why) != 0) {
        fprintf(stderr, "bench_codec: piece length %llu / chunk size %llu: %s\n",
                (unsigned long long)piece_length, (unsigned long long)chunk_size, why);
        return 2;
    }

    batch_t b = {.count = crow_manifest_piece_chunks(&m, PIECES - 1),
                 .slot = CROW_DGRAM_HEADER_LEN + chunk_size,
                 .m = &m};
    b.in = calloc(b.count, sizeof *b.in);
    b.headers = calloc(b.count, sizeof *b.headers);
    b.payload = malloc(piece_length);
    b.out = calloc(b.count, b.slot);
    b.len = calloc(b.count, sizeof *b.len);
    if (!b.in || !b.headers || !b.payload || !b.out || !b.len) {
        fprintf(stderr, "bench_codec: out of memory\n");
        return 1;
    }
    uint64_t x = 0x9e3779b97f4a7c15u; /* payload: xorshift bytes, nothing a copy could shortcut */
    for (uint64_t i = 0; i < piece_length; i++) {
        x ^= x << 13, x ^= x >> 7, x ^= x << 17;
        b.payload[i] = (uint8_t)x;
    }
    for (size_t i = 0; i < b.count; i++) {
        uint32_t offset = (uint32_t)(i * chunk_size);
        uint32_t left = (uint32_t)piece_length - offset;
        b.in[i] = (crow_dgram_t){.type = CROW_DGRAM_DATA,
                                 .length = (uint16_t)(left < chunk_size ? left : chunk_size),
                                 .session = crow_dgram_session_of(m.release_id),
                                 .seq = 1000000 + i,
                                 .piece = PIECES - 1,
                                 .offset = offset,
                                 .payload = b.payload + offset};
        crow_dgram_encode_header(b.headers[i], &b.in[i]);
        b.len[i] = CROW_DGRAM_HEADER_LEN + b.in[i].length;
    }
    if (check_batch(&b))
        return 1;

    /* Calibrate: passes per timed repetition so that all of them fill the budget. */
    uint64_t checksum = 0;
    double t_pass = 0;
    for (int k = 0; k < KERNELS; k++) {
        double t0 = now_ns();
        checksum += run_pass(&b, (enum kernel)k);
        t_pass += now_ns() - t0;
    }
    long passes = (long)(seconds * 1e9 / reps / t_pass);
    if (passes < 1)
        passes = 1;

    double ns[KERNELS][MAX_REPS];
    for (int r = 0; r < reps; r++)
        for (int k = 0; k < KERNELS; k++) {
            double t0 = now_ns();
            for (long p = 0; p < passes; p++)
                checksum += run_pass(&b, (enum kernel)k);
            ns[k][r] = (now_ns() - t0) / ((double)passes * (double)b.count);
        }
    double med[KERNELS];
    for (int k = 0; k < KERNELS; k++)
        med[k] = median(ns[k], reps);

    printf("%-16s %12s %14s %14s\n", "kernel", "ns/datagram", "datagrams/s", "vs baseline");
    for (int k = 0; k < KERNELS; k++)
        printf("%-16s %12.2f %14.0f %14.3f\n", kernel_name[k], med[k], 1e9 / med[k], med[k | 1] / med[k]);
    printf("batch: %zu DATA datagrams of %llu-byte chunks (one %llu-byte piece); medians of %d rounds of "
           "%ld passes; checksum %016llx\n",
           b.count, (unsigned long long)chunk_size, (unsigned long long)piece_length, reps, passes,
           (unsigned long long)checksum);
    printf("{\"bench\":\"codec\",\"chunk_size\":%llu,\"piece_length\":%llu,\"batch\":%zu,\"reps\":%d,"
           "\"passes\":%ld",
           (unsigned long long)chunk_size, (unsigned long long)piece_length, b.count, reps, passes);
    for (int k = 0; k < KERNELS; k++) {
        printf(",\"%s_ns\":%.3f,\"%s_dps\":%.0f", kernel_key[k], med[k], kernel_key[k], 1e9 / med[k]);
        if (!(k & 1))
            printf(",\"%s_ratio\":%.3f", kernel_key[k], med[k | 1] / med[k]);
    }
    printf("}\n");
    free(b.in);
    free(b.headers);
    free(b.payload);
    free(b.out);
    free(b.len);
    return 0;
}
