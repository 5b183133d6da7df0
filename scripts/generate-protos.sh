#!/usr/bin/env bash
# Regenerates the Swift code of proto/accessd/v1/*.proto into
# Sources/AccessWire/Generated (committed; CI never runs this).
#
# protoc comes from Debian's protobuf-compiler; protoc-gen-swift is built from
# the swift-protobuf version Package.swift pins (about a minute, once).
# Pass --check to fail when the committed code differs from what the protos give.
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v protoc >/dev/null; then
    echo "installing protobuf-compiler (protoc)" >&2
    apt-get update -qq && apt-get install -y -qq protobuf-compiler >&2
fi
swift build -c release --product protoc-gen-swift --scratch-path .build-protoc >&2
plugin=.build-protoc/release/protoc-gen-swift

out=Sources/AccessWire/Generated
rm -f "$out"/*.pb.swift
mkdir -p "$out"
protoc --plugin=protoc-gen-swift="$plugin" \
    --swift_out="$out" --swift_opt=Visibility=Public --swift_opt=FileNaming=DropPath --swift_opt=UseAccessLevelOnImports=true \
    --proto_path=proto proto/accessd/v1/*.proto
echo "generated: $(ls "$out" | tr '\n' ' ')" >&2

if [ "${1:-}" = "--check" ]; then
    git diff --exit-code -- "$out"
fi
