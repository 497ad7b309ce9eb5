#!/usr/bin/env bash
# Regenerates the gRPC stubs in src/tagger_client/_pb from proto/tagger/v1/tagger.proto with grpcio-tools (PyPI,
# pinned; installed into a temporary venv). `generate.sh --check` regenerates into a temporary directory and
# fails when the committed stubs differ (CI runs it, so the stubs never drift from the proto file).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
proto="$here/../../proto/tagger/v1"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
python3 -m venv "$tmp/venv"
"$tmp/venv/bin/pip" install --quiet --disable-pip-version-check grpcio-tools==1.85.1
out="$here/src"
[ "${1:-}" = "--check" ] && out="$tmp/out" && mkdir -p "$out"
# The proto file is mapped to tagger_client/_pb/tagger.proto so that the generated modules import each other
# as tagger_client._pb.*; the wire names (package tagger.v1) are unchanged.
"$tmp/venv/bin/python" -m grpc_tools.protoc -I"tagger_client/_pb=$proto" --python_out="$out" --pyi_out="$out" \
  --grpc_python_out="$out" "$proto/tagger.proto"
if [ "${1:-}" = "--check" ]; then
  for f in tagger_pb2.py tagger_pb2.pyi tagger_pb2_grpc.py; do
    diff -q "$out/tagger_client/_pb/$f" "$here/src/tagger_client/_pb/$f" \
      || { echo "clients/python: $f is stale; run clients/python/generate.sh" >&2; exit 1; }
  done
  echo "clients/python: stubs match proto/tagger/v1/tagger.proto"
fi
