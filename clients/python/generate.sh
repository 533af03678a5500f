#!/usr/bin/env bash
# Regenerates the Python protobuf and gRPC modules from protos/webhooks/v1/
# into src/webhooks/v1/ (protoc's standard layout, so the generated modules
# import each other as `webhooks.v1.*_pb2` with no editing). The output is not
# committed; nothing generated is edited by hand.
#
#   clients/python/generate.sh            # uses $PYTHON, else python3
#
# The Python used needs grpcio-tools (see requirements-dev.txt).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
protos="$(cd "$here/../../protos" && pwd)"
python="${PYTHON:-python3}"
out="$here/src"

# Generate into a scratch directory and swap it in, so an interrupted run
# never leaves a half-written package behind.
scratch="$(mktemp -d "$out/.gen.XXXXXX")"
trap 'rm -rf "$scratch"' EXIT
"$python" -m grpc_tools.protoc \
  --proto_path="$protos" \
  --python_out="$scratch" \
  --pyi_out="$scratch" \
  --grpc_python_out="$scratch" \
  "$protos"/webhooks/v1/*.proto
rm -rf "$out/webhooks"
mv "$scratch/webhooks" "$out/webhooks"
echo "generate.sh: $(ls "$out/webhooks/v1" | wc -l) files in ${out#"$PWD/"}/webhooks/v1"
