/* Symlink targets: the lexical resolution `crowcast make` and `verify` apply to a link's text, and
 * the relative text publishing writes back. A target is kept as a list of components on a stack in
 * the output buffer; ".." pops, and popping past the root is an escape. */
#include <string.h>

#include "crowcast/error.h"
#include "crowcast/link_path.h"
#include "crowcast/manifest.h"

/* Applies the components of s[0..len) to the stack out[0..*n). */
static int apply(const char *s, size_t len, char *out, size_t cap, size_t *n)
{
    size_t i = 0;
    while (i < len) {
        const char *slash = memchr(s + i, '/', len - i);
        size_t c = (slash ? (size_t)(slash - s) : len) - i;
        const char *comp = s + i;
        i += c + 1;
        if (c == 0 || (c == 1 && comp[0] == '.'))
            continue;
        if (c == 2 && comp[0] == '.' && comp[1] == '.') {
            if (*n == 0)
                return CROW_EPATH; /* above the release root */
            char *last = memrchr(out, '/', *n);
            *n = last ? (size_t)(last - out) : 0;
            continue;
        }
        size_t need = *n + (*n ? 1 : 0) + c;
        if (need >= cap)
            return CROW_ESPACE;
        if (*n)
            out[(*n)++] = '/';
        memcpy(out + *n, comp, c);
        *n = need;
    }
    return 0;
}

int crow_link_path_target(const char *link, const char *text, const char *abs_root, char *out, size_t cap)
{
    if (cap == 0)
        return CROW_ESPACE;
    size_t n = 0;
    int ret;
    size_t tlen = strlen(text);
    if (tlen == 0)
        return CROW_EPATH;
    if (text[0] == '/') {
        size_t rlen = abs_root ? strlen(abs_root) : 0;
        if (!abs_root || strncmp(text, abs_root, rlen) != 0 || (text[rlen] != '/' && text[rlen] != '\0'))
            return CROW_EPATH;
        text += rlen;
        tlen -= rlen;
    } else {
        const char *slash = strrchr(link, '/');
        if (slash && (ret = apply(link, (size_t)(slash - link), out, cap, &n)))
            return ret;
    }
    if ((ret = apply(text, tlen, out, cap, &n)))
        return ret;
    out[n] = '\0';
    return crow_manifest_check_path(out, n) ? CROW_EPATH : 0;
}

/* Bytes of the first `count` components of p (count >= 1 and p holds them). */
static size_t prefix_len(const char *p, size_t count)
{
    const char *c = p;
    for (size_t k = 1; k < count; k++)
        c = strchr(c, '/') + 1;
    return (size_t)(strchrnul(c, '/') - p);
}

long crow_link_path_text(const char *link, const char *target, char *out, size_t cap)
{
    /* Components of the link's directory shared with the target, counted from the root. */
    size_t dirs = 0, common = 0, tcomps = 1;
    for (const char *p = strchr(link, '/'); p; p = strchr(p + 1, '/'))
        dirs++;
    for (const char *p = strchr(target, '/'); p; p = strchr(p + 1, '/'))
        tcomps++;
    while (common < dirs && common < tcomps) {
        size_t a = prefix_len(link, common + 1);
        if (prefix_len(target, common + 1) != a || memcmp(link, target, a) != 0)
            break;
        common++;
    }
    const char *rest = target;
    if (common)
        rest += prefix_len(target, common) + (target[prefix_len(target, common)] == '/');
    size_t n = 0, rlen = strlen(rest);
    for (size_t k = common; k < dirs; k++) {
        if (n + 3 >= cap)
            return CROW_ESPACE;
        memcpy(out + n, "../", 3);
        n += 3;
    }
    if (rlen == 0) { /* the target is the link's directory or one above it */
        if (n)
            n--; /* "../.." rather than "../../" */
        else
            out[n++] = '.';
        if (n >= cap)
            return CROW_ESPACE;
        out[n] = '\0';
        return (long)n;
    }
    if (n + rlen >= cap)
        return CROW_ESPACE;
    memcpy(out + n, rest, rlen + 1);
    return (long)(n + rlen);
}
