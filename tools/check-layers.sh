#!/usr/bin/env bash
# The layer check (STYLE.md "Layers"): the sans-I/O layers name nothing of src/io or liburing.
#   tools/check-layers.sh [BUILD_DIR]
# Fails (exit 1, one line a violation) when
#  - a file of src/util, src/codec, src/engine or src/storage includes liburing, a header of src/io,
#    the public header of an io module (crowcast/loop.h, udp.h, tcp.h ...) or a public header that
#    includes one of those, at any depth;
#  - a file of src/codec, src/engine or src/storage includes crowcast/clock.h (engines take the time
#    as a parameter), or a file of src or tools other than src/util/clock.c reads a clock itself
#    (clock_gettime, gettimeofday, time(), timespec_get);
#  - a file of src/codec, src/engine or src/storage includes crowcast/log.h (they report through return
#    values, reasons and events; the glue above them logs);
#  - a file of src or tools outside src/io makes a socket (socket(): the io helpers make them);
#  - with BUILD_DIR (ctest passes it): the link line of a unit test built on those layers alone
#    names liburing or crow_io.
set -euo pipefail
cd "$(dirname "$0")/.."
lower=(src/util src/codec src/engine src/storage)
build=${1:-}

# The include targets of a file, one a line ("crowcast/loop.h", "liburing.h", "loop_internal.h").
includes() { sed -n 's/^[[:space:]]*#[[:space:]]*include[[:space:]]*[<"]\([^>"]*\)[>"].*/\1/p' "$1"; }

declare -A io=()
for c in src/io/*.c; do
  m=$(basename "${c%.c}")
  [[ -f include/crowcast/$m.h ]] && io[crowcast/$m.h]=1
done
for h in src/io/*.h; do io[$(basename "$h")]=1; done
io_name() { [[ -n ${io[$1]:-} || $1 == liburing* || $1 == */io/* || $1 == io/* ]]; }

# A public header that includes an io header is one itself: repeat until nothing changes.
changed=1
while ((changed)); do
  changed=0
  for h in include/crowcast/*.h; do
    name=crowcast/$(basename "$h")
    [[ -n ${io[$name]:-} ]] && continue
    while read -r inc; do
      if io_name "$inc"; then
        io[$name]=1
        changed=1
        break
      fi
    done < <(includes "$h")
  done
done

bad=0
files=0
checked=0
for f in $(find "${lower[@]}" -name '*.[ch]' | sort); do
  files=$((files + 1))
  while IFS=: read -r n inc; do
    if io_name "$inc"; then
      echo "layers: $f:$n includes $inc, which is io or reaches it: ${f%/*} stays sans I/O"
      bad=1
    fi
  done < <(grep -n '^[[:space:]]*#[[:space:]]*include' "$f" | sed 's/^\([0-9]*\):[^<"]*[<"]\([^>"]*\)[>"].*/\1:\2/')
done

# The clocks: read in util/clock.c alone, and never by the sans-I/O layers above util; nor do they log.
for f in $(find src/codec src/engine src/storage -name '*.[ch]' | sort); do
  while IFS=: read -r n inc; do
    if [[ $inc == crowcast/clock.h ]]; then
      echo "layers: $f:$n includes $inc: ${f%/*} takes the time as a parameter"
      bad=1
    elif [[ $inc == crowcast/log.h ]]; then
      echo "layers: $f:$n includes $inc: ${f%/*} reports (a return value, a reason, an event) and its caller logs"
      bad=1
    fi
  done < <(grep -n '^[[:space:]]*#[[:space:]]*include' "$f" | sed 's/^\([0-9]*\):[^<"]*[<"]\([^>"]*\)[>"].*/\1:\2/')
done
while IFS=: read -r f n _; do
  [[ $f == src/util/clock.c ]] && continue
  echo "layers: $f:$n reads a clock itself: call crow_clock_mono_ns or crow_clock_wall_ns (crowcast/clock.h)"
  bad=1
done < <(grep -rnE '(^|[^_[:alnum:]])((clock_gettime|gettimeofday|timespec_get)[[:space:]]*|time)\(' src tools --include='*.[ch]' |
  grep -vE '^[^:]*:[0-9]*:[[:space:]]*(/?\*|//)' || true)

# Sockets: made in src/io alone (the loop's UDP and TCP, and its blocking helpers for a launcher).
while IFS=: read -r f n _; do
  echo "layers: $f:$n makes a socket itself: use src/io (crowcast/udp.h, crowcast/tcp.h)"
  bad=1
done < <(grep -rnE '(^|[^_[:alnum:]])socket\(' src tools --include='*.[ch]' | grep -v '^src/io/' |
  grep -vE '^[^:]*:[0-9]*:[[:space:]]*(/?\*|//)' || true)

if [[ -n $build ]]; then
  # crow_unit_test(MODULE LIB...): the tests whose libraries all sit below io.
  while read -r module libs; do
    for lib in $libs; do
      case $lib in crow_util | crow_codec | crow_engine | crow_storage) ;; *) continue 2 ;; esac
    done
    link=$build/tests/CMakeFiles/check_$module.dir/link.txt
    if [[ ! -f $link ]]; then
      echo "layers: no $link (build first)"
      bad=1
      continue
    fi
    checked=$((checked + 1))
    if grep -qE 'uring|libcrow_io\.a|libcrow_app\.a' "$link"; then
      echo "layers: check_$module links $(grep -oE '[^ ]*(uring|libcrow_io\.a|libcrow_app\.a)[^ ]*' "$link" | tr '\n' ' ')"
      bad=1
    fi
  done < <(sed -n 's/^crow_unit_test(\([a-z0-9_]*\) \([^)]*\))$/\1 \2/p' tests/CMakeLists.txt)
  if ((checked == 0)); then
    echo "layers: found no unit test on the lower layers in tests/CMakeLists.txt"
    bad=1
  fi
fi
((bad)) || echo "layers: ok: $files files of ${lower[*]} name nothing of io (${!io[*]}); clocks read in src/util/clock.c alone; no log from codec, engine or storage; sockets made in src/io alone; $checked unit tests link without liburing"
exit $bad
