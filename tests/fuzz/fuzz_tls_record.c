/* TLS sessions fed hostile ciphertext, in records (any split). The first byte picks the victim: a
 * server meeting a stranger's first flight (0), a client whose hello was answered by the input (1), or
 * a server after a real handshake with an in-memory client, getting the input as records (2). Whatever
 * arrives: reads return plaintext within their buffer, CROW_EMORE, CROW_ECLOSED or CROW_ETLS (and a
 * failed session stays failed, with a reason), and neither buffer ever holds more than CROW_TLS_BUF. */
#include "../unit/tls_fixture.h"
#include "crowcast/error.h"
#include "crowcast/tls_session.h"
#include "fuzz.h"

static struct tls_fixture_ctx ctx;

static void init_once(void)
{
    if (ctx.server)
        return;
    struct tls_fixture fx;
    tls_fixture_make(&fx);
    FUZZ_ASSERT(tls_fixture_contexts(&fx, &ctx) == 0);
    tls_fixture_free(&fx);
}

/* Sends what a holds to b (as far as b takes it). */
static void transfer(crow_tls_session_t *a, crow_tls_session_t *b)
{
    const uint8_t *p;
    size_t n;
    while ((n = crow_tls_session_out_peek(a, &p))) {
        size_t taken = crow_tls_session_feed(b, p, n);
        crow_tls_session_out_consume(a, taken);
        if (taken < n)
            break;
    }
}

/* Reads until the session waits; checks every verdict. Returns true once it failed. */
static bool drain(crow_tls_session_t *s)
{
    uint8_t buf[512];
    for (int i = 0; i < 64; i++) {
        long r = crow_tls_session_read(s, buf, sizeof buf);
        FUZZ_ASSERT(r == CROW_EMORE || r == CROW_ECLOSED || r == CROW_ETLS ||
                    (r > 0 && r <= (long)sizeof buf));
        if (r == CROW_ETLS) {
            FUZZ_ASSERT(crow_tls_session_why(s)[0] != '\0');
            FUZZ_ASSERT(crow_tls_session_read(s, buf, sizeof buf) == CROW_ETLS);
            return true;
        }
        if (r <= 0)
            break;
    }
    long w = crow_tls_session_write(s, (const uint8_t *)"HTTP/1.1 200 OK\r\n\r\n", 19);
    FUZZ_ASSERT(w == 0 || w == 19 || w == CROW_ETLS);
    FUZZ_ASSERT(crow_tls_session_out_pending(s) <= CROW_TLS_BUF);
    return false;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    init_once();
    fuzz_input_t in = fuzz_input(data, size);
    uint8_t mode = fuzz_byte(&in) % 3;
    crow_tls_session_t *victim = NULL, *helper = NULL;
    if (mode == 1) {
        FUZZ_ASSERT(crow_tls_session_new(&victim, ctx.client, "127.0.0.1") == 0);
        FUZZ_ASSERT(crow_tls_session_handshake(victim) == CROW_EMORE);
    } else {
        FUZZ_ASSERT(crow_tls_session_new(&victim, ctx.server, NULL) == 0);
    }
    if (mode == 2) {
        FUZZ_ASSERT(crow_tls_session_new(&helper, ctx.client, "127.0.0.1") == 0);
        for (int i = 0; i < 8 && !(crow_tls_session_ready(helper) && crow_tls_session_ready(victim)); i++) {
            crow_tls_session_handshake(helper);
            transfer(helper, victim);
            crow_tls_session_handshake(victim);
            transfer(victim, helper);
        }
        FUZZ_ASSERT(crow_tls_session_ready(victim));
    }
    uint8_t *rec;
    size_t len;
    bool dead = false;
    while (!dead && (rec = fuzz_record(&in, &len))) {
        /* Drop whatever the victim answers: the attacker does not read it. */
        const uint8_t *p;
        size_t n;
        while ((n = crow_tls_session_out_peek(victim, &p)))
            crow_tls_session_out_consume(victim, n);
        size_t taken = crow_tls_session_feed(victim, rec, len);
        FUZZ_ASSERT(taken <= len && taken <= CROW_TLS_BUF);
        dead = drain(victim);
        free(rec);
    }
    crow_tls_session_free(helper);
    crow_tls_session_free(victim);
    return 0;
}
