/* Hand-built manifests for the storage tests: a release from a list of file paths and lengths,
 * with offsets, piece count and (optionally) hashes filled in as crow_manifest_parse would. */
#ifndef CROWCAST_TEST_RELEASE_FIXTURE_H
#define CROWCAST_TEST_RELEASE_FIXTURE_H

#include <stdlib.h>
#include <string.h>

#include "crowcast/manifest.h"

struct fixture_file {
    const char *path;
    uint64_t length;
};

/* Fills *m (owning copies of everything; release with crow_manifest_dispose or fixture_free).
 * name NULL gives "release". A single entry with single_file true is a single-file release. */
static inline void fixture_manifest(crow_manifest_t *m, const char *name, bool single_file,
                                    const struct fixture_file *files, uint32_t n, uint32_t piece_length)
{
    memset(m, 0, sizeof *m);
    m->name = strdup(name ? name : "release");
    m->single_file = single_file;
    m->piece_length = piece_length;
    m->chunk_size = 1024;
    m->file_count = n;
    m->files = calloc(n ? n : 1, sizeof *m->files);
    for (uint32_t i = 0; i < n; i++) {
        m->files[i].path = strdup(files[i].path);
        m->files[i].length = files[i].length;
        m->files[i].offset = m->total_length;
        m->total_length += files[i].length;
    }
    m->piece_count = (uint32_t)((m->total_length + piece_length - 1) / piece_length);
    for (int i = 0; i < 32; i++)
        m->release_id[i] = (uint8_t)(0xa0 + i);
}

static inline void fixture_free(crow_manifest_t *m)
{
    for (uint32_t i = 0; i < m->file_count; i++)
        free(m->files[i].path);
    free(m->files);
    free(m->name);
    free(m->announce);
    free(m->sha1);
    free(m->sha256);
    memset(m, 0, sizeof *m);
}

#endif
