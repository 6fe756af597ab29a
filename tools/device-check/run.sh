#!/bin/bash
# ShardScope's CLI with the WebGPU backend (tfjs-backend-webgpu over Dawn) on this machine's GPU
# through Vulkan, from .devpack/pack.tar.xz (Node, the built CLI, pruned node_modules, Vulkan
# loader), which tools/device-check/make-pack.sh builds on a development machine.
#
#   bash tools/device-check/run.sh   # from the repo root on the device machine; OUT is set there
#
# Writes $OUT/log.txt (everything), $OUT/backends.json (+ backends-vk.json if the NVIDIA ICD had
# to be named), $OUT/make-demo.json, $OUT/train-{webgpu,wasm,cpu}.json, $OUT/metrics-webgpu.jsonl
# (the WebGPU run's per-step log). Exit codes of train: 0 healthy, 1 a health check failed
# (normal for short runs), 130 stopped by the timeout (SIGINT). Finishes inside
# SS_BUDGET_S (default 330 s): each step's timeout is cut to what is left.
# Knobs (env): SS_PACK SS_DIR SS_BUDGET_S SS_TRAIN SS_VAL SS_SHARD SS_BATCH SS_EPOCHS SS_MAXB SS_VALN
#              SS_CPU_MAXB SS_CPU_VALN SS_CPU_BATCH SS_SKIP (space-separated: wasm cpu)
set -u
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
PACK=${SS_PACK:-$HERE/../../.devpack/pack.tar.xz}
SS=${SS_DIR:-/tmp/ss}
OUT=${OUT:-$(mktemp -d /tmp/ss-out.XXXXXX)}
mkdir -p "$OUT"
BUDGET_S=${SS_BUDGET_S:-330}
START=$(date +%s)
TRAIN_N=${SS_TRAIN:-3000}; VAL_N=${SS_VAL:-600}
BATCH=${SS_BATCH:-64}; EPOCHS=${SS_EPOCHS:-2}; MAXB=${SS_MAXB:-20}; VALN=${SS_VALN:-256}
CPU_MAXB=${SS_CPU_MAXB:-1}; CPU_VALN=${SS_CPU_VALN:-32}; CPU_BATCH=${SS_CPU_BATCH:-16}; SHARD=${SS_SHARD:-300}
SKIP=" ${SS_SKIP:-} "

left() { echo $(( BUDGET_S - ($(date +%s) - START) )); }
ms_since() { echo $(( ($(date +%s%N) - $1) / 1000000 )); }

# step NAME MAX_S STDOUT_FILE|- CMD...   (stdout to the file, stderr to the log)
step() {
  local name=$1 max=$2 out=$3; shift 3
  local l; l=$(left)
  local t=$(( max < l - 5 ? max : l - 5 ))
  if (( t < 10 )); then echo "### $name: skipped, ${l}s of the ${BUDGET_S}s budget left"; return 125; fi
  echo "### $name (timeout ${t}s, at +$(( $(date +%s) - START ))s): $*"
  local t0; t0=$(date +%s%N)
  local rc
  if [ "$out" = - ]; then
    "${TIMEV[@]}" timeout -s INT -k 15 "$t" "$@"; rc=$?
  else
    "${TIMEV[@]}" timeout -s INT -k 15 "$t" "$@" > "$out"; rc=$?
  fi
  echo "### $name: rc=$rc after $(ms_since "$t0") ms"
  return $rc
}

main() {
  echo "=== ShardScope WebGPU device check, $(date -u +%FT%TZ)"
  echo "--- machine"
  uname -a; nproc; free -g 2>/dev/null | head -2
  (ldd --version 2>&1 | head -1) || true
  grep -E '^(PRETTY_NAME)=' /etc/os-release 2>/dev/null
  local cxx
  for cxx in /usr/lib/x86_64-linux-gnu/libstdc++.so.6 /lib/x86_64-linux-gnu/libstdc++.so.6; do
    [ -e "$cxx" ] && { echo "$cxx: GLIBCXX_3.4.30 (Dawn needs it): $(grep -c GLIBCXX_3.4.30 "$cxx" 2>/dev/null)"; break; }
  done
  echo "--- GPU"
  nvidia-smi -L 2>&1
  nvidia-smi --query-gpu=name,driver_version,memory.total,memory.used --format=csv 2>&1
  echo "--- Vulkan ICDs and libraries"
  local d
  for d in /usr/local/nvidia/share/vulkan/icd.d /usr/share/vulkan/icd.d /etc/vulkan/icd.d /usr/local/share/vulkan/icd.d; do
    echo "ls $d:"; ls -la "$d" 2>&1
  done
  local icd
  for icd in /usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json /usr/share/vulkan/icd.d/nvidia_icd.json /etc/vulkan/icd.d/nvidia_icd.json; do
    [ -f "$icd" ] && { echo "$icd:"; cat "$icd"; echo; }
  done
  ls /usr/local/nvidia 2>&1; ls /usr/local/nvidia/lib64 2>/dev/null | grep -i -E 'GLX_nvidia|vulkan|GLdispatch|nvidia-glvk|EGL_nvidia' | head -20
  echo "ldconfig before: $(ldconfig -p 2>/dev/null | grep -E -c 'libvulkan\.so|libGLdispatch|libGLX_nvidia') matching entries"
  ldconfig -p 2>/dev/null | grep -E 'libvulkan\.so|libGLdispatch|libGLX_nvidia'
  echo "LD_LIBRARY_PATH=${LD_LIBRARY_PATH:-}"

  echo "--- unpack $PACK -> $SS"
  local t0; t0=$(date +%s%N)
  rm -rf "$SS"; mkdir -p "$SS"
  if command -v xz >/dev/null 2>&1; then
    tar -xJf "$PACK" -C "$SS" || return 2
  else
    echo "(no xz: python3 tarfile)"
    python3 -c "import sys,tarfile; t=tarfile.open(sys.argv[1]); kw={'filter':'fully_trusted'} if hasattr(tarfile,'fully_trusted_filter') else {}; t.extractall(sys.argv[2],**kw)" "$PACK" "$SS" || return 2
  fi
  echo "unpacked in $(ms_since "$t0") ms; $(du -sh "$SS" | cut -f1); commit $(cat "$SS/app/COMMIT" 2>/dev/null)"
  TIMEV=(env)
  "$SS/bin/time" true >/dev/null 2>&1 && TIMEV=("$SS/bin/time" -f "time: %e s wall, %U s user, %S s sys, %M KB max RSS (largest process), %P CPU, exit %x")

  echo "--- Vulkan loader: bring what ldconfig lacks"
  local deb so pkg
  [ -n "${SS_NO_SYSTEM:-}" ] && echo "SS_NO_SYSTEM set: nothing installed into /"
  [ -z "${SS_NO_SYSTEM:-}" ] && for pkg in libvulkan1:libvulkan.so.1 libglvnd0:libGLdispatch.so.0 libegl1:libEGL.so.1 libglx0:libGLX.so.0 libopengl0:libOpenGL.so.0 libgl1:libGL.so.1 libgles2:libGLESv2.so.2; do
    so=${pkg#*:}; pkg=${pkg%%:*}
    if ldconfig -p 2>/dev/null | grep -q "$so "; then echo "$so: present"; continue; fi
    deb=$(ls "$SS"/debs/${pkg}_*.deb 2>/dev/null | head -1)
    if command -v dpkg >/dev/null 2>&1 && [ -n "$deb" ]; then
      dpkg -x "$deb" / && echo "$so: dpkg -x $(basename "$deb") /"
    else
      (cd "$SS/vkroot" && find . -name "${so%%.so*}.so*" -exec cp -a --parents {} / \;) && echo "$so: copied from the pack's vkroot"
    fi
  done
  [ -z "${SS_NO_SYSTEM:-}" ] && ldconfig 2>&1 | head -5
  [ -d /usr/local/nvidia/lib64 ] && export LD_LIBRARY_PATH=${LD_LIBRARY_PATH:+$LD_LIBRARY_PATH:}/usr/local/nvidia/lib64
  ldconfig -p 2>/dev/null | grep -E 'libvulkan\.so|libGLdispatch|libGLX_nvidia'

  export HOME; HOME=$(mktemp -d /tmp/ss-home.XXXXXX)
  export XDG_RUNTIME_DIR; XDG_RUNTIME_DIR=$(mktemp -d /tmp/ss-xdg.XXXXXX); chmod 700 "$XDG_RUNTIME_DIR"
  local W=/tmp/ss-work; rm -rf "$W"; mkdir -p "$W"
  NODE=$SS/bin/node; CLI=$SS/app/bin/shardscope.mjs
  echo "node $("$NODE" -v) at $NODE; HOME=$HOME XDG_RUNTIME_DIR=$XDG_RUNTIME_DIR"

  echo "--- backends"
  step backends 60 "$OUT/backends.json" "$NODE" "$CLI" backends --json
  local st; st=$(webgpu_state "$OUT/backends.json"); echo "webgpu: $st"
  if [ "$st" != hw ]; then
    local c
    for c in /usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json /usr/share/vulkan/icd.d/nvidia_icd.json /etc/vulkan/icd.d/nvidia_icd.json; do
      [ -f "$c" ] || continue
      export VK_DRIVER_FILES=$c VK_ICD_FILENAMES=$c
      echo "retry with VK_DRIVER_FILES=$c"
      step backends-vk 60 "$OUT/backends-vk.json" "$NODE" "$CLI" backends --json
      st=$(webgpu_state "$OUT/backends-vk.json"); echo "webgpu: $st"
      [ "$st" = hw ] && break
      unset VK_DRIVER_FILES VK_ICD_FILENAMES
    done
  fi
  if [ "$st" != hw ]; then
    local dbg=""
    for c in /usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json /usr/share/vulkan/icd.d/nvidia_icd.json; do [ -f "$c" ] && { dbg=$c; break; }; done
    echo "--- no hardware WebGPU adapter; the Vulkan loader's own words (VK_LOADER_DEBUG=error,warn,driver${dbg:+, VK_DRIVER_FILES=$dbg}):"
    (if [ -n "$dbg" ]; then export VK_DRIVER_FILES=$dbg VK_ICD_FILENAMES=$dbg; fi
     VK_LOADER_DEBUG=error,warn,driver timeout -k 5 40 "$NODE" "$CLI" backends 2>&1 | head -c 6000); echo
  fi
  summarize_backends "$OUT/backends.json"; [ -f "$OUT/backends-vk.json" ] && summarize_backends "$OUT/backends-vk.json"

  echo "--- make-demo ($TRAIN_N train / $VAL_N val)"
  step make-demo 90 "$OUT/make-demo.json" "$NODE" "$CLI" make-demo "$W/demo" --train "$TRAIN_N" --val "$VAL_N" --shard-maxcount "$SHARD" --json
  local TR=(--workers 2 --mode async --epochs "$EPOCHS" --batch "$BATCH" --max-batches "$MAXB" --val-samples "$VALN" --validate-every 0 --runs-dir "$W/runs" --state-dir "$W/state" --json)

  echo "--- train webgpu"
  step train-webgpu 150 "$OUT/train-webgpu.json" "$NODE" "$CLI" train "$W/demo" --backend webgpu "${TR[@]}"
  local rc=$?
  if (( rc != 0 && rc != 1 )) && [ -z "${VK_DRIVER_FILES:-}" ]; then
    for c in /usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json /usr/share/vulkan/icd.d/nvidia_icd.json; do
      [ -f "$c" ] || continue
      echo "retry train webgpu with VK_DRIVER_FILES=$c"
      mv "$OUT/train-webgpu.json" "$W/train-webgpu-first.json" 2>/dev/null
      export VK_DRIVER_FILES=$c VK_ICD_FILENAMES=$c
      step train-webgpu-vk 150 "$OUT/train-webgpu.json" "$NODE" "$CLI" train "$W/demo" --backend webgpu "${TR[@]}"
      rc=$?; (( rc == 0 || rc == 1 )) && break
      unset VK_DRIVER_FILES VK_ICD_FILENAMES
    done
  fi
  summarize_train "$OUT/train-webgpu.json"
  cp "$(run_dir "$OUT/train-webgpu.json")/metrics.jsonl" "$OUT/metrics-webgpu.jsonl" 2>/dev/null

  if [[ $SKIP != *" wasm "* ]]; then
    echo "--- train wasm (same settings; the fast CPU path)"
    step train-wasm 90 "$OUT/train-wasm.json" "$NODE" "$CLI" train "$W/demo" --backend wasm "${TR[@]}"
    summarize_train "$OUT/train-wasm.json"
  fi
  if [[ $SKIP != *" cpu "* ]]; then
    echo "--- train cpu (plain JS kernels, slow: --batch $CPU_BATCH --max-batches $CPU_MAXB --epochs 1 --val-samples $CPU_VALN)"
    step train-cpu 120 "$OUT/train-cpu.json" "$NODE" "$CLI" train "$W/demo" --backend cpu --workers 2 --mode async --epochs 1 \
      --batch "$CPU_BATCH" --max-batches "$CPU_MAXB" --val-samples "$CPU_VALN" --validate-every 0 --runs-dir "$W/runs" --state-dir "$W/state" --json
    summarize_train "$OUT/train-cpu.json"
  fi

  echo "=== summary"
  for f in "$OUT"/train-*.json; do summarize_train "$f"; done
  echo "VK_DRIVER_FILES=${VK_DRIVER_FILES:-unset}; total $(( $(date +%s) - START ))s"
}

webgpu_state() {  # hw | sw | no
  "$NODE" -e 'try { const j = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8")); const w = j.backends.find((b) => b.name === "webgpu");
    console.log(!w || !w.available ? "no" : w.detail && w.detail.software ? "sw" : "hw") } catch { console.log("no") }' "$1"
}
summarize_backends() {
  "$NODE" -e 'try { const j = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"));
    for (const b of j.backends) console.log(`${process.argv[1].split("/").pop()}: ${b.name}: ${b.available ? "available" : "NOT available"}: ${b.reason}`);
    console.log(`auto: ${j.auto && j.auto.name}`) } catch (e) { console.log(`${process.argv[1]}: unreadable (${e.message})`) }' "$1"
}
run_dir() { "$NODE" -e 'try { console.log(JSON.parse(require("fs").readFileSync(process.argv[1], "utf8")).dir) } catch { console.log("/nonexistent") }' "$1"; }
summarize_train() {  # the summary's figures, plus from metrics.jsonl: first step vs later steps (shader compile, warm-up)
  [ -s "$1" ] || { echo "$(basename "$1"): no summary"; return; }
  "$NODE" -e 'const fs = require("fs"); const f = process.argv[1]; try { const j = JSON.parse(fs.readFileSync(f, "utf8")); const v = j.finalValidation || {};
    let extra = "";
    try { const steps = fs.readFileSync(j.dir + "/metrics.jsonl", "utf8").trim().split("\n").map((l) => JSON.parse(l)).filter((m) => m.kind === "step");
      const seen = new Set(), first = [], later = [];
      for (const m of steps) { (seen.has(m.worker) ? later : first).push(m); seen.add(m.worker) }
      const med = (a) => { const b = a.map((m) => m.computeMs).sort((x, y) => x - y); return b.length ? b[b.length >> 1].toFixed(0) : "-" };
      let steady = "-";
      if (later.length) { const t0 = Math.min(...first.map((m) => m.t)), t1 = Math.max(...later.map((m) => m.t)); steady = (later.reduce((s, m) => s + m.samples, 0) / ((t1 - t0) / 1000)).toFixed(1) }
      extra = ` | steps=${steps.length} first-step computeMs=${first.map((m) => m.computeMs.toFixed(0)).join(",")} later median computeMs=${med(later)} steady samples/s=${steady}`
    } catch (e) { extra = ` | metrics unreadable (${e.message})` }
    console.log(`${f.split("/").pop()}: backend=${j.backend} status=${j.status} updates=${j.updates} samples=${j.samples} seconds=${(+j.seconds).toFixed(1)} samples/s=${(+j.samplesPerSecond).toFixed(1)} val_loss=${v.loss} top1=${v.top1}${extra}`) }
    catch (e) { console.log(`${f}: unreadable (${e.message})`) }' "$1"
}

set -o pipefail
main 2>&1 | tee "$OUT/log.txt"
