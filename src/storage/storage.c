/* The storage front end: maps stream and piece ranges onto file segments and hands each segment
 * to the backend. */
#include <errno.h>

#include "backend.h"
#include "crowcast/error.h"
#include "crowcast/layout.h"

void crow_storage_close(crow_storage_t *s)
{
    if (s)
        s->ops->close(s);
}

const crow_manifest_t *crow_storage_manifest(const crow_storage_t *s)
{
    return s->m;
}

static int transfer(crow_storage_t *s, crow_layout_iter_t *it, uint8_t *buf, const uint8_t *src)
{
    crow_segment_t seg;
    while (crow_layout_next(it, &seg)) {
        int ret = src ? s->ops->write(s, seg.file, seg.offset, src, seg.length)
                      : s->ops->read(s, seg.file, seg.offset, buf, seg.length);
        if (ret < 0)
            return ret;
        if (src)
            src += seg.length;
        else
            buf += seg.length;
    }
    return 0;
}

int crow_storage_read(crow_storage_t *s, uint64_t pos, void *buf, size_t len)
{
    crow_layout_iter_t it;
    int ret = crow_layout_iter_init(&it, s->m, pos, len);
    return ret < 0 ? ret : transfer(s, &it, buf, NULL);
}

int crow_storage_write(crow_storage_t *s, uint64_t pos, const void *buf, size_t len)
{
    if (!s->writable)
        return -EBADF;
    crow_layout_iter_t it;
    int ret = crow_layout_iter_init(&it, s->m, pos, len);
    return ret < 0 ? ret : transfer(s, &it, NULL, buf);
}

int crow_storage_read_piece(crow_storage_t *s, uint32_t piece, uint32_t offset, void *buf, size_t len)
{
    crow_layout_iter_t it;
    int ret = crow_layout_iter_piece(&it, s->m, piece, offset, len);
    return ret < 0 ? ret : transfer(s, &it, buf, NULL);
}

int crow_storage_write_piece(crow_storage_t *s, uint32_t piece, uint32_t offset, const void *buf, size_t len)
{
    if (!s->writable)
        return -EBADF;
    crow_layout_iter_t it;
    int ret = crow_layout_iter_piece(&it, s->m, piece, offset, len);
    return ret < 0 ? ret : transfer(s, &it, NULL, buf);
}

int crow_storage_sync(crow_storage_t *s)
{
    return s->ops->sync(s);
}

int crow_storage_fd(crow_storage_t *s, uint32_t file)
{
    if (file >= s->m->file_count)
        return -EBADF;
    return s->ops->fd(s, file);
}

int crow_storage_file_error(crow_storage_t *s, uint32_t file, uint64_t *size)
{
    *size = 0;
    if (file >= s->m->file_count)
        return -EBADF;
    return s->ops->file_error(s, file, size);
}
