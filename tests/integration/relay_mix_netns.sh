#!/usr/bin/env bash
# it.relay_netns on a flat fabric with rack 1 direct and rack 2 relayed: see there.
RELAY_MIX=1 exec bash "$(dirname "$0")/relay_netns.sh"
