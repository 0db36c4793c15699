#!/usr/bin/env bash
# it.relay_netns with rack 1's relay killed (kill -9) mid-transfer: see there.
RELAY_KILL=1 exec bash "$(dirname "$0")/relay_netns.sh"
