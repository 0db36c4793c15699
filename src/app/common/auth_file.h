/* Key files of the control plane (control_auth.h) read from disk: the tracker's --auth file, a
 * client's --key file. Plain blocking reads: once at start (and at the tracker's SIGHUP). */
#ifndef CROWCAST_APP_AUTH_FILE_H
#define CROWCAST_APP_AUTH_FILE_H

#include <stddef.h>

#include "crowcast/control_auth.h"

#define CROW_AUTH_FILE_MAX (2u * 1024 * 1024) /* bytes */

/* Reads every key line of path into keys[0..max) and *count. Returns 0, or a negative code with the
 * reason (naming the file, and the line) in why. Warns (log) when the group or others may read it. */
int crow_auth_file_read(const char *path, crow_control_auth_key_t *keys, size_t max, size_t *count, char *why,
                        size_t cap);
/* Reads a file holding exactly one key line (a client's). Same returns. */
int crow_auth_file_read_one(const char *path, crow_control_auth_key_t *key, char *why, size_t cap);

#endif
