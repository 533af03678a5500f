#!/usr/bin/env bash
# Compares two commits the way bench/README.md's steps on issue 14 do: this
# VM's speed drifts by a quarter within minutes, so one run of each says
# nothing. Builds each commit (Release, in a git worktree under
# ${AB_DIR:-~/.cache/webhookd-bench-ab}, through ccache), then runs the two
# alternately, round after round, and prints every round and, per figure,
# both means and in how many rounds B did better.
#
#   scripts/bench-ab.sh f5642bf 4d44723        # delivery_bench, 6 rounds
#   ROUNDS=8 scripts/bench-ab.sh --node f5642bf HEAD
#                                              # cluster_bench: one node on
#                                              # RocksDB at K=100
#   scripts/bench-ab.sh --pg 275fdbe HEAD      # one node on PostgreSQL, K=10
#   AB_FLAGS="--subs_per_event=1 --schemes=https" scripts/bench-ab.sh A B
#   AB_ENV_B="WH_X=1" scripts/bench-ab.sh HEAD HEAD
#                                              # one build, side B's runs
#                                              # with these variables set
#
# delivery (the default): `delivery_bench --modes=ceilings,ours` at K=1, 100
# and 1000 over http, each round giving ours/B and the CPU per delivery of
# the dispatcher's writer and fetch threads, the curl thread and the Publish
# handlers (µs), and the bytes written per delivery. --node: `cluster_bench
# --configs=rocksdb --modes=delivery --subs_per_event=100`, giving
# deliveries/s and the node's CPU per delivery (µs). --pg: `cluster_bench
# --configs=pg1 --modes=delivery --subs_per_event=10` (issue 11's delivery
# run), giving deliveries/s and the CPU per delivery of the node and of
# PostgreSQL (µs). AB_FLAGS come after the defaults and override them. delivery needs wrk (apt-get install -y wrk).
set -euo pipefail
cd "$(dirname "$0")/.."

mode=delivery
if [ "${1:-}" = --node ]; then
  mode=node
  shift
elif [ "${1:-}" = --pg ]; then
  mode=pg
  shift
fi
if [ $# -ne 2 ]; then
  echo "usage: scripts/bench-ab.sh [--node | --pg] REV_A REV_B" >&2
  exit 2
fi
rounds=${ROUNDS:-6}
ab_dir=${AB_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/webhookd-bench-ab}
mkdir -p "$ab_dir"

# The worktree of `rev`, built; prints its directory.
build() {
  local commit tree
  commit=$(git rev-parse --verify "$1^{commit}")
  tree="$ab_dir/${commit:0:12}"
  if [ ! -d "$tree" ]; then
    git worktree prune  # forgets worktrees whose directory was removed
    git worktree add --detach "$tree" "$commit" >&2
  fi
  if [ ! -f "$tree/build-bench/build.ninja" ]; then
    cmake -S "$tree" -B "$tree/build-bench" -G Ninja \
      -DCMAKE_BUILD_TYPE=Release >&2
  fi
  BUILD_DIR=build-bench "$tree/scripts/build.sh" \
    --target delivery_bench cluster_bench webhookd >&2
  echo "$tree"
}

echo "bench-ab: building $1 and $2" >&2
tree_a=$(build "$1")
tree_b=$(build "$2")

# One run of `tree`, as "name=value" pairs on one line.
run_delivery() {
  local out
  # shellcheck disable=SC2086
  out=$("$1/build-bench/bench/delivery_bench" --modes=ceilings,ours \
    --schemes=http --subs_per_event=1,100,1000 --duration_s=3 --warmup_s=1 \
    --repetitions=1 ${AB_FLAGS:-} 2>&1)
  # Each "ours" run prints its threads and bytes after its "rep N ours" line;
  # the RESULT lines come at the end.
  echo "$out" | awk '
    / rep [0-9]+ ours / {
      k = $0; sub(/.* K=/, "", k); sub(/ .*/, "", k)
      if (!(k in seen)) { seen[k] = 1; ks[++count] = k }
    }
    /threads: dispatcher fetch/ {
      n = split($0, parts, ";")
      for (i = 1; i <= n; i++) {
        if (match(parts[i], /(dispatcher fetch|dispatcher write|curl|rpc-blocking handlers) [0-9.]+ cores \(\+[0-9.]+ waiting for a CPU\), [0-9.]+ us/)) {
          s = substr(parts[i], RSTART, RLENGTH)
          name = s; sub(/ [0-9.]+ cores.*/, "", name)
          sub(/^dispatcher /, "", name); sub(/^rpc-blocking /, "", name)
          us = s; sub(/ us$/, "", us); sub(/.*, /, "", us)
          cpu[k, name] = us
        }
      }
    }
    /bytes written per delivery/ { bytes[k] = $NF }
    /^RESULT ours/ {
      for (i = 1; i <= NF; i++) {
        if ($i ~ /^k=/) rk = substr($i, 3)
        if ($i ~ /^ratio_b=/) ratio[rk] = substr($i, 9)
      }
    }
    END {
      for (j = 1; j <= count; j++) {
        k = ks[j]
        printf "K%s.ours/B=%s K%s.write_us=%s K%s.fetch_us=%s K%s.curl_us=%s K%s.handlers_us=%s K%s.bytes=%s ",
          k, ratio[k], k, cpu[k, "write"], k, cpu[k, "fetch"], k, cpu[k, "curl"],
          k, cpu[k, "handlers"], k, bytes[k]
      }
      print ""
    }'
}

# The row of cluster_bench's summary for configuration $2 at K=$3, from
# the build in $1.
cluster_row() {
  # shellcheck disable=SC2086
  "$1/build-bench/bench/cluster_bench" --webhookd="$1/build-bench/server/webhookd" \
    --configs="$2" --modes=delivery --subs_per_event="$3" --duration_s=3 \
    --warmup_s=2 --repetitions=1 ${AB_FLAGS:-} 2>&1 |
    awk -v config="$2" '$1 == config { print; exit }'
}

run_node() {
  cluster_row "$1" rocksdb 100 |
    awk '{ printf "deliveries/s=%s node_us=%s\n", $2, $5 }'
}

run_pg() {
  cluster_row "$1" pg1 10 |
    awk '{ printf "deliveries/s=%s node_us=%s pg_us=%s\n", $2, $5, $6 }'
}

results=$(mktemp)
trap 'rm -f "$results"' EXIT
for round in $(seq "$rounds"); do
  for side in A B; do
    tree=$tree_a
    side_env=${AB_ENV_A:-}
    if [ "$side" = B ]; then
      tree=$tree_b
      side_env=${AB_ENV_B:-}
    fi
    # shellcheck disable=SC2086
    line=$(if [ -n "$side_env" ]; then export $side_env; fi; "run_$mode" "$tree")
    echo "$(date -u +%H:%M:%S) round $round $side $line"
    echo "$side $line" >> "$results"
  done
done

# Lower is better for CPU and bytes, higher for rates and ratios.
echo
echo "== $rounds rounds, A=$1 B=$2: mean A → mean B (rounds where B did better)"
awk '
  {
    side = $1
    for (i = 2; i <= NF; i++) {
      split($i, kv, "=")
      if (kv[2] == "") continue
      if (!(kv[1] in seen)) { seen[kv[1]] = 1; names[++count] = kv[1] }
      n[side, kv[1]]++
      v[side, kv[1], n[side, kv[1]]] = kv[2]
      sum[side, kv[1]] += kv[2]
    }
  }
  END {
    for (j = 1; j <= count; j++) {
      name = names[j]
      if (n["A", name] == 0 || n["B", name] == 0) continue
      higher_better = (name ~ /ours\/B|deliveries/)
      better = 0; pairs = 0
      for (r = 1; r <= n["A", name] && r <= n["B", name]; r++) {
        a = v["A", name, r]; b = v["B", name, r]; pairs++
        if ((higher_better && b > a) || (!higher_better && b < a)) better++
      }
      printf "%-18s %10.3f → %10.3f  (%d of %d)\n", name,
        sum["A", name] / n["A", name], sum["B", name] / n["B", name], better, pairs
    }
  }' "$results"
