#!/usr/bin/env bash
# Runs on the lent GPU machine, from the repository root, after bench/device/pack.sh here:
# unpacks node and dawn.node, installs the Vulkan loader, points it at NVIDIA's driver, checks
# that Dawn sees the GPU, then runs the default-model bench and the scale bench, writing their
# JSON (and the logs) to $OUT. The device call: carry [".device-bench"], command
# `bash bench/device/run.sh`.
set -uo pipefail
pack=.device-bench
out=${OUT:-/tmp/mixscope-bench}
mkdir -p "$out"
for f in "$pack"/*.deb; do dpkg -x "$f" /; done
ldconfig
export VK_DRIVER_FILES=${VK_DRIVER_FILES:-/usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json}
xz -dc "$pack/node.xz" >/tmp/node && chmod +x /tmp/node
xz -dc "$pack/dist/linux-x64/dawn.node.xz" >"$pack/dist/linux-x64/dawn.node"
nvidia-smi --query-gpu=name,driver_version,memory.total,clocks.max.memory --format=csv | tee "$out/gpu.txt"
/tmp/node "$pack/bench.mjs" --model models/mixscope-tiny 2>&1 | tee "$out/bench.json"
/tmp/node "$pack/bench.mjs" --scale 2>&1 | tee "$out/scale.json"
