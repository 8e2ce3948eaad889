#!/usr/bin/env bash
# Installs the Debian packages vkfuse needs to build, test and run its samples; with --tools
# also those of its Python tools (the converter, the tokenizer port, the trainer: PyTorch,
# torchvision), whose own tests the test command runs.
# Idempotent and quiet: prints nothing and installs nothing when all are present.
set -euo pipefail
pkgs=(
  cmake g++ clang libclang-rt-14-dev ninja-build pkg-config
  libvulkan-dev libvulkan1 mesa-vulkan-drivers vulkan-validationlayers vulkan-tools
  glslang-tools spirv-tools
  libglm-dev libgtest-dev nlohmann-json3-dev libcli11-dev libstb-dev
)
if [ "${1:-}" = "--tools" ]; then
  pkgs+=(python3 python3-torch python3-torchvision python3-numpy python3-pil python3-regex python3-dev pybind11-dev
         python3-onnx libonnx-testdata libopenblas0-pthread)
fi
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0
echo "vkfuse: installing ${missing[*]}" >&2
sudo=""
[ "$(id -u)" -ne 0 ] && sudo="sudo"
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq >/dev/null
$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
