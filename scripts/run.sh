#!/usr/bin/env bash
# The README's quick start: installs what is missing, builds, then
#   run.sh sample   runs the flagship sample on the default device
#   run.sh test     runs every test (ctest; GPU tests under the Khronos validation layer), the
#                   Python tools' tests, the fuzzers, and the tests of untrusted input again
#                   under ASan and UBSan
set -euo pipefail
what=${1:-sample}
root=$(cd "$(dirname "$0")/.." && pwd)
build=${VKFUSE_BUILD_DIR:-$root/build}
export XDG_RUNTIME_DIR=${XDG_RUNTIME_DIR:-/tmp}

if [ "$what" = test ]; then bash "$root/scripts/install-deps.sh" --tools; else bash "$root/scripts/install-deps.sh"; fi
gen=()
# A generator can only be chosen for a fresh build folder.
if [ ! -f "$build/CMakeCache.txt" ] && command -v ninja >/dev/null; then gen=(-G Ninja); fi
# The test command also builds the Python module (install-deps --tools brings pybind11).
py=()
if [ "$what" = test ]; then py=(-DVKFUSE_BUILD_PYTHON=ON); fi
cmake -S "$root" -B "$build" ${gen[@]+"${gen[@]}"} ${py[@]+"${py[@]}"} -DCMAKE_BUILD_TYPE=Release -DVKFUSE_WERROR=ON >/dev/null
cmake --build "$build" --parallel "$(nproc)"

# The tests of what reads files and inputs from strangers (model loader, sessions, every
# arch against PyTorch, hostile files, the pipeline cache, the command line's bad input) once
# more, built by clang (the compiler of Android's NDK and Apple) under AddressSanitizer and
# UBSan, so a memory bug fails the run, after the libFuzzer targets of tests/fuzz for 30 s
# each. LeakSanitizer stays off for the tests: Vulkan drivers keep allocations for the life
# of the process.
sanitized_tests() {
  local san="$build-sanitize"
  gen=()
  if [ ! -f "$san/CMakeCache.txt" ] && command -v ninja >/dev/null; then gen=(-G Ninja); fi
  CXX=clang++ cmake -S "$root" -B "$san" ${gen[@]+"${gen[@]}"} -DCMAKE_BUILD_TYPE=Debug -DVKFUSE_WERROR=ON \
    -DVKFUSE_SANITIZE=address,undefined,fuzzer-no-link -DVKFUSE_BUILD_FUZZERS=ON >/dev/null
  cmake --build "$san" --parallel "$(nproc)" --target vkfuse_tests fuzz_safetensors fuzz_config fuzz_inputs fuzz_tokenizer fuzz_image fuzz_onnx
  bash "$root/tests/fuzz/run.sh" "$san" "${VKFUSE_FUZZ_SECONDS:-30}"
  cd "$san" && ASAN_OPTIONS=detect_leaks=0 UBSAN_OPTIONS=print_stacktrace=1 \
    ctest --output-on-failure --parallel "$(nproc)" --timeout 600 \
    -R '^(Model|Network/SessionTest|Safetensors|SafetensorsHalf|Cli|CliRun|Reference|Models/TorchCases|HostileFiles|OnnxHostile|OnnxGraph|EmptyAndNaN|PipelineCacheFile|Tokenizer|TokenizerCases|TokenizerUnicode|TokenizerErrors|TokenizerCli|Image|StandardModels|EndToEnd|Cli/EndToEndRun)\.'
}

# The Python tools against their own tests: the converter (on folders laid out as Hugging Face
# and torchvision save them, and through the command line built above), the tokenizer port
# the C++ tokenizers are checked against, the shapes trainers, the other renderer's answers.
tool_tests() {
  for t in test_vkfuse_export test_hf_tokenizers test_train_shapes test_train_shapes_clip; do
    local log=$build/$t.log
    if VKFUSE_BIN="$build/vkfuse" /usr/bin/python3 "$root/tools/$t.py" >"$log" 2>&1; then
      echo "tools/$t.py: $(tail -n 1 "$log")" >&2
    else
      cat "$log" >&2
      echo "vkfuse: tools/$t.py failed" >&2
      exit 1
    fi
  done
  # torchvision's models exported to ONNX (seeded weights) through `vkfuse run` on the GPU
  # (normal and portable, validation layer) and --cpu, each within 1e-3 of PyTorch.
  local zlog=$build/onnx_zoo.log
  if VKFUSE_BIN="$build/vkfuse" /usr/bin/python3 "$root/tools/onnx_zoo.py" --out "$build/onnx_zoo" >"$zlog" 2>&1; then
    echo "tools/onnx_zoo.py: $(tail -n 1 "$zlog")" >&2
  else
    cat "$zlog" >&2
    echo "vkfuse: tools/onnx_zoo.py failed" >&2
    exit 1
  fi
  # The Python module from the build tree, under the validation layer: a message fails it.
  local log=$build/test_vkfuse_python.log
  if VKFUSE_PYTHONPATH="$build/python" VKFUSE_BIN="$build/vkfuse" VKFUSE_VALIDATION=1 \
      /usr/bin/python3 "$root/tests/python/test_vkfuse.py" >"$log" 2>&1 && ! grep -q "vkfuse: validation" "$log"; then
    echo "tests/python/test_vkfuse.py: $(tail -n 1 "$log")" >&2
  else
    cat "$log" >&2
    echo "vkfuse: tests/python/test_vkfuse.py failed" >&2
    exit 1
  fi
}

case "$what" in
  sample) exec "$build/shapes_qa" --out "$build/shapes_qa_out" ;;
  test)
    (cd "$build" && ctest --output-on-failure --parallel "$(nproc)" --timeout 600)
    echo "vkfuse: the Python tools' tests" >&2
    tool_tests
    echo "vkfuse: programs that use vkfuse (find_package, pkg-config, add_subdirectory, FetchContent) and the .deb" >&2
    bash "$root/tests/consumer/run.sh" "$build"
    echo "vkfuse: the fuzzers, then the loader, session, hostile-file and command-line tests again (clang, AddressSanitizer, UBSan)" >&2
    sanitized_tests ;;
  *) echo "usage: scripts/run.sh [sample|test]" >&2; exit 2 ;;
esac
