#!/usr/bin/env bash
# Starts a local cluster: one PostgreSQL (in ./cluster-data/pg, port 5433)
# and three webhookd nodes on it (gRPC 127.0.0.1:7443-7445, metrics
# 127.0.0.1:9443-9445), all in the foreground; Ctrl-C stops them all.
# Installs and builds what is missing first. Extra arguments go to every
# node (say, --config=webhookd.conf).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
scripts/build.sh --target webhookd
BIN="$(pg_config --bindir)"
DATA="$PWD/cluster-data"
PG_PORT=${PG_PORT:-5433}
mkdir -p "$DATA"
# PostgreSQL refuses to run as root: run it as the postgres user then.
as_pg() {
  if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}
if [ "$(id -u)" -eq 0 ]; then chown postgres "$DATA"; fi
if [ ! -f "$DATA/pg/PG_VERSION" ]; then
  as_pg "$BIN/initdb" -D "$DATA/pg" -A trust -U postgres -E UTF8 >/dev/null
fi
as_pg "$BIN/pg_ctl" -D "$DATA/pg" -l "$DATA/pg.log" -w \
  -o "-p $PG_PORT -k $DATA -c listen_addresses=127.0.0.1" start
DSN="host=127.0.0.1 port=$PG_PORT user=postgres dbname=webhookd"
as_pg "$BIN/psql" -h 127.0.0.1 -p "$PG_PORT" -U postgres -tAc \
  "SELECT 1 FROM pg_database WHERE datname = 'webhookd'" | grep -q 1 ||
  as_pg "$BIN/createdb" -h 127.0.0.1 -p "$PG_PORT" -U postgres webhookd
pids=()
stop() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait || true
  as_pg "$BIN/pg_ctl" -D "$DATA/pg" -w stop >/dev/null || true
}
trap stop EXIT INT TERM
for i in 0 1 2; do
  build/server/webhookd --listen="127.0.0.1:$((7443 + i))" \
    --metrics_listen="127.0.0.1:$((9443 + i))" \
    --postgres_dsn="$DSN" --node_id="node-$i" "$@" &
  pids+=($!)
done
echo "cluster: nodes on 127.0.0.1:7443-7445, PostgreSQL on $PG_PORT; Ctrl-C stops"
wait
