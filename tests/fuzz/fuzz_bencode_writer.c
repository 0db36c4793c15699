/* Bencode writer driven by a sequence of calls (what the writers of handshakes, announces, answers and
 * state files do with values that come from peers: rack names, client strings, details). Whatever the
 * sequence, the writer never writes past its buffer; when it reports success, the bytes are one
 * canonical bencode value that the strict decoder accepts whole; when it reports CROW_ESPACE, a buffer
 * of the size it asked for takes the same sequence. Each call is an opcode byte (op & 7) and, for
 * strings and keys, a length (op >> 3) of bytes that follow; the first byte sizes the buffer. */
#include "crowcast/bencode.h"
#include "crowcast/error.h"
#include "fuzz.h"

#define NODES 1024u

static long write_all(const uint8_t *ops, size_t n, uint8_t *buf, size_t cap, size_t *needed)
{
    crow_bencode_writer_t e;
    crow_bencode_writer_init(&e, buf, cap);
    fuzz_input_t in = fuzz_input(ops, n);
    char key[32];
    while (in.left > 0) {
        uint8_t op = fuzz_byte(&in);
        size_t len = op >> 3 < in.left ? op >> 3 : in.left;
        switch (op & 7u) {
        case 0:
            crow_bencode_put_int(&e, (int64_t)(int8_t)op * (op & 0x80 ? INT64_C(72057594037927935) : 1));
            break;
        case 1:
            crow_bencode_put_str(&e, in.pos, len);
            in.pos += len;
            in.left -= len;
            break;
        case 2: /* a key: text without NUL */
            memcpy(key, in.pos, len);
            key[len] = '\0';
            in.pos += len;
            in.left -= len;
            crow_bencode_put_key(&e, key);
            break;
        case 3:
            crow_bencode_open_list(&e);
            break;
        case 4:
            crow_bencode_open_dict(&e);
            break;
        case 5:
        case 6:
            crow_bencode_close(&e);
            break;
        default:
            crow_bencode_put_raw(&e, "i7e", 3);
            break;
        }
    }
    FUZZ_ASSERT(e.len <= cap || e.err != 0);
    *needed = e.len;
    return crow_bencode_finish(&e);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static crow_bencode_node_t nodes[NODES];
    if (size == 0)
        return 0;
    size_t cap = (size_t)data[0] * 4u, needed;
    uint8_t *buf = malloc(cap ? cap : 1);
    if (!buf)
        abort();
    long len = write_all(data + 1, size - 1, buf, cap, &needed);
    if (len == CROW_ESPACE) {
        /* Key order is not checked past the end of the buffer: the retry may find it wrong. */
        free(buf);
        cap = needed;
        buf = malloc(cap ? cap : 1);
        if (!buf)
            abort();
        len = write_all(data + 1, size - 1, buf, cap, &needed);
        FUZZ_ASSERT(len != CROW_ESPACE);
    }
    if (len >= 0) {
        FUZZ_ASSERT((size_t)len == needed && (size_t)len <= cap);
        crow_bencode_doc_t doc;
        crow_bencode_error_t err;
        int ret = crow_bencode_decode(buf, (size_t)len, nodes, NODES, &doc, &err);
        FUZZ_ASSERT(ret == 0 || ret == CROW_ELIMIT);
    }
    free(buf);
    return 0;
}
