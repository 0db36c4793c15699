/* The in-memory storage backend: the whole release in one zero-filled buffer. For tests. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "backend.h"
#include "crowcast/error.h"

struct memory_storage {
    struct crow_storage base;
    uint8_t *bytes; /* total_length bytes, the release stream */
};

static uint8_t *at(crow_storage_t *s, uint32_t file, uint64_t offset)
{
    return ((struct memory_storage *)s)->bytes + s->m->files[file].offset + offset;
}

static int mem_read(crow_storage_t *s, uint32_t file, uint64_t offset, void *buf, size_t len)
{
    memcpy(buf, at(s, file, offset), len);
    return 0;
}

static int mem_write(crow_storage_t *s, uint32_t file, uint64_t offset, const void *buf, size_t len)
{
    memcpy(at(s, file, offset), buf, len);
    return 0;
}

static int mem_sync(crow_storage_t *s)
{
    (void)s;
    return 0;
}

static int mem_fd(crow_storage_t *s, uint32_t file)
{
    (void)s;
    (void)file;
    return CROW_EUNSUPPORTED;
}

static int mem_file_error(crow_storage_t *s, uint32_t file, uint64_t *size)
{
    *size = s->m->files[file].length;
    return 0;
}

static void mem_close(crow_storage_t *s)
{
    free(((struct memory_storage *)s)->bytes);
    free(s);
}

static const struct crow_storage_ops memory_ops = {
    .read = mem_read,
    .write = mem_write,
    .sync = mem_sync,
    .fd = mem_fd,
    .file_error = mem_file_error,
    .close = mem_close,
};

int crow_storage_open_memory(crow_storage_t **out, const crow_manifest_t *m)
{
    if (m->total_length > SIZE_MAX - 1)
        return -ENOMEM;
    struct memory_storage *ms = calloc(1, sizeof *ms);
    if (!ms)
        return -ENOMEM;
    /* +1 so an empty release still gets a valid pointer. */
    ms->bytes = calloc((size_t)m->total_length + 1, 1);
    if (!ms->bytes) {
        free(ms);
        return -ENOMEM;
    }
    ms->base.ops = &memory_ops;
    ms->base.m = m;
    ms->base.writable = true;
    *out = &ms->base;
    return 0;
}
