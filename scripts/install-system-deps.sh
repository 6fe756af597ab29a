#!/usr/bin/env bash
# Debian packages the tests and benchmarks need: Chromium for the browser e2e
# suite, Mesa's software Vulkan from bookworm-backports for WebGPU (Dawn needs
# Mesa >= 23; bookworm's 22.3 lacks a Vulkan feature it requires), GNU tar and
# Python 3 with PIL/numpy/torch for round-trip tests and benchmark baselines.
set -euo pipefail
SUDO=""
if [ "$(id -u)" != 0 ]; then SUDO="sudo"; fi
codename="$(. /etc/os-release && echo "${VERSION_CODENAME:-bookworm}")"
if ! grep -rqs "${codename}-backports" /etc/apt/sources.list /etc/apt/sources.list.d/; then
  echo "deb http://deb.debian.org/debian ${codename}-backports main" | $SUDO tee /etc/apt/sources.list.d/backports.list >/dev/null
fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends \
  chromium fonts-dejavu-core tar gzip python3 python3-pil python3-numpy python3-torch >/dev/null
$SUDO apt-get install -y -qq --no-install-recommends -t "${codename}-backports" \
  mesa-vulkan-drivers libvulkan1 >/dev/null
echo "system packages ready: $(chromium --version 2>/dev/null), mesa $(dpkg-query -W -f='${Version}' mesa-vulkan-drivers)"
