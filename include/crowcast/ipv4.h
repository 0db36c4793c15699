/* Dotted-quad IPv4 addresses as text, in host byte order: the one parser and formatter behind the
 * command line, tracker queries, probe reports and the diagnostics. */
#ifndef CROWCAST_IPV4_H
#define CROWCAST_IPV4_H

#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Parses exactly "a.b.c.d" in text[0..len) (each 0..255, no sign, space or leading zero: "010" is
 * octal to some parsers and decimal to others). True with *addr set, else false. */
bool crow_ipv4_parse(const char *text, size_t len, uint32_t *addr);
/* Parses exactly "a.b.c.d:port" in text[0..len): the address as crow_ipv4_parse, the port 1..65535
 * in strict decimal (crow_parse_decimal). True with both set, else false. */
bool crow_ipv4_parse_endpoint(const char *text, size_t len, uint32_t *addr, uint16_t *port);
/* "a.b.c.d" into out (16 bytes: the longest form and its NUL). */
void crow_ipv4_format(uint32_t addr, char out[16]);
/* The same as socket types: "a.b.c.d" into *out, "a.b.c.d:port" into *out (AF_INET, network byte
 * order). Return 0 or CROW_EUSAGE. */
int crow_ipv4_parse_in(const char *text, struct in_addr *out);
int crow_ipv4_parse_sockaddr(const char *text, struct sockaddr_in *out);

#endif
