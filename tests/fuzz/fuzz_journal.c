/* The rollout journal as the tracker replays it at start: any file is cut into records up to the
 * first bad one (good_len says where). A mutated line almost never keeps its CRC, so unless the first
 * byte is odd (then the rest is the file as it is) each line of the input is a payload that the harness
 * frames with its CRC, and the fuzzer explores what the records say. Each record re-encodes to a line that
 * decodes to the same record, and is applied to a coordinator with the decisions it leads to, as a replay
 * does. What was applied is journaled as the tracker journals it, and replaying that journal into a
 * fresh coordinator must rebuild exactly the same state (rollout.h promises it: a restart depends on
 * it). The state then renders as JSON, text and metrics. A crash-cut journal is the normal case, not
 * an error. */
#include "crowcast/error.h"
#include "crowcast/journal.h"
#include "crowcast/rollout.h"
#include "fuzz.h"

#define STEPS_MAX 8 /* time-driven decisions followed per record */

struct replay {
    crow_rollout_t *r, *replayed;
    char line[CROW_JREC_LINE_MAX], again[CROW_JREC_LINE_MAX];
    crow_jrec_t rec2;
    char *journal; /* every record applied, encoded */
    size_t journal_len, journal_cap;
};

static void journal(struct replay *rp, const crow_jrec_t *rec)
{
    long len = crow_journal_encode(rp->line, sizeof rp->line, rec);
    FUZZ_ASSERT(len > 0);
    if (rp->journal_len + (size_t)len > rp->journal_cap) {
        rp->journal_cap = 2 * (rp->journal_len + (size_t)len);
        rp->journal = realloc(rp->journal, rp->journal_cap);
        if (!rp->journal)
            abort();
    }
    memcpy(rp->journal + rp->journal_len, rp->line, (size_t)len);
    rp->journal_len += (size_t)len;
}

/* Replay at the next start: every journaled record applies again. */
static int on_replay(void *ctx, const crow_jrec_t *rec)
{
    struct replay *rp = ctx;
    FUZZ_ASSERT(crow_rollout_apply(rp->replayed, rec) == 0);
    return 0;
}

static void round_trip(struct replay *rp, const crow_jrec_t *rec)
{
    long len = crow_journal_encode(rp->line, sizeof rp->line, rec);
    FUZZ_ASSERT(len > 0 && rp->line[len - 1] == '\n');
    FUZZ_ASSERT(crow_journal_decode(rp->line, (size_t)len, &rp->rec2) == (int)len);
    FUZZ_ASSERT(crow_journal_encode(rp->again, sizeof rp->again, &rp->rec2) == len);
    FUZZ_ASSERT(memcmp(rp->line, rp->again, (size_t)len) == 0);
}

static int on_record(void *ctx, const crow_jrec_t *rec)
{
    struct replay *rp = ctx;
    round_trip(rp, rec);
    if (crow_rollout_apply(rp->r, rec) != 0)
        return 0;
    journal(rp, rec);
    uint64_t now = rec->t_ms;
    for (int i = 0; i < STEPS_MAX && crow_rollout_next(rp->r, now, &rp->rec2) == 1; i++) {
        FUZZ_ASSERT(crow_rollout_apply(rp->r, &rp->rec2) == 0);
        journal(rp, &rp->rec2);
        now = crow_rollout_deadline(rp->r) == UINT64_MAX ? now : crow_rollout_deadline(rp->r);
    }
    return 0;
}

/* The journal file for the input text[0..*len): the text itself (raw), or each of its lines (the last
 * may lack its '\n': a torn record) behind the 8 hex digits of its CRC and a space. */
static char *frame(const char *text, size_t *len, bool raw)
{
    char *file = malloc(raw ? (*len ? *len : 1) : *len * 10 + 10);
    if (!file)
        abort();
    if (raw) {
        memcpy(file, text, *len);
        return file;
    }
    size_t out = 0;
    for (const char *p = text, *end = text + *len; p < end;) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        size_t plen = (size_t)((nl ? nl : end) - p);
        out += (size_t)snprintf(file + out, 10, "%08x ", crow_journal_crc32(p, plen));
        memcpy(file + out, p, plen + (nl != NULL));
        out += plen + (nl != NULL);
        p += plen + 1;
    }
    *len = out;
    return file;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct replay rp;
    static char status[1u << 20], status2[1u << 20];
    /* Fresh coordinators for every input (small until hosts register: the host table grows). */
    crow_rollout_free(rp.r);
    crow_rollout_free(rp.replayed);
    rp.r = rp.replayed = NULL;
    if (crow_rollout_new(&rp.r) != 0 || crow_rollout_new(&rp.replayed) != 0)
        abort();
    rp.journal_len = 0;
    if (size == 0)
        return 0;
    size_t len = size - 1;
    char *file = frame((const char *)data + 1, &len, data[0] & 1);
    size_t good = 0;
    int ret = crow_journal_scan(file, len, &good, on_record, &rp);
    FUZZ_ASSERT(ret == 0 || ret == CROW_EPARSE);
    FUZZ_ASSERT(good <= len && (good == 0 || file[good - 1] == '\n'));
    free(file);
    size_t replayed_len;
    FUZZ_ASSERT(crow_journal_scan(rp.journal, rp.journal_len, &replayed_len, on_replay, &rp) == 0);
    FUZZ_ASSERT(replayed_len == rp.journal_len);
    /* The same state, as everything that reads it sees it (bytes past a string's NUL may differ). */
    uint64_t now = rp.r->id ? 1u << 30 : 0;
    long n = crow_rollout_status_json(rp.r, now, status, sizeof status);
    FUZZ_ASSERT(n > 0 && (size_t)n < sizeof status);
    FUZZ_ASSERT(crow_rollout_status_json(rp.replayed, now, status2, sizeof status2) == n);
    FUZZ_ASSERT(memcmp(status, status2, (size_t)n) == 0);
    n = crow_rollout_status_text(rp.r, now, status, sizeof status);
    FUZZ_ASSERT(n > 0 && (size_t)n < sizeof status);
    FUZZ_ASSERT(crow_rollout_status_text(rp.replayed, now, status2, sizeof status2) == n);
    FUZZ_ASSERT(memcmp(status, status2, (size_t)n) == 0);
    n = crow_rollout_metrics(rp.r, status, sizeof status);
    FUZZ_ASSERT(n > 0 && (size_t)n < sizeof status);
    FUZZ_ASSERT(crow_rollout_metrics(rp.replayed, status2, sizeof status2) == n);
    FUZZ_ASSERT(memcmp(status, status2, (size_t)n) == 0);
    for (uint32_t i = 0; i < rp.r->host_count; i++) {
        const char *rel, *rel2;
        const char *host = rp.r->hosts[i].name;
        FUZZ_ASSERT(crow_rollout_order_for(rp.r, host, &rel) ==
                    crow_rollout_order_for(rp.replayed, host, &rel2));
        FUZZ_ASSERT(strcmp(rel, rel2) == 0);
    }
    FUZZ_ASSERT(crow_rollout_deadline(rp.r) == crow_rollout_deadline(rp.replayed));
    return 0;
}
