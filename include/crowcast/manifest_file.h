/* A release manifest read from a .torrent file: the file side of crow_manifest_parse (codec/manifest
 * parses buffers and touches no file). */
#ifndef CROWCAST_MANIFEST_FILE_H
#define CROWCAST_MANIFEST_FILE_H

#include <stddef.h>
#include "crowcast/manifest.h"

/* Reads and parses the .torrent file at path (a regular file of at most CROW_MANIFEST_MAX_BYTES; a
 * FIFO is refused, not waited on). Returns what crow_manifest_parse returns, plus -errno for I/O,
 * CROW_EMANIFEST (not a regular file) and CROW_ELIMIT (too large); why gets a one-line reason. */
int crow_manifest_file_load(const char *path, crow_manifest_t *m, char *why, size_t why_cap);

#endif
