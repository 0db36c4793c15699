/* HTTP client: the tracker URLs it accepts (crow_http_server_parse), table-driven. An announce URL
 * comes from the manifest, anyone's file, and its path is written into the request line. */
#include <arpa/inet.h>
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "../../src/app/http_client.h"
#include "crowcast/error.h"

static const struct {
    const char *url;
    int ret;
    const char *host, *path;
    uint16_t port;
} cases[] = {
    {"http://127.0.0.1:6969/announce", 0, "127.0.0.1:6969", "/announce", 6969},
    {"http://10.1.2.3", 0, "10.1.2.3", "", 80},
    {"http://10.1.2.3/", 0, "10.1.2.3", "/", 80},
    {"http://10.1.2.3:8080/a/b?x=1", 0, "10.1.2.3:8080", "/a/b?x=1", 8080},
    {"https://10.1.2.3/announce", CROW_EUSAGE, NULL, NULL, 0},
    {"http://tracker.example/announce", CROW_EUSAGE, NULL, NULL, 0},
    {"http:///announce", CROW_EUSAGE, NULL, NULL, 0},
    {"http://10.1.2.3:0/", CROW_EUSAGE, NULL, NULL, 0},
    {"http://10.1.2.3:65536/", CROW_EUSAGE, NULL, NULL, 0},
    /* Found by fuzz_tracker_url: bytes that end the request line were copied into the path, so a
     * .torrent could make every client send a request of its choosing (a header, a second request). */
    {"http://127.0.0.1:6969/a\x1ann", CROW_EUSAGE, NULL, NULL, 0},
    {"http://127.0.0.1:6969/announce\r\nX-Injected: 1\r\n", CROW_EUSAGE, NULL, NULL, 0},
    {"http://127.0.0.1:6969/announce HTTP/1.0", CROW_EUSAGE, NULL, NULL, 0},
    {"http://127.0.0.1:6969/a\x7f", CROW_EUSAGE, NULL, NULL, 0},
    {"http://0.0.0.1:\v9/a", CROW_EUSAGE, NULL, NULL, 0}, /* a control byte in the Host header */
};

START_TEST(test_server_parse)
{
    struct crow_http_server s;
    int ret = crow_http_server_parse(cases[_i].url, &s);
    ck_assert_msg(ret == cases[_i].ret, "%s: %d", cases[_i].url, ret);
    if (ret == 0) {
        ck_assert_str_eq(s.host, cases[_i].host);
        ck_assert_str_eq(s.path, cases[_i].path);
        ck_assert_uint_eq(ntohs(s.addr.sin_port), cases[_i].port);
    }
}
END_TEST

int main(void)
{
    Suite *s = suite_create("http_client");
    TCase *tc = tcase_create("core");
    tcase_add_loop_test(tc, test_server_parse, 0, (int)(sizeof cases / sizeof cases[0]));
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
