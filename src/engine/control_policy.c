/* The tracker's access rules per endpoint (see control_policy.h). */
#include <stdio.h>
#include <string.h>

#include "crowcast/control_policy.h"

static const struct {
    const char *path;
    enum crow_access access;
} table[] = {
    {"/rollout/start", CROW_ACCESS_OPERATOR},
    {"/rollout/pause", CROW_ACCESS_OPERATOR},
    {"/rollout/resume", CROW_ACCESS_OPERATOR},
    {"/rollout/abort", CROW_ACCESS_OPERATOR},
    {"/rollout/rollback", CROW_ACCESS_OPERATOR},
    {"/agent/poll", CROW_ACCESS_AGENT},
    {"/agent/report", CROW_ACCESS_AGENT},
    {"/status", CROW_ACCESS_READ},
    {"/metrics", CROW_ACCESS_READ},
    {"/rollout/status", CROW_ACCESS_READ},
    {"/agent/torrent", CROW_ACCESS_READ},
};

enum crow_access crow_control_policy_access(crow_http_str_t path)
{
    for (size_t i = 0; i < sizeof table / sizeof table[0]; i++)
        if (path.len == strlen(table[i].path) && memcmp(path.ptr, table[i].path, path.len) == 0)
            return table[i].access;
    return CROW_ACCESS_PUBLIC;
}

static bool is(crow_http_str_t s, const char *text)
{
    return s.len == strlen(text) && memcmp(s.ptr, text, s.len) == 0;
}

static bool refuse(crow_admission_t *out, int status, const char *extra, const char *fmt, const char *a,
                   const char *b)
{
    out->status = status;
    out->extra = extra;
    snprintf(out->why, sizeof out->why, fmt, a, b);
    return false;
}

bool crow_control_policy_admit(const crow_control_policy_t *p, const crow_http_request_t *req, uint64_t now_s,
                               crow_admission_t *out)
{
    memset(out, 0, sizeof *out);
    enum crow_access access = crow_control_policy_access(req->path);
    bool change = access == CROW_ACCESS_OPERATOR || access == CROW_ACCESS_AGENT;
    char path[64];
    snprintf(path, sizeof path, "%.*s", (int)(req->path.len < 48 ? req->path.len : 48), req->path.ptr);
    if (change && !is(req->method, "POST"))
        return refuse(out, 405, "Allow: POST", "%s changes state: POST it (signed), not %s", path,
                      is(req->method, "GET") ? "GET" : "this method");
    if (!change && !is(req->method, "GET"))
        return refuse(out, 405, "Allow: GET", "only GET is served%s%s", "", "");
    bool signed_read = access == CROW_ACCESS_READ && p->verifier &&
                       crow_http_find_header(req->headers, req->header_count, "Authorization");
    if (access == CROW_ACCESS_PUBLIC || (access == CROW_ACCESS_READ && !p->closed_reads && !signed_read))
        return true;
    if (!p->verifier) {
        if (p->insecure || !change)
            return true;
        return refuse(out, 403, NULL,
                      "control requests are refused: this tracker has no --auth FILE (give it one; "
                      "--insecure-control is for loopback demos)%s%s",
                      "", "");
    }
    crow_verdict_t v;
    if (crow_control_verifier_check(p->verifier, req, now_s, &v)) {
        bool auth = v.status == 401;
        return refuse(out, v.status, auth ? "WWW-Authenticate: " CROW_AUTH_SCHEME : NULL, "%s%s", v.why, "");
    }
    out->who = v.key;
    memcpy(out->nonce, v.claim.nonce, sizeof out->nonce);
    enum crow_control_auth_kind need = access == CROW_ACCESS_OPERATOR ? CROW_AUTH_OPERATOR : CROW_AUTH_AGENT;
    if (change && v.key->kind != need)
        return refuse(out, 403, NULL, "%s is for %s identities", path,
                      need == CROW_AUTH_OPERATOR ? "operator" : "agent");
    return true;
}
