#!/usr/bin/env bash
# Runs on the lent GPU machine, from the repository root, after bench/device/pack.sh here:
# unpacks node and dawn.node, installs the Vulkan loader, points it at NVIDIA's driver, checks
# that Dawn sees an adapter (the preflight: adapter, features, limits; none fails fast), then runs the default-model bench and the scale bench, writing their
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
# The adapter first: none (or only SwiftShader) fails here, in seconds, with the reason.
if ! /tmp/node "$pack/bench.mjs" --preflight >"$out/preflight.json" 2>"$out/preflight.log"; then
  cat "$out/preflight.log"; exit 2
fi
cat "$out/preflight.json"
# One line of JSON each on stdout; the notes on stderr go to the logs.
/tmp/node "$pack/bench.mjs" --model models/mixscope-tiny >"$out/bench.json" 2>"$out/bench.log"; echo "bench exit $?"
/tmp/node "$pack/bench.mjs" --scale >"$out/scale.json" 2>"$out/scale.log"; echo "scale exit $?"
tail -n 5 "$out/bench.log" "$out/scale.log"
