/* Dotted-quad IPv4 text (crowcast/ipv4.h). */
#include <stdio.h>
#include <string.h>

#include "crowcast/error.h"
#include "crowcast/ipv4.h"
#include "crowcast/units.h"

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

bool crow_ipv4_parse_endpoint(const char *text, size_t len, uint32_t *addr, uint16_t *port)
{
    const char *colon = memchr(text, ':', len);
    uint64_t p;
    uint32_t a;
    if (!colon || !crow_ipv4_parse(text, (size_t)(colon - text), &a) ||
        !crow_parse_decimal(colon + 1, len - (size_t)(colon + 1 - text), 65535, &p) || p == 0)
        return false;
    *addr = a;
    *port = (uint16_t)p;
    return true;
}

void crow_ipv4_format(uint32_t addr, char out[16])
{
    snprintf(out, 16, "%u.%u.%u.%u", addr >> 24, (addr >> 16) & 255, (addr >> 8) & 255, addr & 255);
}

int crow_ipv4_parse_in(const char *text, struct in_addr *out)
{
    uint32_t addr;
    if (!crow_ipv4_parse(text, strlen(text), &addr))
        return CROW_EUSAGE;
    out->s_addr = htonl(addr);
    return 0;
}

int crow_ipv4_parse_sockaddr(const char *text, struct sockaddr_in *out)
{
    uint32_t addr;
    uint16_t port;
    if (!crow_ipv4_parse_endpoint(text, strlen(text), &addr, &port))
        return CROW_EUSAGE;
    memset(out, 0, sizeof *out);
    out->sin_family = AF_INET;
    out->sin_port = htons(port);
    out->sin_addr.s_addr = htonl(addr);
    return 0;
}
