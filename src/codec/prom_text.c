/* Prometheus text exposition format writer (see crowcast/prom_text.h). */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "crowcast/prom_text.h"

static void text(crow_prom_text_writer_t *w, const char *s)
{
    crow_text_put(w, s, strlen(s));
}

/* Escapes \ and newline (and " when quoted: label values). */
static void escaped(crow_prom_text_writer_t *w, const char *s, bool quoted)
{
    for (; *s; s++) {
        if (*s == '\\')
            text(w, "\\\\");
        else if (*s == '\n')
            text(w, "\\n");
        else if (*s == '"' && quoted)
            text(w, "\\\"");
        else
            crow_text_put(w, s, 1);
    }
}

static bool valid_name(const char *s, bool colon)
{
    if (!s || !*s || (*s >= '0' && *s <= '9'))
        return false;
    for (; *s; s++) {
        char c = *s;
        bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
                  (colon && c == ':');
        if (!ok)
            return false;
    }
    return true;
}

void crow_prom_text_begin(crow_prom_text_writer_t *w, char *buf, size_t cap)
{
    crow_text_init(w, buf, cap);
    w->full = cap == 0;
}

void crow_prom_text_family(crow_prom_text_writer_t *w, const char *name, const char *type, const char *help)
{
    if (!valid_name(name, true) || (strcmp(type, "counter") && strcmp(type, "gauge"))) {
        w->full = true;
        return;
    }
    text(w, "# HELP ");
    text(w, name);
    text(w, " ");
    escaped(w, help, false);
    text(w, "\n# TYPE ");
    text(w, name);
    text(w, " ");
    text(w, type);
    text(w, "\n");
}

static void label(crow_prom_text_writer_t *w, const char *name, const char *value, bool first)
{
    if (!valid_name(name, false) || !value) {
        w->full = true;
        return;
    }
    text(w, first ? "{" : ",");
    text(w, name);
    text(w, "=\"");
    escaped(w, value, true);
    text(w, "\"");
}

void crow_prom_text_sample(crow_prom_text_writer_t *w, const char *name, const char *label1,
                           const char *value1, const char *label2, const char *value2, double value)
{
    if (!valid_name(name, true)) {
        w->full = true;
        return;
    }
    text(w, name);
    if (label1)
        label(w, label1, value1, true);
    if (label2)
        label(w, label2, value2, !label1);
    if (label1 || label2)
        text(w, "}");
    char num[40];
    if (isnan(value))
        snprintf(num, sizeof num, " NaN\n");
    else if (isinf(value))
        snprintf(num, sizeof num, value > 0 ? " +Inf\n" : " -Inf\n");
    else if (value == floor(value) && fabs(value) < 9007199254740992.0)
        snprintf(num, sizeof num, " %.0f\n", value);
    else
        snprintf(num, sizeof num, " %.9g\n", value);
    text(w, num);
}

long crow_prom_text_end(const crow_prom_text_writer_t *w)
{
    return w->full ? -1 : (long)w->len;
}
