/* The agent's state file codec and the edits the agent makes to it (see agent_state.h). */
#include <stdio.h>
#include <string.h>

#include "crowcast/agent_state.h"
#include "crowcast/bencode.h"
#include "crowcast/error.h"

#define NODES (10 + CROW_AGENT_MAX_NAMES * 8 + CROW_AGENT_MAX_OUTBOX * 12)

static bool id_ok(const char *id)
{
    return !id[0] || crow_agent_release_valid(id);
}

long crow_agent_state_encode(const crow_agent_state_t *s, uint8_t *buf, size_t cap)
{
    if (s->release_count > CROW_AGENT_MAX_NAMES || s->outbox_count > CROW_AGENT_MAX_OUTBOX)
        return CROW_EPARSE;
    crow_bencode_writer_t e;
    crow_bencode_writer_init(&e, buf, cap);
    crow_bencode_open_dict(&e);
    crow_bencode_put_key(&e, "outbox");
    crow_bencode_open_list(&e);
    for (uint32_t i = 0; i < s->outbox_count; i++) {
        const crow_agent_report_t *r = &s->outbox[i];
        if (r->rollout == 0 || !crow_step_parse(crow_step_name(r->step)))
            return CROW_EPARSE;
        crow_bencode_open_dict(&e);
        crow_bencode_put_key(&e, "detail");
        crow_bencode_put_str(&e, r->detail, strnlen(r->detail, CROW_AGENT_DETAIL_MAX));
        crow_bencode_put_key(&e, "ok");
        crow_bencode_put_int(&e, r->ok);
        crow_bencode_put_key(&e, "rollout");
        crow_bencode_put_int(&e, r->rollout);
        if (r->seq) {
            crow_bencode_put_key(&e, "seq");
            crow_bencode_put_int(&e, (int64_t)r->seq);
        }
        crow_bencode_put_key(&e, "step");
        crow_bencode_put_cstr(&e, crow_step_name(r->step));
        crow_bencode_close(&e);
    }
    crow_bencode_close(&e);
    crow_bencode_put_key(&e, "releases");
    crow_bencode_open_list(&e);
    for (uint32_t i = 0; i < s->release_count; i++) {
        const crow_agent_release_t *r = &s->releases[i];
        if (!crow_agent_name_valid(r->name) || !id_ok(r->current) || !id_ok(r->previous))
            return CROW_EPARSE;
        crow_bencode_open_dict(&e);
        crow_bencode_put_key(&e, "current");
        crow_bencode_put_cstr(&e, r->current);
        crow_bencode_put_key(&e, "name");
        crow_bencode_put_cstr(&e, r->name);
        crow_bencode_put_key(&e, "previous");
        crow_bencode_put_cstr(&e, r->previous);
        crow_bencode_close(&e);
    }
    crow_bencode_close(&e);
    if (s->seq) {
        crow_bencode_put_key(&e, "seq");
        crow_bencode_put_int(&e, (int64_t)s->seq);
    }
    crow_bencode_put_key(&e, "version");
    crow_bencode_put_int(&e, 1);
    crow_bencode_close(&e);
    return crow_bencode_finish(&e);
}

/* Copies string value `key` of dictionary `dict` into out; false when absent, not a string, too long
 * or holding a NUL. */
static bool get_text(const crow_bencode_doc_t *doc, uint32_t dict, const char *key, char *out, size_t cap)
{
    const uint8_t *s;
    size_t len;
    if (!crow_bencode_dict_str(doc, dict, key, &s, &len) || len >= cap || memchr(s, 0, len))
        return false;
    memcpy(out, s, len);
    out[len] = '\0';
    return true;
}

static int bad(const char **why, const char *text)
{
    *why = text;
    return CROW_EPARSE;
}

static int decode_release(const crow_bencode_doc_t *doc, uint32_t at, crow_agent_state_t *s, const char **why)
{
    crow_agent_release_t *r = &s->releases[s->release_count];
    if (doc->nodes[at].type != CROW_BENCODE_DICT || !get_text(doc, at, "name", r->name, sizeof r->name) ||
        !get_text(doc, at, "current", r->current, sizeof r->current) ||
        !get_text(doc, at, "previous", r->previous, sizeof r->previous))
        return bad(why, "a release entry lacks name, current or previous");
    if (!crow_agent_name_valid(r->name))
        return bad(why, "unsafe release name");
    if (!id_ok(r->current) || !id_ok(r->previous))
        return bad(why, "a release id is not 64 hex digits");
    for (uint32_t i = 0; i < s->release_count; i++)
        if (strcmp(s->releases[i].name, r->name) == 0)
            return bad(why, "a release name appears twice");
    s->release_count++;
    return 0;
}

static int decode_report(const crow_bencode_doc_t *doc, uint32_t at, crow_agent_state_t *s, const char **why)
{
    crow_agent_report_t *r = &s->outbox[s->outbox_count];
    char step[16];
    int64_t rollout, ok;
    if (doc->nodes[at].type != CROW_BENCODE_DICT || !crow_bencode_dict_int(doc, at, "rollout", &rollout) ||
        !crow_bencode_dict_int(doc, at, "ok", &ok) || !get_text(doc, at, "step", step, sizeof step) ||
        !get_text(doc, at, "detail", r->detail, sizeof r->detail))
        return bad(why, "a report lacks rollout, ok, step or detail");
    if (rollout <= 0 || rollout > UINT32_MAX || (ok != 0 && ok != 1) || !(r->step = crow_step_parse(step)))
        return bad(why, "a report has a bad rollout, ok or step");
    r->rollout = (uint32_t)rollout;
    r->ok = ok == 1;
    int64_t seq = 0;
    if (crow_bencode_dict_get(doc, at, "seq") && (!crow_bencode_dict_int(doc, at, "seq", &seq) || seq <= 0))
        return bad(why, "a report has a bad seq");
    r->seq = (uint64_t)seq;
    s->outbox_count++;
    return 0;
}

int crow_agent_state_decode(const uint8_t *buf, size_t len, crow_agent_state_t *s, const char **why)
{
    crow_bencode_node_t nodes[NODES];
    crow_bencode_doc_t doc;
    crow_bencode_error_t err;
    const char *dummy;
    if (!why)
        why = &dummy;
    memset(s, 0, sizeof *s);
    int ret = crow_bencode_decode(buf, len, nodes, NODES, &doc, &err);
    if (ret) {
        *why = err.why ? err.why : "not bencode";
        return ret;
    }
    int64_t version;
    if (doc.nodes[0].type != CROW_BENCODE_DICT || !crow_bencode_dict_int(&doc, 0, "version", &version))
        return bad(why, "not an agent state (no version)");
    if (version != 1)
        return bad(why, "unknown state version");
    uint32_t rel = crow_bencode_dict_get(&doc, 0, "releases"), out = crow_bencode_dict_get(&doc, 0, "outbox");
    if (!rel || doc.nodes[rel].type != CROW_BENCODE_LIST || !out || doc.nodes[out].type != CROW_BENCODE_LIST)
        return bad(why, "releases or outbox is not a list");
    if (doc.nodes[rel].count > CROW_AGENT_MAX_NAMES || doc.nodes[out].count > CROW_AGENT_MAX_OUTBOX) {
        *why = "too many entries";
        return CROW_ELIMIT;
    }
    for (uint32_t i = crow_bencode_first_child(&doc, rel), k = 0; k < doc.nodes[rel].count;
         k++, i = doc.nodes[i].next)
        if ((ret = decode_release(&doc, i, s, why)))
            goto fail;
    for (uint32_t i = crow_bencode_first_child(&doc, out), k = 0; k < doc.nodes[out].count;
         k++, i = doc.nodes[i].next)
        if ((ret = decode_report(&doc, i, s, why)))
            goto fail;
    int64_t seq = 0;
    if (crow_bencode_dict_get(&doc, 0, "seq") && (!crow_bencode_dict_int(&doc, 0, "seq", &seq) || seq <= 0)) {
        ret = bad(why, "bad seq");
        goto fail;
    }
    s->seq = (uint64_t)seq;
    return 0;
fail:
    memset(s, 0, sizeof *s);
    return ret;
}

crow_agent_release_t *crow_agent_state_find(crow_agent_state_t *s, const char *name)
{
    for (uint32_t i = 0; i < s->release_count; i++)
        if (strcmp(s->releases[i].name, name) == 0)
            return &s->releases[i];
    return NULL;
}

/* Moves (or, for a new name, inserts) the entry of name to the front; returns it. */
static crow_agent_release_t *front(crow_agent_state_t *s, const char *name)
{
    crow_agent_release_t *r = crow_agent_state_find(s, name);
    crow_agent_release_t keep = {0};
    uint32_t at;
    if (r) {
        keep = *r;
        at = (uint32_t)(r - s->releases);
    } else {
        snprintf(keep.name, sizeof keep.name, "%s", name);
        if (s->release_count < CROW_AGENT_MAX_NAMES)
            s->release_count++;
        at = s->release_count - 1; /* the last (least recently changed) one is dropped when full */
    }
    memmove(&s->releases[1], &s->releases[0], at * sizeof s->releases[0]);
    s->releases[0] = keep;
    return &s->releases[0];
}

void crow_agent_state_switch(crow_agent_state_t *s, const char *name, const char *id)
{
    crow_agent_release_t *r = front(s, name);
    if (strcmp(r->current, id) != 0)
        snprintf(r->previous, sizeof r->previous, "%s", r->current);
    snprintf(r->current, sizeof r->current, "%s", id);
}

void crow_agent_state_rollback(crow_agent_state_t *s, const char *name, const char *id)
{
    crow_agent_release_t *r = front(s, name);
    snprintf(r->current, sizeof r->current, "%s", id);
    r->previous[0] = '\0';
}

void crow_agent_state_queue(crow_agent_state_t *s, const crow_agent_report_t *r, uint64_t now_us)
{
    if (s->outbox_count == CROW_AGENT_MAX_OUTBOX)
        crow_agent_state_pop(s);
    s->seq = now_us > s->seq ? now_us : s->seq + 1;
    s->outbox[s->outbox_count] = *r;
    s->outbox[s->outbox_count++].seq = s->seq;
}

void crow_agent_state_pop(crow_agent_state_t *s)
{
    if (s->outbox_count == 0)
        return;
    memmove(&s->outbox[0], &s->outbox[1], (s->outbox_count - 1) * sizeof s->outbox[0]);
    s->outbox_count--;
}
