#!/usr/bin/env bash
# Packs `npm run bench` for the lent GPU machine (no Node, no node_modules, no network there):
# the bench bundled into one module, this machine's node binary and dawn.node compressed, and
# the Vulkan loader's Debian package. Writes .device-bench/ (ignored by git, about 30 MB);
# bench/device/run.sh unpacks and runs it there. See bench/device/README.md.
set -euo pipefail
cd "$(dirname "$0")/../.."
out=.device-bench
npx vite build -c bench/device/vite.config.ts        # -> $out/bench.mjs (empties $out first)
mkdir -p "$out/dist/linux-x64"
xz -T2 -6 -c node_modules/webgpu/dist/linux-x64/dawn.node >"$out/dist/linux-x64/dawn.node.xz"
xz -T2 -6 -c "$(readlink -f "$(command -v node)")" >"$out/node.xz"
# The Vulkan loader (libvulkan1): the GPU machine has NVIDIA's driver and ICD but maybe no loader.
lists=/tmp/mixscope-apt-amd64
mkdir -p "$lists/partial"
apt=(-oAPT::Architecture=amd64 -oAPT::Architectures=amd64 -oDir::State::Lists="$lists")
apt-get "${apt[@]}" update -qq
(cd "$out" && apt-get "${apt[@]}" download -qq libvulkan1)
du -sh "$out"
