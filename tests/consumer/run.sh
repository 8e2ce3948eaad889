#!/usr/bin/env bash
# The four ways a program uses vkfuse, each from outside the source tree, each asking the
# shapes model about the example picture and checked against `vkfuse run` on the same inputs
# (the logit, which unlike the probability is not saturated):
#   1. find_package(vkfuse) against `cmake --install BUILD --prefix P`
#   2. a C99 program built with `pkg-config --cflags --libs vkfuse` against the same install
#   3. add_subdirectory of the checkout      4. FetchContent with SOURCE_DIR the checkout
# and the .deb that `cpack -G DEB` makes: unpacked, its `vkfuse devices` and `--version` run.
#   tests/consumer/run.sh BUILD              (BUILD: a configured and built vkfuse build tree)
set -euo pipefail
build=$(cd "$1" && pwd)
root=$(cd "$(dirname "$0")/../.." && pwd)
here=$root/tests/consumer
work=$(mktemp -d /tmp/vkfuse-consumer.XXXXXX)
trap 'rm -rf "$work"' EXIT
export XDG_RUNTIME_DIR=${XDG_RUNTIME_DIR:-/tmp}
model=$root/models/shapes_qa.safetensors
picture=$root/samples/data/shapes_example.png
question="is there a green circle"
gen=()
command -v ninja >/dev/null && gen=(-G Ninja)
jobs=$(nproc)

want=$("$build/vkfuse" run "$model" --text "$question" --image "$picture" |
       /usr/bin/python3 -c 'import json,sys; print(json.load(sys.stdin)["logits"]["data"][0])')
check() {  # name, output of the consumer
  local got
  got=$(sed -n 's/^logits //p' <<<"$2")
  /usr/bin/python3 - "$1" "$got" "$want" <<'PY'
import sys
name, got, want = sys.argv[1], float(sys.argv[2]), float(sys.argv[3])
ok = abs(got - want) <= 1e-5 * max(1.0, abs(want))
print("consumer %-14s logit %.6f, vkfuse run %.6f: %s" % (name, got, want, "ok" if ok else "DIFFERENT"), file=sys.stderr)
sys.exit(0 if ok else 1)
PY
}

prefix=$work/prefix
cmake --install "$build" --prefix "$prefix" >/dev/null

cmake -S "$here/find_package" -B "$work/fp" "${gen[@]}" -DCMAKE_BUILD_TYPE=Release -DCMAKE_PREFIX_PATH="$prefix" >/dev/null
cmake --build "$work/fp" --parallel "$jobs" >/dev/null
check find_package "$("$work/fp/ask" "$model" "$picture" "$question")"

PKG_CONFIG_PATH=$prefix/lib/pkgconfig cc -std=c99 -pedantic-errors -Wall -Wextra -o "$work/ask_c" "$here/pkg_config/ask.c" \
  $(PKG_CONFIG_PATH=$prefix/lib/pkgconfig pkg-config --cflags --libs vkfuse)
check pkg-config "$("$work/ask_c" "$model" "$picture" "$question")"

for way in subdirectory fetchcontent; do
  cmake -S "$here/$way" -B "$work/$way" "${gen[@]}" -DCMAKE_BUILD_TYPE=Release -DVKFUSE_SOURCE="$root" >/dev/null
  # The including project gets the library alone: no samples, tools or tests of vkfuse.
  for t in vkfuse_cli vkfuse_tests shapes_qa; do
    if cmake --build "$work/$way" --target help 2>/dev/null | grep -qw "$t"; then
      echo "consumer $way: vkfuse's $t is built inside another project" >&2
      exit 1
    fi
  done
  cmake --build "$work/$way" --parallel "$jobs" >/dev/null
  check "$way" "$("$work/$way/ask" "$model" "$picture" "$question")"
done

(cd "$build" && cpack -G DEB -B "$work/deb" >/dev/null)
deb=$(ls "$work"/deb/*.deb)
info=$(dpkg-deb --info "$deb")  # not piped into grep -q: with pipefail its early exit fails the pipe
grep -q 'Depends: libvulkan1' <<<"$info" || { echo "consumer deb: no Depends on libvulkan1" >&2; exit 1; }
dpkg-deb -x "$deb" "$work/debroot"
"$work/debroot/usr/bin/vkfuse" --version >&2
"$work/debroot/usr/bin/vkfuse" devices >/dev/null
test -f "$work/debroot/usr/lib/cmake/vkfuse/vkfuseConfig.cmake"
test -f "$work/debroot/usr/include/vkfuse/vkfuse.h"
echo "consumer deb: $(basename "$deb") unpacks; its vkfuse devices runs" >&2
