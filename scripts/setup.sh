#!/usr/bin/env bash
# Installs what kiln needs on a fresh Debian machine (run as root, or with sudo for apt-get):
# LLVM 14 tools for the native target (opt, llc, cc), cmake for llvm-bindings' build, Mesa
# (llvmpipe, EGL/GLES) and Chromium (SwiftShader Vulkan, headless browser tests) for WebGPU, Open MPI
# for kiln.distributed (its tests run mpirun in a network namespace brought up with iproute2's `ip`);
# then the npm dependencies (llvm-bindings compiles from source: about 3-4 minutes).
# `--bench` also installs what the benchmarks compare against: PyTorch 1.13 (python3-torch) with
# OpenBLAS as its BLAS (libopenblas0-pthread; without it Debian's torch runs the reference BLAS).
set -euo pipefail
cd "$(dirname "$0")/.."

pkgs=(llvm-14 llvm-14-dev cmake g++ chromium libegl1 libgles2 libgl1-mesa-dri libvulkan1)
pkgs+=(openmpi-bin libopenmpi-dev iproute2)
[ "${1:-}" = "--bench" ] && pkgs+=(python3-torch libopenblas0-pthread)
need=()
for pkg in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || need+=("$pkg")
done
if [ ${#need[@]} -gt 0 ]; then
  echo "setup: installing ${need[*]}"
  export DEBIAN_FRONTEND=noninteractive
  sudo_=""; [ "$(id -u)" -eq 0 ] || sudo_="sudo"
  $sudo_ apt-get update -qq
  $sudo_ apt-get install -y -qq "${need[@]}" >/dev/null
fi
for tool in opt llc; do
  command -v "$tool" >/dev/null || ln -sf "/usr/bin/${tool}-14" "/usr/local/bin/${tool}"
done

npm ci --no-audit --no-fund
