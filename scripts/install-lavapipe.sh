#!/bin/sh
# Installs Mesa's software Vulkan driver (lavapipe) >= 25 from bookworm-backports, idempotently:
# it gives Dawn (the webgpu backend) an adapter on a machine without a GPU.
# Debian 12's own mesa-vulkan-drivers 22.3 is too old for Dawn: the adapter is rejected with
# "Vulkan shaderUniform*ArrayDynamicIndexing required" and requestAdapter() resolves null.
# Run as root. Re-running is a no-op (~10 ms) once a >= 25 driver is installed.
# Side effect seen on this image: apt also upgrades the installed GL stack (libgl1-mesa-dri,
# libglx-mesa0, libegl-mesa0, libgbm1, libgl1-mesa-dev, libdrm*) to the backports versions.
set -eu
have=$(dpkg-query -W -f='${Version}' mesa-vulkan-drivers 2>/dev/null || true)
if [ -n "$have" ] && dpkg --compare-versions "$have" ge 25; then
  exit 0
fi
src=/etc/apt/sources.list.d/bookworm-backports.sources
want='Types: deb
URIs: http://deb.debian.org/debian
Suites: bookworm-backports
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg'
if [ ! -f "$src" ] || [ "$(cat "$src")" != "$want" ]; then
  printf '%s\n' "$want" > "$src"
fi
apt-get update -qq
DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends \
  -t bookworm-backports mesa-vulkan-drivers
# The ICD manifest Mesa 25 installs is lvp_icd.json (22.3 used lvp_icd.x86_64.json).
test -e /usr/share/vulkan/icd.d/lvp_icd.json
