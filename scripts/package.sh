#!/usr/bin/env bash
# Builds a release accessd and accessctl with the Swift runtime linked in (they
# need only the C library at run time) and packs them with the unit files and
# install.sh: .build/accessd-VERSION-linux-ARCH.tar.gz. On the target host:
#   tar xzf accessd-*.tar.gz && sudo ./accessd-*/install.sh
set -euo pipefail
cd "$(dirname "$0")/.."
swift build -c release --static-swift-stdlib --product accessd
swift build -c release --static-swift-stdlib --product accessctl
version="$(.build/release/accessd --version)"
name="accessd-$version-linux-$(uname -m)"
stage=".build/$name"
rm -rf "$stage"
mkdir -p "$stage/bin"
cp .build/release/accessd .build/release/accessctl "$stage/bin/"
strip "$stage/bin/accessd" "$stage/bin/accessctl" 2>/dev/null || true
cp -r scripts/systemd "$stage/systemd"
cp scripts/install.sh README.md "$stage/"
tar -C .build -czf ".build/$name.tar.gz" "$name"
echo ".build/$name.tar.gz"
