#!/usr/bin/env bash
# Checks that every C source and header is formatted per .clang-format.
#   tools/check-format.sh        list the files that differ, exit 1 if any
#   tools/check-format.sh --fix  reformat them in place
set -euo pipefail
cd "$(dirname "$0")/.."
command -v clang-format >/dev/null || { echo "check-format: clang-format not installed (tools/setup.sh)" >&2; exit 2; }
mapfile -t files < <(git ls-files '*.c' '*.h' 2>/dev/null || find src include tools tests bench -name '*.[ch]')
if [[ "${1:-}" == "--fix" ]]; then
  clang-format -i "${files[@]}"
  exit 0
fi
bad=0
for f in "${files[@]}"; do
  if ! clang-format --dry-run --Werror "$f" >/dev/null 2>&1; then
    echo "not formatted: $f (run tools/check-format.sh --fix)"
    bad=1
  fi
done
exit $bad
