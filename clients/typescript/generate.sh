#!/usr/bin/env bash
# Generates src/gen/ (TypeScript for protos/webhooks/v1: messages and
# @grpc/grpc-js service clients) with ts-proto, the version pinned in
# package-lock.json, and the system's protoc. The output is not committed;
# `npm run build` and `npm test` run this first. Needs `npm ci` first.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
plugin="$here/node_modules/.bin/protoc-gen-ts_proto"
if [ ! -x "$plugin" ]; then
  echo "generate.sh: $plugin missing; run npm ci in $here first" >&2
  exit 1
fi
command -v protoc >/dev/null || { echo "generate.sh: protoc not found (apt-get install protobuf-compiler)" >&2; exit 1; }

out="$here/src/gen"
tmp="$(mktemp -d "$here/.gen.XXXXXX")"
trap 'rm -rf "$tmp"' EXIT
# Well-known types (google/protobuf/*.proto) come with protoc's includes.
(cd "$root/protos" && protoc \
  --plugin=protoc-gen-ts_proto="$plugin" \
  --ts_proto_out="$tmp" \
  --ts_proto_opt=outputServices=grpc-js \
  --ts_proto_opt=outputServices=generic-definitions \
  --ts_proto_opt=esModuleInterop=true \
  --ts_proto_opt=env=node \
  --ts_proto_opt=exportCommonSymbols=false \
  webhooks/v1/*.proto)
rm -rf "$out"; mkdir -p "$(dirname "$out")"
mv "$tmp" "$out"
trap - EXIT
echo "generate.sh: generated $(find "$out" -name '*.ts' | wc -l) files in src/gen"
