#!/usr/bin/env bash
# The real-GPU check of docs/TUNING.md in one prepared run, for a machine that has a GPU but
# no build tools (such as the device machine of DEVELOPERS.md's workplace):
#
#   bash scripts/gpu-check.sh prepare [DIR]   # here: build/ binaries, the libraries they load
#                                             # (stb, the Vulkan loader, the validation layer)
#   bash scripts/gpu-check.sh run [DIR] [OUT] # there: the files below, into OUT ($OUT or ./gpu-out)
#
# DIR defaults to .gpu-check (git-ignored through .git/info/exclude by `prepare`). `run` writes
# 8 files at most: check.json and check_portable.json (with the device and driver), tests.log
# (the GPU suites under the validation layer: those that need no data files of the source
# tree), bench.json, bench_attention.json, bench_networks.json, torch.json (PyTorch CUDA on the
# same shapes, where python3 has torch with CUDA) and steps.log (each step's time and stderr).
# A failing step does not stop the rest; `run` exits non-zero when any failed.
# VKFUSE_GPU_CHECK_REPS sets the bench reps (default 9).
set -uo pipefail
cd "$(dirname "$0")/.."
mode=${1:-}
dir=${2:-.gpu-check}

prepare() {
  [ -x build/vkfuse ] && [ -x build/tests/vkfuse_tests ] || { echo "gpu-check: build first (bash scripts/run.sh test)" >&2; exit 2; }
  rm -rf "$dir" && mkdir -p "$dir/lib" "$dir/layers"
  cp build/vkfuse build/tests/vkfuse_tests "$dir/"
  # Shared libraries beyond the C and C++ runtimes, and the loader vkfuse opens at run time.
  for lib in $(ldd build/vkfuse build/tests/vkfuse_tests | awk '/=>/ {print $3}' | sort -u); do
    case "$(basename "$lib")" in libc.so*|libm.so*|libstdc++.so*|libgcc_s.so*|ld-linux*) ;; *) cp -L "$lib" "$dir/lib/" ;; esac
  done
  cp -L "$(ldconfig -p | awk '/libvulkan.so.1 .*x86-64/ {print $NF; exit}')" "$dir/lib/"
  cp -L /usr/lib/x86_64-linux-gnu/libVkLayer_khronos_validation.so "$dir/layers/"
  sed 's#"library_path": "[^"]*"#"library_path": "./libVkLayer_khronos_validation.so"#' \
    /usr/share/vulkan/explicit_layer.d/VkLayer_khronos_validation.json > "$dir/layers/VkLayer_khronos_validation.json"
  grep -qx "/$dir/" .git/info/exclude 2>/dev/null || echo "/$dir/" >> .git/info/exclude
  du -sh "$dir"
}

run() {
  local out=${3:-${OUT:-gpu-out}} reps=${VKFUSE_GPU_CHECK_REPS:-9} failed=0
  mkdir -p "$out"
  dir=$(cd "$dir" && pwd)
  export LD_LIBRARY_PATH="$dir/lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}" VK_LAYER_PATH="$dir/layers" XDG_RUNTIME_DIR=${XDG_RUNTIME_DIR:-/tmp}
  # NVIDIA's ICD where the loader does not find one by itself.
  local nv=/usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json
  [ -z "${VK_DRIVER_FILES:-}" ] && [ -f "$nv" ] && export VK_DRIVER_FILES=$nv
  local log="$out/steps.log"
  : > "$log"
  step() {  # name, output file, command...
    local name=$1 file=$2 t0=$SECONDS status=ok
    shift 2
    echo "gpu-check: $name" >&2
    echo "== $name: $*" >> "$log"
    "$@" > "$out/$file" 2>> "$log" || { status=FAILED; failed=1; }
    echo "== $name: $status ($((SECONDS - t0)) s)" >> "$log"
    echo "gpu-check: $name $status ($((SECONDS - t0)) s)" >&2
  }
  "$dir/vkfuse" devices >> "$log" 2>&1
  step "check" check.json "$dir/vkfuse" check --json
  step "check --portable" check_portable.json "$dir/vkfuse" check --json --portable
  step tests tests.log "$dir/vkfuse_tests" \
    --gtest_filter='Kernel/*:Tiles/*:SharedReduce/*:Tiled/*:Runtime/*:Module/*:Network/*:VendorTuning.*:AttentionErrors.*'
  step bench bench.json "$dir/vkfuse" bench --json --reps "$reps"
  step "bench --attention" bench_attention.json "$dir/vkfuse" bench --json --attention --reps "$reps"
  step "bench --networks" bench_networks.json "$dir/vkfuse" bench --json --networks --reps "$reps"
  if python3 -c 'import torch, sys; sys.exit(0 if torch.cuda.is_available() else 1)' 2>/dev/null; then
    step "PyTorch CUDA" torch.json python3 - <<'PY'
import json, torch, torch.nn.functional as F
def ms(fn, reps=20):
    fn(); torch.cuda.synchronize()
    ev = [(torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)) for _ in range(reps)]
    for a, b in ev:
        a.record(); fn(); b.record()
    torch.cuda.synchronize()
    t = sorted(a.elapsed_time(b) for a, b in ev)
    return t[len(t) // 2]
torch.backends.cuda.matmul.allow_tf32 = False  # fp32 as vkfuse computes
r = {"device": torch.cuda.get_device_name(), "torch": torch.__version__, "method": "CUDA events, median of 20"}
for m, n, k in ((1024, 1024, 1024), (2048, 2048, 2048), (197, 3072, 768), (197, 768, 3072)):
    a, b = torch.randn(m, k, device="cuda"), torch.randn(n, k, device="cuda")
    t = ms(lambda: F.linear(a, b))
    r["matmul %dx%dx%d B^T" % (m, n, k)] = {"ms": t, "gflops": 2 * m * n * k / t / 1e6}
q = torch.randn(1, 12, 197, 64, device="cuda")
r["sdpa ViT-B (1, 12, 197, 64)"] = {"ms": ms(lambda: F.scaled_dot_product_attention(q, q, q))}
print(json.dumps(r, indent=2))
PY
  fi
  ls -la "$out" >&2
  return $failed
}

case "$mode" in
  prepare) prepare ;;
  run) run "$@" ;;
  *) echo "usage: bash scripts/gpu-check.sh prepare|run [DIR] [OUT]" >&2; exit 2 ;;
esac
