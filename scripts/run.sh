#!/usr/bin/env bash
# The README's quick start: installs what is missing, builds, then
#   run.sh sample   runs the flagship sample on the default device
#   run.sh test     runs every test (ctest; GPU tests under the Khronos validation layer)
set -euo pipefail
what=${1:-sample}
root=$(cd "$(dirname "$0")/.." && pwd)
build=${VKFUSE_BUILD_DIR:-$root/build}
export XDG_RUNTIME_DIR=${XDG_RUNTIME_DIR:-/tmp}

bash "$root/scripts/install-deps.sh"
gen=()
# A generator can only be chosen for a fresh build folder.
if [ ! -f "$build/CMakeCache.txt" ] && command -v ninja >/dev/null; then gen=(-G Ninja); fi
cmake -S "$root" -B "$build" ${gen[@]+"${gen[@]}"} -DCMAKE_BUILD_TYPE=Release -DVKFUSE_WERROR=ON >/dev/null
cmake --build "$build" --parallel "$(nproc)"

case "$what" in
  sample) exec "$build/shapes_qa" --out "$build/shapes_qa_out" ;;
  test) cd "$build" && exec ctest --output-on-failure --parallel "$(nproc)" --timeout 600 ;;
  *) echo "usage: scripts/run.sh [sample|test]" >&2; exit 2 ;;
esac
