#!/usr/bin/env bash
# Builds the benchmarks (Release, in build-bench/) and runs them: matching
# over 1M subscriptions, then ingest through the gRPC service next to the
# storage ceiling. The defaults take about five minutes on 2 cores.
# `delivery` (also in `all`) runs delivery_bench: webhookd end to end next
# to wrk and a bare libcurl loop, commit-to-receipt latency, and peak RSS
# with 1M deliveries pending; about eight more minutes; it needs wrk
# (apt-get install -y wrk) and the openssl CLI.
#
#   scripts/bench.sh                 # all three
#   scripts/bench.sh match           # one of them
#   INGEST_FLAGS="--duration_s=10 --modes=grpc,domain,ceiling" scripts/bench.sh ingest
#   DELIVERY_FLAGS="--schemes=http --modes=ours,drain" scripts/bench.sh delivery
#   scripts/bench.sh cluster         # not in `all`: webhookd processes on
#                                    # RocksDB, 1 and 3 PostgreSQL nodes
#                                    # (needs postgresql-15); ~10 min
#
# Flags in MATCH_FLAGS / INGEST_FLAGS / DELIVERY_FLAGS / MEMORY_FLAGS /
# CLUSTER_FLAGS come
# after the defaults and override them. See bench/README.md for what the
# figures mean.
set -euo pipefail
cd "$(dirname "$0")/.."
export BUILD_DIR=${BUILD_DIR:-build-bench}
which=${1:-all}

if [ ! -f "$BUILD_DIR/build.ninja" ]; then
  cmake -S . -B "$BUILD_DIR" -G Ninja -DCMAKE_BUILD_TYPE=Release
fi
if [ "$which" = cluster ]; then
  scripts/build.sh --target cluster_bench webhookd
else
  scripts/build.sh --target match_bench ingest_bench delivery_bench
fi

echo "== $(date -u +%Y-%m-%dT%H:%M:%SZ) $(git rev-parse --short HEAD)" \
     "$(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg)"

if [ "$which" = all ] || [ "$which" = match ]; then
  # shellcheck disable=SC2086
  "$BUILD_DIR/bench/match_bench" --subscriptions=1000000 --matches=500000 \
    --repetitions=3 --threads=1,2 ${MATCH_FLAGS:-}
  echo
fi
if [ "$which" = all ] || [ "$which" = ingest ]; then
  # shellcheck disable=SC2086
  "$BUILD_DIR/bench/ingest_bench" --subscriptions=100000 --clients=8,32,64 \
    --events_per_tx=1,10,100 --duration_s=3 --warmup_s=1 --repetitions=3 \
    --modes=grpc,ceiling ${INGEST_FLAGS:-}
fi
if [ "$which" = all ] || [ "$which" = delivery ]; then
  [ "$which" = all ] && echo
  # shellcheck disable=SC2086
  "$BUILD_DIR/bench/delivery_bench" --modes=ceilings,ours,latency \
    --schemes=http,https --subs_per_event=1,10,1000 --duration_s=3 \
    --warmup_s=1 --repetitions=3 --rates=100,1000,10000 \
    --controls=plain,limited,ordered ${DELIVERY_FLAGS:-}
  echo
  # Alone, so that the peak RSS is this phase's.
  # shellcheck disable=SC2086
  "$BUILD_DIR/bench/delivery_bench" --modes=memory --pending=1000000 \
    ${MEMORY_FLAGS:-}
fi
if [ "$which" = cluster ]; then
  # shellcheck disable=SC2086
  "$BUILD_DIR/bench/cluster_bench" --configs=rocksdb,pg1,pg3 \
    --modes=ingest,delivery --subscriptions=100000 --clients=32 \
    --events_per_tx=100 --subs_per_event=10 --duration_s=3 --warmup_s=2 \
    --repetitions=3 ${CLUSTER_FLAGS:-}
fi
