#!/usr/bin/env bash
# Fetches libonnxruntime.so.1 (ONNX Runtime 1.30.0, CPU) into third_party/onnxruntime/,
# idempotently. The library comes from the npm package onnxruntime-node@1.30.0: we
# `npm pack` the tarball and extract only package/bin/napi-v6/linux/x64/libonnxruntime.so.1
# (a plain `npm install` runs a CUDA post-install step that fails offline).
# The Go ORT backend (core/tagger) finds it there; OPENMED_ORT_LIB overrides the path.
set -euo pipefail

ORT_VERSION="1.30.0"
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
DEST="$ROOT/third_party/onnxruntime"
LIB="$DEST/libonnxruntime.so.1"
STAMP="$DEST/VERSION"

if [ -s "$LIB" ] && [ -f "$STAMP" ] && [ "$(cat "$STAMP")" = "$ORT_VERSION" ]; then
  echo "fetch_onnxruntime: onnxruntime $ORT_VERSION present at $LIB"
  exit 0
fi

case "$(uname -s)-$(uname -m)" in
  Linux-x86_64) PLAT="linux/x64" ;;
  Linux-aarch64) PLAT="linux/arm64" ;;
  *) echo "fetch_onnxruntime: unsupported platform $(uname -s)-$(uname -m)" >&2; exit 1 ;;
esac

command -v npm >/dev/null || { echo "fetch_onnxruntime: npm not found (install nodejs/npm)" >&2; exit 1; }

mkdir -p "$DEST"
TMP="$(mktemp -d)"
trap 'rm -rf "$TMP"' EXIT

echo "fetch_onnxruntime: npm pack onnxruntime-node@$ORT_VERSION"
(cd "$TMP" && npm pack --silent "onnxruntime-node@$ORT_VERSION" >/dev/null)
TGZ="$(ls "$TMP"/onnxruntime-node-*.tgz)"
tar -xzf "$TGZ" -C "$TMP" "package/bin/napi-v6/$PLAT/libonnxruntime.so.1"
install -m 0644 "$TMP/package/bin/napi-v6/$PLAT/libonnxruntime.so.1" "$LIB.tmp"
mv -f "$LIB.tmp" "$LIB"
echo "$ORT_VERSION" > "$STAMP"
echo "fetch_onnxruntime: installed $LIB"
