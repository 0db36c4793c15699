/* Provided buffer rings for multishot receives (registered by hand: liburing 2.3 has no
 * io_uring_setup_buf_ring). */
#include <errno.h>
#include <stdlib.h>
#include <sys/mman.h>

#include "crowcast/loop.h"
#include "loop_internal.h"

struct crow_bufring {
    struct io_uring_buf_ring *ring; /* shared with the kernel, page aligned */
    size_t ring_bytes;
    uint8_t *buffers;
    unsigned count, size, mask;
    uint16_t group;
};

int crow_bufring_new(crow_loop_t *loop, crow_bufring_t **out, unsigned count, unsigned size, uint16_t group)
{
    if (count == 0 || (count & (count - 1)) || count > 32768)
        return -EINVAL;
    crow_bufring_t *br = calloc(1, sizeof *br);
    if (!br)
        return -ENOMEM;
    int ret = -ENOMEM;
    br->ring_bytes = count * sizeof(struct io_uring_buf);
    br->ring = mmap(NULL, br->ring_bytes, PROT_READ | PROT_WRITE, MAP_ANONYMOUS | MAP_PRIVATE, -1, 0);
    if (br->ring == MAP_FAILED) {
        br->ring = NULL;
        goto out;
    }
    br->buffers = malloc((size_t)count * size);
    if (!br->buffers)
        goto out;
    br->count = count;
    br->size = size;
    br->mask = (unsigned)io_uring_buf_ring_mask(count);
    br->group = group;
    io_uring_buf_ring_init(br->ring);
    struct io_uring_buf_reg reg = {
        .ring_addr = (unsigned long)br->ring, .ring_entries = count, .bgid = group};
    ret = io_uring_register_buf_ring(&loop->ring, &reg, 0);
    if (ret)
        goto out;
    for (unsigned i = 0; i < count; i++)
        io_uring_buf_ring_add(br->ring, br->buffers + (size_t)i * size, size, (unsigned short)i,
                              (int)br->mask, (int)i);
    io_uring_buf_ring_advance(br->ring, (int)count);
    *out = br;
    return 0;
out:
    if (br->ring)
        munmap(br->ring, br->ring_bytes);
    free(br->buffers);
    free(br);
    return ret;
}

void crow_bufring_free(crow_loop_t *loop, crow_bufring_t *br)
{
    if (!br)
        return;
    io_uring_unregister_buf_ring(&loop->ring, br->group);
    munmap(br->ring, br->ring_bytes);
    free(br->buffers);
    free(br);
}

void *crow_bufring_buffer(crow_bufring_t *br, unsigned id)
{
    return br->buffers + (size_t)(id & br->mask) * br->size;
}

unsigned crow_bufring_size(const crow_bufring_t *br)
{
    return br->size;
}

void crow_bufring_recycle(crow_bufring_t *br, unsigned id)
{
    io_uring_buf_ring_add(br->ring, crow_bufring_buffer(br, id), br->size, (unsigned short)id, (int)br->mask,
                          0);
    io_uring_buf_ring_advance(br->ring, 1);
}

int crow_io_recvmsg_multishot(crow_loop_t *loop, crow_op_t *op, int fd, struct msghdr *tmpl,
                              crow_bufring_t *br)
{
    struct io_uring_sqe *sqe = crow_loop_sqe(loop);
    if (!sqe)
        return -EBUSY;
    io_uring_prep_recvmsg_multishot(sqe, fd, tmpl, 0);
    sqe->flags |= IOSQE_BUFFER_SELECT;
    sqe->buf_group = br->group;
    crow_loop_arm(loop, op, sqe);
    return 0;
}
