/* The property check (crowcast sim --property N): random small datacenters, each drawn from a seed,
 * each of which must end with every peer verified within a bound derived from S/B. */
#ifndef CROWCAST_SIM_PROPERTY_H
#define CROWCAST_SIM_PROPERTY_H

#include <stddef.h>
#include <stdint.h>

#include "sim_world.h"

/* The scenario of `seed`: 1-5 racks of 1-8 hosts, 64 KiB to 16 MiB, 1 or 10 Gbit/s, one loss model
 * (none, random, bursty, a rack's uplink, a slow host), a start order, and one kill -9 and restart of
 * a peer, the seeder or the tracker. */
void sim_property_config(uint64_t seed, sim_config_t *c);
/* The simulated time (s) by which every peer must be verified. */
double sim_property_bound_s(const sim_config_t *c);
/* The crowcast sim command line that replays c exactly. Returns its length (snprintf's). */
int sim_property_command(const sim_config_t *c, char *buf, size_t cap);

#endif
