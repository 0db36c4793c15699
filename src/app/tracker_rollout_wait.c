/* The tracker's held rollout requests: those waiting for their records' fsync in journal order,
 * long polls waiting for an order or their wait's end in deadline order, each poll also under its
 * host and every request under its connection, so a commit, an order or a closed connection touches
 * only the requests it concerns (never a walk over every agent holding a poll). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "tracker_rollout_internal.h"

void tracker_rollout_waiters_init(tracker_rollout_t *tr)
{
    for (unsigned i = MAX_WAITERS; i-- > 0;) {
        tr->pool[i].next = tr->free_list;
        tr->free_list = &tr->pool[i];
    }
}

void tracker_rollout_waiters_dispose(tracker_rollout_t *tr)
{
    free(tr->by_host);
}

/* ---- requests by connection: open addressing, linear probing, deletion by backward shift ---- */

static uint32_t conn_slot(const void *conn)
{
    uint64_t h = (uint64_t)(uintptr_t)conn * 0x9e3779b97f4a7c15ull;
    return (uint32_t)(h >> 40) & (CONN_SLOTS - 1);
}

static void conn_put(tracker_rollout_t *tr, struct waiter *w)
{
    uint32_t at = conn_slot(w->conn);
    while (tr->by_conn[at]) /* at most MAX_WAITERS of CONN_SLOTS are taken */
        at = (at + 1) & (CONN_SLOTS - 1);
    tr->by_conn[at] = w;
}

static uint32_t conn_find(const tracker_rollout_t *tr, const void *conn)
{
    for (uint32_t at = conn_slot(conn);; at = (at + 1) & (CONN_SLOTS - 1)) {
        if (!tr->by_conn[at] || tr->by_conn[at]->conn == conn)
            return at;
    }
}

static void conn_remove(tracker_rollout_t *tr, uint32_t at)
{
    tr->by_conn[at] = NULL;
    /* Moves back every entry of the run after the hole that may no longer be reached past it. */
    for (uint32_t next = (at + 1) & (CONN_SLOTS - 1); tr->by_conn[next];
         next = (next + 1) & (CONN_SLOTS - 1)) {
        uint32_t home = conn_slot(tr->by_conn[next]->conn);
        if (((next - home) & (CONN_SLOTS - 1)) >= ((next - at) & (CONN_SLOTS - 1))) {
            tr->by_conn[at] = tr->by_conn[next];
            tr->by_conn[next] = NULL;
            at = next;
        }
    }
}

/* ---- the two queues ---- */

static void unlink_from(struct waiter_list *l, struct waiter *w)
{
    if (w->prev)
        w->prev->next = w->next;
    else
        l->head = w->next;
    if (w->next)
        w->next->prev = w->prev;
    else
        l->tail = w->prev;
    w->prev = w->next = NULL;
}

static void append(struct waiter_list *l, struct waiter *w)
{
    w->next = NULL;
    w->prev = l->tail;
    if (l->tail)
        l->tail->next = w;
    else
        l->head = w;
    l->tail = w;
}

/* A poll whose record is durable waits for an order or its deadline: in deadline order (from the
 * tail: polls mostly wait the same time, so the new one goes last), and under its host. */
static void park(tracker_rollout_t *tr, struct waiter *w)
{
    struct waiter *after = tr->parked.tail;
    while (after && after->deadline_ns > w->deadline_ns)
        after = after->prev;
    w->prev = after;
    w->next = after ? after->next : tr->parked.head;
    if (w->next)
        w->next->prev = w;
    else
        tr->parked.tail = w;
    if (after)
        after->next = w;
    else
        tr->parked.head = w;
    w->parked = true;
    if (w->host < tr->by_host_cap) {
        w->host_next = tr->by_host[w->host];
        w->host_prev = NULL;
        if (w->host_next)
            w->host_next->host_prev = w;
        tr->by_host[w->host] = w;
    }
}

static void release(tracker_rollout_t *tr, struct waiter *w)
{
    if (w->parked) {
        unlink_from(&tr->parked, w);
        if (w->host_prev)
            w->host_prev->host_next = w->host_next;
        else if (w->host < tr->by_host_cap && tr->by_host[w->host] == w)
            tr->by_host[w->host] = w->host_next;
        if (w->host_next)
            w->host_next->host_prev = w->host_prev;
    } else {
        unlink_from(&tr->pending, w);
    }
    if (w->woken) { /* rare: a woken poll closed before the commit looked at it */
        struct waiter **p = &tr->woken;
        while (*p != w)
            p = &(*p)->woken_next;
        *p = w->woken_next;
    }
    conn_remove(tr, conn_find(tr, w->conn));
    tr->polls -= w->kind == W_POLL;
    w->next = tr->free_list;
    tr->free_list = w;
}

/* Room under host in by_host. */
static bool host_room(tracker_rollout_t *tr, uint32_t host)
{
    if (host < tr->by_host_cap)
        return true;
    if (host >= CROW_ROLLOUT_MAX_HOSTS)
        return false;
    uint32_t cap = tr->by_host_cap ? tr->by_host_cap : 1024;
    while (cap <= host)
        cap *= 2;
    struct waiter **bigger = realloc(tr->by_host, cap * sizeof *bigger);
    if (!bigger)
        return false;
    memset(bigger + tr->by_host_cap, 0, (cap - tr->by_host_cap) * sizeof *bigger);
    tr->by_host = bigger;
    tr->by_host_cap = cap;
    return true;
}

struct waiter *tracker_rollout_hold(tracker_rollout_t *tr, void *conn, enum wait_kind kind, uint32_t host,
                                    uint64_t deadline_ns)
{
    if (!tr->free_list || (kind == W_POLL && (tr->polls >= MAX_POLLS || !host_room(tr, host))))
        return NULL;
    struct waiter *w = tr->free_list;
    tr->free_list = w->next;
    memset(w, 0, sizeof *w);
    w->conn = conn;
    w->kind = kind;
    w->host = host;
    w->deadline_ns = deadline_ns;
    w->seq = tracker_journal_appended(tr->journal);
    conn_put(tr, w);
    tr->polls += kind == W_POLL;
    /* Only a poll is held with its records durable already (it waits for an order). */
    if (kind == W_POLL && w->seq <= tracker_journal_durable(tr->journal))
        park(tr, w);
    else
        append(&tr->pending, w);
    return w;
}

void tracker_rollout_forget(tracker_rollout_t *tr, void *conn)
{
    if (!tr)
        return;
    uint32_t at = conn_find(tr, conn);
    if (tr->by_conn[at])
        release(tr, tr->by_conn[at]);
}

/* Answers a held request and frees its slot first: answering may close the connection. */
static void answer(tracker_rollout_t *tr, struct waiter *w, int err)
{
    struct tracker_reply r;
    void *conn = w->conn;
    enum wait_kind kind = w->kind;
    uint32_t host = w->host;
    release(tr, w);
    tracker_rollout_held_answer(tr, kind, host, err, &r);
    tr->answer(tr->ctx, conn, &r);
}

static bool has_order(const tracker_rollout_t *tr, const struct waiter *w)
{
    const char *release;
    return w->host < tr->durable->host_count &&
           crow_rollout_order_for(tr->durable, tr->durable->hosts[w->host].name, &release) != CROW_ORDER_NONE;
}

void tracker_rollout_wake_host(tracker_rollout_t *tr, uint32_t host)
{
    for (struct waiter *w = host < tr->by_host_cap ? tr->by_host[host] : NULL; w; w = w->host_next)
        if (!w->woken) {
            w->woken = true;
            w->woken_next = tr->woken;
            tr->woken = w;
        }
}

void tracker_rollout_answer_ready(tracker_rollout_t *tr, uint64_t now_ns)
{
    uint64_t durable = tracker_journal_durable(tr->journal);
    /* Newly durable: answered, or a poll without an order yet parked. */
    while (tr->pending.head && tr->pending.head->seq <= durable) {
        struct waiter *w = tr->pending.head;
        if (w->kind != W_POLL || now_ns >= w->deadline_ns || has_order(tr, w)) {
            answer(tr, w, 0);
        } else {
            unlink_from(&tr->pending, w);
            park(tr, w);
        }
    }
    /* Parked polls an order was given to. */
    while (tr->woken) {
        struct waiter *w = tr->woken;
        tr->woken = w->woken_next;
        w->woken = false;
        if (has_order(tr, w))
            answer(tr, w, 0);
    }
    while (tr->parked.head && now_ns >= tr->parked.head->deadline_ns)
        answer(tr, tr->parked.head, 0);
}

void tracker_rollout_answer_lost(tracker_rollout_t *tr, int err)
{
    uint64_t durable = tracker_journal_durable(tr->journal);
    for (struct waiter *w = tr->pending.head, *next; w; w = next) {
        next = w->next;
        if (w->seq > durable)
            answer(tr, w, err);
    }
}

uint64_t tracker_rollout_next_poll_end(const tracker_rollout_t *tr)
{
    /* A pending poll's end counts once its records are durable: the commit that makes them so runs
     * answer_ready anyway. */
    return tr->parked.head ? tr->parked.head->deadline_ns : UINT64_MAX;
}
