/* Dotted-quad IPv4 text (crowcast/ipv4.h). */
#include <stdio.h>

#include "crowcast/ipv4.h"

bool crow_ipv4_parse(const char *text, size_t len, uint32_t *addr)
{
    uint32_t v = 0;
    size_t i = 0;
    for (int part = 0; part < 4; part++) {
        if (part > 0) {
            if (i >= len || text[i] != '.')
                return false;
            i++;
        }
        size_t first = i;
        unsigned octet = 0;
        while (i < len && text[i] >= '0' && text[i] <= '9' && i - first < 3)
            octet = octet * 10 + (unsigned)(text[i++] - '0');
        size_t digits = i - first;
        if (digits == 0 || octet > 255 || (digits > 1 && text[first] == '0'))
            return false;
        v = v << 8 | octet;
    }
    if (i != len)
        return false;
    *addr = v;
    return true;
}

void crow_ipv4_format(uint32_t addr, char out[16])
{
    snprintf(out, 16, "%u.%u.%u.%u", addr >> 24, (addr >> 16) & 255, (addr >> 8) & 255, addr & 255);
}
