/* manifest_file: a .torrent read from disk parses as its bytes do; what is not a readable regular file
 * (missing, a directory, a FIFO, a truncated file) fails with its own code and reason. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "crowcast/error.h"
#include "crowcast/hash.h"
#include "crowcast/manifest_file.h"
#include "check_main.h"

static void write_file(const char *path, const void *buf, size_t len)
{
    FILE *f = fopen(path, "wb");
    ck_assert_ptr_nonnull(f);
    ck_assert_uint_eq(fwrite(buf, 1, len, f), len);
    ck_assert_int_eq(fclose(f), 0);
}

START_TEST(test_load_reads_what_parse_reads)
{
    crow_manifest_t m = {.name = strdup("one.bin"),
                         .announce = strdup("http://127.0.0.1:6969/announce"),
                         .single_file = true,
                         .piece_length = 16384,
                         .chunk_size = CROW_DEFAULT_CHUNK_SIZE,
                         .file_count = 1};
    m.files = calloc(1, sizeof *m.files);
    m.files[0].path = strdup("one.bin");
    m.files[0].length = 40000;
    char why[200];
    ck_assert_msg(crow_manifest_layout(&m, why, sizeof why) == 0, "%s", why);
    m.sha1 = calloc(m.piece_count, CROW_SHA1_LEN);
    m.sha256 = calloc(m.piece_count, CROW_SHA256_LEN);
    size_t need = crow_manifest_encoded_size(&m);
    uint8_t *buf = malloc(need);
    ck_assert_int_eq(crow_manifest_encode(&m, buf, need), (long)need);

    char path[] = "/tmp/check_manifest_file.XXXXXX";
    int fd = mkstemp(path);
    ck_assert_int_ge(fd, 0);
    close(fd);
    write_file(path, buf, need);
    crow_manifest_t got;
    ck_assert_msg(crow_manifest_file_load(path, &got, why, sizeof why) == 0, "%s", why);
    ck_assert_str_eq(got.name, "one.bin");
    ck_assert_uint_eq(got.total_length, 40000);
    ck_assert_uint_eq(got.piece_count, 3);
    crow_manifest_dispose(&got);

    /* One byte short: the parser's verdict, not an I/O error. */
    write_file(path, buf, need - 1);
    ck_assert_int_eq(crow_manifest_file_load(path, &got, why, sizeof why), CROW_EPARSE);
    unlink(path);
    free(buf);
    crow_manifest_dispose(&m);
}
END_TEST

START_TEST(test_load_errors)
{
    crow_manifest_t m;
    char why[200];
    ck_assert_int_eq(crow_manifest_file_load("/nonexistent/x.torrent", &m, why, sizeof why), -ENOENT);
    ck_assert_ptr_nonnull(strstr(why, "cannot read"));
    ck_assert_int_eq(crow_manifest_file_load("/", &m, why, sizeof why), CROW_EMANIFEST);
    char path[] = "/tmp/check_manifest_file.XXXXXX";
    int fd = mkstemp(path);
    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(write(fd, "d4:infod", 8), 8);
    close(fd);
    ck_assert_int_eq(crow_manifest_file_load(path, &m, why, sizeof why), CROW_EPARSE);
    unlink(path);
    /* A FIFO is refused at once, not waited on until someone writes to it. */
    ck_assert_int_eq(mkfifo(path, 0600), 0);
    ck_assert_int_eq(crow_manifest_file_load(path, &m, why, sizeof why), CROW_EMANIFEST);
    ck_assert_ptr_nonnull(strstr(why, "not a regular file"));
    unlink(path);
}
END_TEST

Suite *crow_test_suite(void)
{
    Suite *s = suite_create("manifest_file");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, test_load_reads_what_parse_reads);
    tcase_add_test(tc, test_load_errors);
    suite_add_tcase(s, tc);
    return s;
}
