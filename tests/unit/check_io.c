/* io: the io_uring loop with real sockets on loopback: timers, TCP echo through the buffered
 * connection (plain and TLS), a TLS peer refused, multicast on 127.0.0.1 through both receive paths
 * (multishot and fallback), sync_file_range. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "crowcast/ipv4.h"
#include "crowcast/error.h"
#include "crowcast/loop.h"
#include "crowcast/tcp.h"
#include "crowcast/udp.h"
#include "tls_fixture.h"
#include "check_main.h"

static crow_loop_t *new_loop(void)
{
    crow_loop_t *loop = NULL;
    int ret = crow_loop_new(&loop, 256);
    if (ret == -ENOSYS || ret == -EPERM) {
        fprintf(stderr, "io_uring unavailable here: %s\n", crow_strerror(ret));
        exit(77);
    }
    ck_assert_int_eq(ret, 0);
    return loop;
}

static int fired;
static void on_timer(crow_op_t *op, int res, unsigned flags)
{
    (void)flags;
    ck_assert_int_eq(res, -ETIME);
    fired++;
    if (fired == 2)
        crow_loop_stop(op->owner, 7);
}

START_TEST(test_timers_fire_in_order_and_stop)
{
    crow_loop_t *loop = new_loop();
    crow_op_t a, b;
    crow_op_init(&a, on_timer, loop);
    crow_op_init(&b, on_timer, loop);
    uint64_t start = crow_loop_now(loop);
    fired = 0;
    ck_assert_int_eq(crow_io_timeout(loop, &a, 20 * 1000000ull), 0);
    ck_assert_int_eq(crow_io_timeout(loop, &b, 40 * 1000000ull), 0);
    ck_assert_int_eq(crow_loop_run(loop), 7);
    ck_assert_int_eq(fired, 2);
    ck_assert_uint_ge(crow_loop_now(loop) - start, 40 * 1000000ull);
    crow_loop_free(loop);
}
END_TEST

/* TCP: a client sends 1 MiB in odd-sized writes; the server echoes; the client checks every byte. */
struct echo {
    crow_loop_t *loop;
    crow_tcp_listener_t *listener;
    crow_tcp_conn_t *server, *client;
    uint8_t *data;
    size_t total, sent, checked;
    int closes, secured, client_err, server_err;
    struct crow_tcp_config server_cfg;
};

/* TLS contexts for the TLS rounds: a server certificate for 127.0.0.1, a client trusting its CA. */
static struct tls_fixture fx;
static struct tls_fixture_ctx tls;

static void tls_setup(void)
{
    tls_fixture_make(&fx);
    ck_assert_int_eq(tls_fixture_contexts(&fx, &tls), 0);
}

static void tls_teardown(void)
{
    tls_fixture_contexts_free(&tls);
    tls_fixture_free(&fx);
}

static void on_secure(void *ctx, crow_tcp_conn_t *c)
{
    (void)c;
    struct echo *e = ctx;
    e->secured++;
}

static long server_data(void *ctx, crow_tcp_conn_t *c, const uint8_t *data, size_t len)
{
    (void)ctx;
    size_t n = len < crow_tcp_out_space(c) ? len : crow_tcp_out_space(c);
    ck_assert_int_eq(crow_tcp_write(c, data, n), 0);
    return (long)n;
}

static void server_close(void *ctx, crow_tcp_conn_t *c, int err)
{
    (void)c;
    struct echo *e = ctx;
    e->server_err = err;
    e->closes++;
    crow_tcp_listener_close(e->listener);
}

static void pump(struct echo *e)
{
    while (e->sent < e->total) {
        size_t n = 777 + e->sent % 5000;
        if (n > e->total - e->sent)
            n = e->total - e->sent;
        if (crow_tcp_write(e->client, e->data + e->sent, n) != 0)
            return;
        e->sent += n;
    }
}

static void client_connect(void *ctx, crow_tcp_conn_t *c, int res)
{
    (void)c;
    ck_assert_int_eq(res, 0);
    pump(ctx);
}

static long client_data(void *ctx, crow_tcp_conn_t *c, const uint8_t *data, size_t len)
{
    struct echo *e = ctx;
    ck_assert(memcmp(data, e->data + e->checked, len) == 0);
    e->checked += len;
    if (e->checked == e->total)
        crow_tcp_close(c);
    return (long)len;
}

static void client_drain(void *ctx, crow_tcp_conn_t *c)
{
    (void)c;
    pump(ctx);
}

static void client_close(void *ctx, crow_tcp_conn_t *c, int err)
{
    (void)c;
    struct echo *e = ctx;
    e->client_err = err;
}

static void on_accepted(void *ctx, int fd, const struct sockaddr_in *peer)
{
    struct echo *e = ctx;
    ck_assert_int_ge(fd, 0);
    ck_assert_str_eq(inet_ntoa(peer->sin_addr), "127.0.0.2");
    static const struct crow_tcp_handlers h = {
        .on_data = server_data, .on_close = server_close, .on_secure = on_secure};
    ck_assert_int_eq(crow_tcp_adopt(e->loop, &e->server, fd, &e->server_cfg, &h, e), 0);
}

/* Runs one echo of total bytes; mode 0: plain, 1: TLS, 2: TLS with a client that trusts another CA. */
static void echo_round(struct echo *e, int mode)
{
    struct crow_tcp_config client_cfg = {.in_cap = 64 * 1024, .out_cap = 64 * 1024};
    e->server_cfg = client_cfg;
    if (mode) {
        e->server_cfg.tls = tls.server;
        client_cfg.tls = mode == 1 ? tls.client : tls.stranger;
    }
    struct sockaddr_in any = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    ck_assert_int_eq(crow_tcp_listen(e->loop, &e->listener, &any, 16, on_accepted, e), 0);
    struct sockaddr_in from = {.sin_family = AF_INET};
    inet_pton(AF_INET, "127.0.0.2", &from.sin_addr);
    static const struct crow_tcp_handlers h = {.on_connect = client_connect,
                                               .on_data = client_data,
                                               .on_drain = client_drain,
                                               .on_close = client_close,
                                               .on_secure = on_secure};
    ck_assert_int_eq(
        crow_tcp_connect(e->loop, &e->client, &from, crow_tcp_listener_addr(e->listener), &client_cfg, &h, e),
        0);
    ck_assert_int_eq(crow_loop_run(e->loop), 0);
}

START_TEST(test_tcp_echo_with_backpressure)
{
    struct echo e = {.loop = new_loop(), .total = 1 << 20};
    e.data = malloc(e.total);
    for (size_t i = 0; i < e.total; i++)
        e.data[i] = (uint8_t)(i * 7 + i / 251);
    echo_round(&e, _i);
    ck_assert_uint_eq(e.checked, e.total);
    ck_assert_int_eq(e.closes, 1);
    ck_assert_int_eq(e.server_err, CROW_ECLOSED);
    ck_assert_int_eq(e.client_err, 0);
    ck_assert_int_eq(e.secured, _i ? 2 : 0); /* both ends, once each */
    free(e.data);
    crow_loop_free(e.loop);
}
END_TEST

START_TEST(test_tls_refused)
{
    /* A client that does not trust the server's CA: both ends close with CROW_ETLS, nothing delivered. */
    struct echo e = {.loop = new_loop(), .total = 4096};
    e.data = calloc(1, e.total);
    echo_round(&e, 2);
    ck_assert_int_eq(e.client_err, CROW_ETLS);
    ck_assert_int_eq(e.server_err, CROW_ETLS); /* the client's alert said why */
    ck_assert_uint_eq(e.checked, 0);
    ck_assert_int_eq(e.secured, 0);
    free(e.data);
    crow_loop_free(e.loop);
}
END_TEST

/* Multicast on loopback: 200 datagrams of mixed sizes, sent in GSO batches, all received in order,
 * one by one whatever the receive path (with UDP GRO a batch arrives in one buffer). */
struct mc {
    crow_loop_t *loop;
    crow_udp_rx_t *rx;
    unsigned received;
    uint64_t bytes;
};

static void on_datagram(void *ctx, const uint8_t *data, size_t len, const struct sockaddr_in *from)
{
    struct mc *m = ctx;
    ck_assert_str_eq(inet_ntoa(from->sin_addr), "127.0.0.1");
    ck_assert_uint_ge(len, 4);
    uint32_t seq;
    memcpy(&seq, data, 4);
    ck_assert_uint_eq(seq, m->received);
    ck_assert_uint_eq(len, seq % 20 == 19 ? 100 + seq / 20 : 1000); /* batch b ends with 100 + b bytes */
    m->received++;
    m->bytes += len;
    if (m->received == 200)
        crow_loop_stop(m->loop, 0);
}

static void on_sent(crow_op_t *op, int res, unsigned flags)
{
    (void)op;
    (void)flags;
    ck_assert_int_gt(res, 0);
}

static void multicast_round(bool fallback, bool gro)
{
    struct mc m = {.loop = new_loop()};
    if (fallback)
        crow_loop_disable_features(m.loop,
                                   &(struct crow_loop_features){.multishot_recv = true, .udp_gso = true});
    struct crow_udp_rx_config rc = {.rcvbuf = 4 << 20, .buffers = 64, .buffer_size = 2048, .gro = gro};
    ck_assert_int_eq(crow_ipv4_parse_sockaddr("239.255.77.1:34567", &rc.group), 0);
    ck_assert_int_eq(crow_ipv4_parse_in("127.0.0.1", &rc.iface), 0);
    ck_assert_int_eq(crow_udp_rx_open(m.loop, &m.rx, &rc, on_datagram, &m), 0);
    crow_udp_tx_t *tx;
    struct crow_udp_tx_config tc = {.iface = rc.iface, .ttl = 1, .loop = true};
    ck_assert_int_eq(crow_udp_tx_open(m.loop, &tx, &tc), 0);
    ck_assert(crow_udp_tx_gso(tx) == !fallback);
    static uint8_t buf[10][20 * 1000];
    static crow_op_t ops[10];
    for (uint32_t b = 0; b < 10; b++) {
        size_t len = 19 * 1000 + 100 + b; /* 19 full datagrams and a short last one */
        for (uint32_t d = 0; d < 20; d++) {
            uint32_t seq = b * 20 + d;
            memcpy(buf[b] + d * 1000, &seq, 4);
        }
        crow_op_init(&ops[b], on_sent, NULL);
        ck_assert_int_eq(crow_udp_tx_send(tx, &ops[b], &rc.group, buf[b], len, 1000), 0);
    }
    ck_assert_int_eq(crow_loop_run(m.loop), 0);
    ck_assert_uint_eq(m.received, 200);
    struct crow_udp_rx_stats st;
    crow_udp_rx_get_stats(m.rx, &st);
    ck_assert(st.multishot == !fallback);
    ck_assert(st.gro == (gro && !fallback)); /* GRO needs the multishot's large buffers */
    if (!st.gro)
        ck_assert_uint_eq(st.gro_buffers, 0);
    ck_assert_uint_eq(st.datagrams, 200);
    ck_assert_uint_eq(st.kernel_drops, 0);
    ck_assert_uint_eq(st.bytes, m.bytes);
    crow_udp_rx_close(m.rx);
    while (crow_loop_inflight(m.loop))
        crow_loop_run(m.loop);
    crow_udp_tx_close(tx);
    crow_loop_free(m.loop);
}

START_TEST(test_multicast_multishot)
{
    multicast_round(false, false);
}
END_TEST

START_TEST(test_multicast_fallback)
{
    multicast_round(true, false);
    multicast_round(true, true);
}
END_TEST

START_TEST(test_multicast_gro)
{
    multicast_round(false, true);
}
END_TEST

/* With UDP GRO, a buffer holding a run of datagrams longer than buffer_size counts each of them as
 * truncated, as a buffer of buffer_size would have; a single datagram too, and the ones that fit
 * are still taken whole. */
struct mc_trunc {
    crow_loop_t *loop;
    unsigned received;
    size_t lens[8];
};

static void on_trunc_datagram(void *ctx, const uint8_t *data, size_t len, const struct sockaddr_in *from)
{
    (void)data;
    (void)from;
    struct mc_trunc *t = ctx;
    if (t->received < 8)
        t->lens[t->received] = len;
    if (++t->received == 3)
        crow_loop_stop(t->loop, 0);
}

START_TEST(test_multicast_gro_truncation)
{
    struct mc_trunc t = {.loop = new_loop()};
    crow_udp_rx_t *rx;
    struct crow_udp_rx_config rc = {.rcvbuf = 4 << 20, .buffers = 64, .buffer_size = 2048, .gro = true};
    ck_assert_int_eq(crow_ipv4_parse_sockaddr("239.255.77.2:34568", &rc.group), 0);
    ck_assert_int_eq(crow_ipv4_parse_in("127.0.0.1", &rc.iface), 0);
    ck_assert_int_eq(crow_udp_rx_open(t.loop, &rx, &rc, on_trunc_datagram, &t), 0);
    crow_udp_tx_t *tx;
    struct crow_udp_tx_config tc = {.iface = rc.iface, .ttl = 1, .loop = true};
    ck_assert_int_eq(crow_udp_tx_open(t.loop, &tx, &tc), 0);
    static uint8_t buf[3 * 3000];
    static crow_op_t ops[4];
    for (unsigned i = 0; i < 4; i++)
        crow_op_init(&ops[i], on_sent, NULL);
    /* in order: 3 x 3000 (a GSO burst), 2049 alone, then 2048 and 2 x 1000 (taken) */
    ck_assert_int_eq(crow_udp_tx_send(tx, &ops[0], &rc.group, buf, sizeof buf, 3000), 0);
    ck_assert_int_eq(crow_udp_tx_send(tx, &ops[1], &rc.group, buf, 2049, 2049), 0);
    ck_assert_int_eq(crow_udp_tx_send(tx, &ops[2], &rc.group, buf, 2048, 2048), 0);
    ck_assert_int_eq(crow_udp_tx_send(tx, &ops[3], &rc.group, buf, 2000, 1000), 0);
    ck_assert_int_eq(crow_loop_run_for(t.loop, 5000000000ull), 0);
    struct crow_udp_rx_stats st;
    crow_udp_rx_get_stats(rx, &st);
    ck_assert_uint_eq(t.received, 3);
    ck_assert_uint_eq(t.lens[0], 2048);
    ck_assert_uint_eq(t.lens[1], 1000);
    ck_assert_uint_eq(t.lens[2], 1000);
    ck_assert_uint_eq(st.truncated, 4);
    ck_assert_uint_eq(st.datagrams, 3);
    if (st.gro && crow_udp_tx_gso(tx))
        ck_assert_uint_ge(st.gro_buffers, 1);
    crow_udp_rx_close(rx);
    while (crow_loop_inflight(t.loop))
        crow_loop_run(t.loop);
    crow_udp_tx_close(tx);
    crow_loop_free(t.loop);
}
END_TEST

/* sync_file_range through the loop: the write-back of a written range starts (0), a bad
 * descriptor is reported to the handler. */
static int sfr_res[2], sfr_fired;
static void on_sfr(crow_op_t *op, int res, unsigned flags)
{
    (void)flags;
    sfr_res[(int *)op->owner - sfr_res] = res;
    sfr_fired++;
}

START_TEST(test_sync_file_range)
{
    crow_loop_t *loop = new_loop();
    char path[] = "/tmp/crow-check-io-XXXXXX";
    int fd = mkstemp(path);
    ck_assert_int_ge(fd, 0);
    unlink(path);
    static char block[1 << 16];
    memset(block, 0x5a, sizeof block);
    ck_assert_int_eq(pwrite(fd, block, sizeof block, 0), (ssize_t)sizeof block);
    crow_op_t ok, bad;
    crow_op_init(&ok, on_sfr, &sfr_res[0]);
    crow_op_init(&bad, on_sfr, &sfr_res[1]);
    sfr_res[0] = sfr_res[1] = 1;
    sfr_fired = 0;
    ck_assert_int_eq(crow_io_sync_file_range(loop, &ok, fd, 0, sizeof block, SYNC_FILE_RANGE_WRITE), 0);
    ck_assert_int_eq(crow_io_sync_file_range(loop, &bad, -1, 0, sizeof block, SYNC_FILE_RANGE_WRITE), 0);
    for (int i = 0; i < 100 && sfr_fired < 2; i++)
        crow_loop_run_for(loop, 10 * 1000000ull);
    ck_assert_int_eq(sfr_fired, 2);
    ck_assert_int_eq(sfr_res[0], 0);
    ck_assert_int_eq(sfr_res[1], -EBADF);
    close(fd);
    crow_loop_free(loop);
}
END_TEST

START_TEST(test_endpoint_parsing)
{
    struct sockaddr_in a;
    ck_assert_int_eq(crow_ipv4_parse_sockaddr("239.1.2.3:5000", &a), 0);
    ck_assert_uint_eq(ntohs(a.sin_port), 5000);
    ck_assert_int_eq(crow_ipv4_parse_sockaddr("239.1.2.3", &a), CROW_EUSAGE);
    ck_assert_int_eq(crow_ipv4_parse_sockaddr("239.1.2.3:0", &a), CROW_EUSAGE);
    ck_assert_int_eq(crow_ipv4_parse_sockaddr("239.1.2.3:70000", &a), CROW_EUSAGE);
    ck_assert_int_eq(crow_ipv4_parse_sockaddr("host:80", &a), CROW_EUSAGE);
    ck_assert_int_eq(crow_ipv4_parse_sockaddr(":80", &a), CROW_EUSAGE);
    /* Found by fuzz_tracker_url ("http://0.0.0.1:\v9/a"): the port took what strtol skips or accepts,
     * and the text became a Host header with a control byte in it. */
    ck_assert_int_eq(crow_ipv4_parse_sockaddr("0.0.0.1:\v9", &a), CROW_EUSAGE);
    ck_assert_int_eq(crow_ipv4_parse_sockaddr("239.1.2.3: 80", &a), CROW_EUSAGE);
    ck_assert_int_eq(crow_ipv4_parse_sockaddr("239.1.2.3:+80", &a), CROW_EUSAGE);
    ck_assert_int_eq(crow_ipv4_parse_sockaddr("239.1.2.3:80 ", &a), CROW_EUSAGE);
    ck_assert_int_eq(crow_ipv4_parse_sockaddr("239.1.2.3:000000080", &a), CROW_EUSAGE);
}
END_TEST

START_TEST(test_iface_mtu)
{
    char name[IF_NAMESIZE] = "";
    unsigned mtu = 0;
    struct in_addr lo = {.s_addr = htonl(INADDR_LOOPBACK)}, none;
    ck_assert_int_eq(crow_udp_iface_mtu(lo, name, &mtu), 0);
    ck_assert_str_eq(name, "lo");
    ck_assert_uint_ge(mtu, 1500);                                 /* 65536 on Linux */
    ck_assert_int_eq(crow_ipv4_parse_in("192.0.2.77", &none), 0); /* TEST-NET-1: nobody's address */
    mtu = 7;
    ck_assert_int_eq(crow_udp_iface_mtu(none, name, &mtu), -ENODEV);
    ck_assert_uint_eq(mtu, 7);
}
END_TEST

Suite *crow_test_suite(void)
{
    Suite *s = suite_create("io");
    TCase *tc = tcase_create("core");
    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, test_timers_fire_in_order_and_stop);
    tcase_add_unchecked_fixture(tc, tls_setup, tls_teardown);
    tcase_add_loop_test(tc, test_tcp_echo_with_backpressure, 0, 2);
    tcase_add_test(tc, test_tls_refused);
    tcase_add_test(tc, test_multicast_multishot);
    tcase_add_test(tc, test_multicast_fallback);
    tcase_add_test(tc, test_multicast_gro);
    tcase_add_test(tc, test_multicast_gro_truncation);
    tcase_add_test(tc, test_sync_file_range);
    tcase_add_test(tc, test_endpoint_parsing);
    suite_add_tcase(s, tc);
    TCase *ifc = tcase_create("iface");
    tcase_add_test(ifc, test_iface_mtu);
    suite_add_tcase(s, ifc);
    return s;
}
