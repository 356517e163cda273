#!/usr/bin/env bash
# Installs the pretrained encoder the shipped default tagger takes its base
# from (models/default.json "base_encoder"), if it names one: `make setup`
# (so `make demo` and `make test` too) calls it so `openmed tag` works out of
# the box; the installed encoder is checked against its pinned sha256 and
# kept in the encoder cache. OPENMED_SKIP_ENCODERS=1 skips it (offline
# machines; the default tagger then says what to run).
set -euo pipefail
cd "$(dirname "$0")/.."
if [ -n "${OPENMED_SKIP_ENCODERS:-}" ]; then
  echo "default_encoders: skipped (OPENMED_SKIP_ENCODERS)"; exit 0
fi
name=$(python3 -c 'import json,sys; print(json.load(open("models/default.json")).get("base_encoder",""))')
if [ -z "$name" ]; then
  echo "default_encoders: the default tagger carries its own base; nothing to fetch"; exit 0
fi
go build -o bin/openmed ./cmd/openmed
bin/openmed encoders install "$name"
