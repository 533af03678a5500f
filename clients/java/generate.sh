#!/usr/bin/env bash
# Regenerates the Java protobuf messages and gRPC stubs from
# protos/webhooks/v1/*.proto into target/generated-sources/protobuf/ (protoc
# and protoc-gen-grpc-java come from Maven Central at the versions pom.xml
# pins). The output is not committed; nothing generated is edited by hand.
#
#   clients/java/generate.sh [extra mvn arguments]
#
# Needs a JDK (17+) and Maven (3.8+).
set -euo pipefail
cd "$(dirname "$0")"
# (Maven 3.8 prints stray colour resets even in batch mode; they are dropped.)
mvn -B -q -ntp -Dstyle.color=never generate-sources "$@" 2>&1 | sed -u 's/\x1b\[0m//g'
echo "generate.sh: $(find target/generated-sources/protobuf -name '*.java' | wc -l) files in clients/java/target/generated-sources/protobuf"
