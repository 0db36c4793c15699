/* Shared by the libFuzzer harnesses (tests/fuzz/fuzz_*.c): the entry point's prototype, a check that
 * crashes on a broken invariant, and a reader that cuts one input into records. Each record is copied
 * into a heap block of exactly its size, so ASan flags a read even one byte past it (libFuzzer's own
 * buffer is exact-size too, but a harness that splits it would otherwise hand out interior pointers). */
#ifndef CROWCAST_FUZZ_H
#define CROWCAST_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* An invariant the code under test promises (a round trip, a bound): a crash when it does not hold. */
#define FUZZ_ASSERT(cond)                                                                                    \
    do {                                                                                                     \
        if (!(cond)) {                                                                                       \
            fprintf(stderr, "%s:%d: invariant failed: %s\n", __FILE__, __LINE__, #cond);                     \
            abort();                                                                                         \
        }                                                                                                    \
    } while (0)

typedef struct fuzz_input {
    const uint8_t *pos;
    size_t left;
} fuzz_input_t;

static inline fuzz_input_t fuzz_input(const uint8_t *data, size_t size)
{
    return (fuzz_input_t){data, size};
}

/* The next byte, 0 once the input is used up. */
static inline uint8_t fuzz_byte(fuzz_input_t *in)
{
    if (in->left == 0)
        return 0;
    in->left--;
    return *in->pos++;
}

/* The next record: a 2-byte little-endian length (cut to what is left), then that many bytes, copied
 * into a fresh malloc of exactly that size (the caller frees it). NULL once the input is used up. */
static inline uint8_t *fuzz_record(fuzz_input_t *in, size_t *len)
{
    if (in->left == 0)
        return NULL;
    size_t n = fuzz_byte(in);
    n |= (size_t)fuzz_byte(in) << 8;
    if (n > in->left)
        n = in->left;
    uint8_t *copy = malloc(n ? n : 1);
    if (!copy)
        abort();
    memcpy(copy, in->pos, n);
    in->pos += n;
    in->left -= n;
    *len = n;
    return copy;
}

#endif
