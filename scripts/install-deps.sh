#!/usr/bin/env bash
# Installs the Debian packages Pensieve builds and tests with (only those not
# yet installed, so a second run is instant). Needs root or sudo.
# Why each package is used: docs/DEPENDENCIES.md.
set -euo pipefail
packages=(
    build-essential cmake ninja-build pkg-config git
    libgtest-dev libbenchmark-dev
    nlohmann-json3-dev libcli11-dev libmicrohttpd-dev
    libzip-dev libssl-dev zlib1g-dev libcurl4-openssl-dev
    python3 python3-venv python3-pip
    clang libclang-rt-14-dev clang-format
    libvulkan-dev glslc mesa-vulkan-drivers
    prometheus
    chromium chromium-driver
)
# Node.js runs the @anthropic-ai/sdk API test; machines of this kind ship one,
# otherwise Debian's is enough.
command -v node > /dev/null || packages+=(nodejs npm)
missing=()
for p in "${packages[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0
sudo=""
[ "$(id -u)" -ne 0 ] && sudo="sudo"
echo "installing: ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" > /dev/null
