#!/usr/bin/env bash
# On the GPU machine, from the inputs scripts/gpu-carry.mjs made: reassembles and checks the parts,
# unpacks Node, the weights and the app, unpacks the Vulkan loader (Dawn, ONNX Runtime's WebGPU,
# needs libvulkan.so.1), prints what the machine offers, then runs the gpu-providers bundle on the
# 30 s clip. Results go to $OUT: gpu-providers.json, gpu-providers.log, device.log, gpu-util.csv
# (and webgpu-verbose.log when WebGPU did not start).
#
#   bash device-run.sh <folder with SHA256SUMS and the last part> [folder with the other parts]
#
# Env: OUT (default $DEMIX_GPU_WORK/out), DEMIX_GPU_WORK (default /tmp/demix-gpu),
# DEMIX_GPU_LIMIT (seconds for the script, default 330), SKIP_GL=1 (do not unpack the loader
# debs into /: for a test run on an ordinary machine).
set -u
here=$(cd "$(dirname "$1/x")" && pwd)
parts=${2:-/tmp/demix-parts}
W=${DEMIX_GPU_WORK:-/tmp/demix-gpu}
OUT=${OUT:-$W/out}
LIMIT=${DEMIX_GPU_LIMIT:-330}
mkdir -p "$W" "$OUT" "$parts"
exec > >(tee -a "$OUT/device.log") 2>&1

echo "== parts"
cp "$here"/part-* "$parts"/
(cd "$parts" && sha256sum -c "$here/SHA256SUMS") || { echo "parts missing or damaged"; exit 2; }
cat "$parts"/part-* | tar -x -C "$W" || { echo "tar failed"; exit 2; }
cd "$W" || exit 2
xz -dc node.xz > node && chmod +x node || { echo "node: unpack failed"; exit 2; }
mkdir -p models && xz -T0 -dc model.onnx.xz > models/htdemucs.onnx || { echo "weights: unpack failed"; exit 2; }
rm -rf app && tar -xJf app.tar.xz || { echo "app: unpack failed"; exit 2; }
if [ -z "${SKIP_GL:-}" ]; then
  for f in gl/*.deb; do dpkg -x "$f" /; done
  ldconfig
fi
icd=/usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json
if [ -f "$icd" ]; then export VK_DRIVER_FILES=$icd; fi
egl=/usr/local/nvidia/share/glvnd/egl_vendor.d/10_nvidia.json
if [ -f "$egl" ]; then export __EGL_VENDOR_LIBRARY_FILENAMES=$egl; fi

echo "== machine"
date -u
uname -srm
grep -m1 'model name' /proc/cpuinfo; nproc
(command -v nvidia-smi >/dev/null && nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv) || echo "no nvidia-smi"
echo "libvulkan: $(ldconfig -p | grep -c libvulkan) entries; VK_DRIVER_FILES=${VK_DRIVER_FILES:-unset}"
ls /usr/share/vulkan/icd.d /etc/vulkan/icd.d /usr/local/nvidia/share/vulkan/icd.d 2>/dev/null
if command -v vulkaninfo >/dev/null; then timeout 30 vulkaninfo --summary 2>&1 | head -40; else echo "no vulkaninfo"; fi
echo "ffmpeg: $(command -v ffmpeg || echo none)"
echo "node $(./node --version)"

cd app || exit 2
NODE_PATH='' ../node -e "import('onnxruntime-node').then((o) => console.log('onnxruntime-node', o.env.versions.common, 'backends', JSON.stringify(o.listSupportedBackends())))"

echo "== gpu-providers (limit ${LIMIT} s)"
smi=
if command -v nvidia-smi >/dev/null; then
  nvidia-smi --query-gpu=timestamp,utilization.gpu,memory.used --format=csv -l 1 > "$OUT/gpu-util.csv" 2>&1 &
  smi=$!
fi
env NODE_PATH='' DEMIX_MODELS_DIR="$W/models" DEMIX_CACHE_DIR="$W/cache" timeout "$LIMIT" ../node gpu-providers.mjs clip-30s.wav --json "$OUT/gpu-providers.json" 2>&1 | tee "$OUT/gpu-providers.log"
rc=${PIPESTATUS[0]}
if [ -n "$smi" ]; then kill "$smi" 2>/dev/null; fi
echo "gpu-providers exit $rc"
if [ -f gpu-util.csv ] || [ -f "$OUT/gpu-util.csv" ]; then
  echo "GPU utilisation (max %, max MiB): $(awk -F', ' 'NR>1 {u=$2+0; m=$3+0; if (u>U) U=u; if (m>M) M=m} END {print U+0, M+0}' "$OUT/gpu-util.csv")"
fi

# WebGPU did not start: one more try with ONNX Runtime's verbose log, for the exact reason.
if ! grep -q '^webgpu: load' "$OUT/gpu-providers.log"; then
  echo "== webgpu verbose session start"
  cat > probe.mjs <<'EOF'
import * as ort from 'onnxruntime-node';
try {
  const s = await ort.InferenceSession.create(process.argv[2], { executionProviders: ['webgpu'], logSeverityLevel: 0, logVerbosityLevel: 0 });
  console.log('PROBE webgpu session created; inputs', s.inputNames.join(','));
} catch (e) {
  console.log('PROBE webgpu session failed:', String(e?.message ?? e));
}
EOF
  NODE_PATH='' timeout 120 ../node probe.mjs "$W/models/htdemucs.onnx" > "$OUT/webgpu-verbose.log" 2>&1
  grep -iE 'PROBE|webgpu|dawn|vulkan|adapter|error' "$OUT/webgpu-verbose.log" | grep -v 'Node placements' | head -40
fi
exit "$rc"
