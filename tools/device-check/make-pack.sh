#!/bin/bash
# Builds .devpack/pack.tar.xz: this machine's Node, ShardScope's CLI built from HEAD, only the
# node_modules files the CLI loads for `backends`, `make-demo` and `train` (cpu/wasm/webgpu),
# GNU time, and Debian's Vulkan loader (+ libglvnd) as .debs and pre-extracted.
#
#   bash tools/device-check/make-pack.sh   # from the repo root; work folder /tmp/ss-build
#
# Then, with an accelerator machine lent (the workplace's `device` tool): carry [".devpack"],
# command "bash tools/device-check/run.sh", timeout_s 420. Locally, as a dry run with tiny
# sizes (WebGPU on Mesa's software Vulkan): copy .devpack/ and tools/ outside the repo and run
#   OUT=/tmp/ss-out SS_TRAIN=256 SS_VAL=64 SS_SHARD=64 SS_BATCH=32 SS_EPOCHS=1 SS_MAXB=2 SS_VALN=32 \
#   SS_CPU_BATCH=8 SS_CPU_MAXB=1 SS_CPU_VALN=16 bash tools/device-check/run.sh
#
# The file list tools/device-check/nm-traced.txt came from `strace -f -e trace=openat,stat…` over
# backends, make-demo, and train with --backend cpu / webgpu / wasm (1 and 2 workers, so
# both the single-threaded and the threaded WASM builds); re-trace if the CLI's imports change.
set -euo pipefail
REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
DEV=$REPO/.devpack
HERE=$REPO/tools/device-check
mkdir -p "$DEV"
NM=$REPO/node_modules
WORK=${SS_BUILD:-/tmp/ss-build}
S=$WORK/stage

rm -rf "$WORK"
mkdir -p "$WORK/tree" "$S/bin" "$S/app/bin" "$S/app/out" "$S/app/node_modules" "$S/debs" "$S/vkroot"

# 1. The CLI, built from HEAD in a copy (the repo's own out/ is left alone).
git -C "$REPO" archive HEAD | tar -x -C "$WORK/tree"
ln -s "$NM" "$WORK/tree/node_modules"
(cd "$WORK/tree" && nice "$NM/.bin/electron-vite" build >"$WORK/build.log" 2>&1) || { cat "$WORK/build.log"; exit 1; }
cp "$WORK/tree/bin/shardscope.mjs" "$S/app/bin/"
cp "$WORK/tree/package.json" "$S/app/"
cp -r "$WORK/tree/out/main" "$S/app/out/"
git -C "$REPO" rev-parse HEAD > "$S/app/COMMIT"

# 2. Node (debug symbols stripped: 99 MB -> 86 MB) and GNU time (for -v).
strip -o "$S/bin/node" "$(readlink -f /usr/bin/node)"
cp /usr/bin/time "$S/bin/time"

# 3. node_modules: the traced files, whole small pure-JS packages, all of tfjs-backend-wasm's builds.
LIST=$WORK/nm-files.txt
cp "$HERE/nm-traced.txt" "$LIST"
WHOLE="commander detect-libc semver sharp streamx tar-stream text-decoder b4a fast-fifo events-universal
       long seedrandom @img/colour @jsquash/jpeg zod @img/sharp-linux-x64 @img/sharp-libvips-linux-x64"
for p in $WHOLE; do
  (cd "$NM" && find "$p" \( -type f -o -type l \) ! -name '*.d.ts' ! -name '*.d.cts' ! -name '*.d.mts' ! -name '*.map' \
     ! -path "$p/src/*" ! -path "$p/node_modules/*") >> "$LIST"
done
(cd "$NM" && ls @tensorflow/tfjs-backend-wasm/dist/*.wasm @tensorflow/tfjs-backend-wasm/wasm-out/*.wasm \
   @tensorflow/tfjs-backend-wasm/wasm-out/*.js) >> "$LIST"
sort -u -o "$LIST" "$LIST"
tar -C "$NM" -cf - -T "$LIST" | tar -C "$S/app/node_modules" -xf -

# 4. Vulkan loader and libglvnd (the NVIDIA Vulkan ICD, libGLX_nvidia, needs libGLdispatch).
DEBS=$DEV/debs
if ! ls "$DEBS"/libvulkan1_*.deb >/dev/null 2>&1; then
  mkdir -p "$DEBS" /tmp/amd64/partial
  o='-oAPT::Architecture=amd64 -oAPT::Architectures=amd64 -oDir::State::Lists=/tmp/amd64'
  apt-get $o update >/dev/null
  (cd "$DEBS" && apt-get $o download libvulkan1 libglvnd0 libegl1 libglx0 libopengl0 libgl1 libgles2)
fi
cp "$DEBS"/*.deb "$S/debs/"
for f in "$S"/debs/*.deb; do dpkg -x "$f" "$S/vkroot"; done
rm -rf "$S/vkroot/usr/share"

(cd "$S" && find . -type f | sort) > "$DEV/pack-files.txt"
tar -C "$S" -cf - . | nice xz -9 -T1 > "$DEV/pack.tar.xz.tmp"
mv "$DEV/pack.tar.xz.tmp" "$DEV/pack.tar.xz"
du -sh "$S" "$DEV/pack.tar.xz"
