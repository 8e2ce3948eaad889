#!/usr/bin/env bash
# Runs each libFuzzer target for SECONDS (default 30) on a corpus seeded from tests/data and
# tests/fuzz/seeds, kept in BUILD/fuzz-corpus so that later runs start where earlier ones
# stopped. Exits non-zero, with the target's log, on any crash, leak, timeout or sanitizer
# report.
#   tests/fuzz/run.sh BUILD [SECONDS]      BUILD configured with -DVKFUSE_BUILD_FUZZERS=ON
set -euo pipefail
build=$(cd "$1" && pwd)
secs=${2:-30}
root=$(cd "$(dirname "$0")/../.." && pwd)
corpus=$build/fuzz-corpus
mkdir -p "$corpus/safetensors" "$corpus/config" "$corpus/inputs" "$corpus/tokenizer" "$corpus/image" "$corpus/onnx"
for f in "$root"/tests/data/*/*/*.safetensors "$root"/tests/data/*/*.safetensors; do
  name=$(echo "${f#"$root"/tests/data/}" | tr / _)
  cp "$f" "$corpus/safetensors/$name"
  case "$f" in */input.safetensors) cp "$f" "$corpus/inputs/$name" ;; esac
done
# fuzz_config's first byte picks the fixture whose tensors go with the config.
for f in "$root"/tests/fuzz/seeds/config/*.json; do
  for i in 0 1 2 3 4 5 6; do { printf "\\x0$i"; cat "$f"; } > "$corpus/config/$i-$(basename "$f")"; done
done
# fuzz_tokenizer: metadata behind a 0 byte, texts behind a 1; fuzz_image: the pictures.
for f in "$root"/tests/data/tokenizer/*.json; do
  { printf "\\x00"; cat "$f"; } > "$corpus/tokenizer/meta-$(basename "$f")"
done
printf '\x01A photo of a cat!' > "$corpus/tokenizer/text-cat"
printf "\x01The dog's 3 balls, 12 toys & a caf\xc3\xa9." > "$corpus/tokenizer/text-dog"
for f in "$root"/tests/data/image/*.png "$root"/tests/data/image/*.jpg "$root"/tests/data/e2e/clip/pictures/*; do
  cp "$f" "$corpus/image/$(basename "$f")"
done
# fuzz_onnx: the committed exports and the hostile files, which reach the reader's refusals.
for f in "$root"/tests/data/onnx/*/*.onnx "$root"/tests/data/onnx_hostile/*.onnx; do
  name=$(echo "${f#"$root"/tests/data/}" | tr / _)
  cp "$f" "$corpus/onnx/$name"
done
status=0
for t in safetensors config inputs tokenizer image onnx; do
  log=$build/fuzz-$t.log
  if ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 "$build/tests/fuzz/fuzz_$t" \
       -max_total_time="$secs" -max_len=131072 -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
       -artifact_prefix="$build/fuzz-$t-" "$corpus/$t" >"$log" 2>&1; then
    runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")
    echo "fuzz_$t: ${runs:-?} runs in ${secs} s, no finding"
  else
    echo "fuzz_$t: FAILED (log $log, reproducer $build/fuzz-$t-*):" >&2
    tail -n 40 "$log" >&2
    status=1
  fi
done
exit $status
