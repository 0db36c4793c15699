/* Symlink targets as a manifest carries them (BEP 47 "symlink path"): a path relative to the release
 * root, normalised (no empty, "." or ".." component), so whether a link stays inside the release is
 * decided on the string alone, and a link is re-created with a relative text that climbs only to the
 * root. Pure string functions; no file system access.
 */
#ifndef CROWCAST_LINK_PATH_H
#define CROWCAST_LINK_PATH_H

#include <stddef.h>

/* Resolves `text`, the contents of a symlink found at release path `link`, lexically: relative to
 * the link's directory, "." dropped and ".." taking one component off. An absolute text is taken
 * only when it lies under `abs_root` (the release root's real path, no trailing '/'; NULL refuses
 * every absolute text). Writes the root-relative target, checked by crow_manifest_check_path, into
 * out[0..cap). Returns 0; CROW_EPATH when the target leaves the release, is the root itself, is an
 * absolute path outside abs_root or is not a safe path; CROW_ESPACE when it does not fit. */
int crow_link_path_target(const char *link, const char *text, const char *abs_root, char *out, size_t cap);

/* The shortest relative text a symlink at release path `link` can hold to point at root-relative
 * `target`: "../" up to the deepest directory the two share, then the rest of target ("a/b/l" ->
 * "c" gives "../../c", "lib/so" -> "lib/so.1" gives "so.1", "a/b/l" -> "a" gives ".."), so a
 * link written as such in a source tree is published with the same text. It climbs no higher than
 * that shared directory, inside the release. Returns the length written (NUL-terminated) or
 * CROW_ESPACE. */
long crow_link_path_text(const char *link, const char *target, char *out, size_t cap);

#endif
