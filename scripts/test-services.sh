#!/usr/bin/env bash
# Starts (or stops) a private PostgreSQL cluster and Redis server on loopback for the test suite.
# `start` prints the environment to use:  eval "$(scripts/test-services.sh start)"
# Ports: PostgreSQL 54329, Redis 63799 (override with HOTLINE_TEST_PG_PORT / HOTLINE_TEST_REDIS_PORT).
set -euo pipefail
cmd=${1:-start}
pg_port=${HOTLINE_TEST_PG_PORT:-54329}
redis_port=${HOTLINE_TEST_REDIS_PORT:-63799}
root=${HOTLINE_TEST_SERVICES_DIR:-/tmp/hotline-test-services}
pg_data=$root/pg
pg_bin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1 || true)

as_pg() {  # PostgreSQL refuses to run as root
  if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

start_pg() {
  [ -n "$pg_bin" ] || { echo "PostgreSQL is not installed" >&2; return 1; }
  mkdir -p "$root"
  if [ "$(id -u)" -eq 0 ]; then chown postgres "$root"; fi
  if [ ! -s "$pg_data/PG_VERSION" ]; then
    as_pg "$pg_bin/initdb" -D "$pg_data" -U hotline --auth=trust -E UTF8 --locale=C.UTF-8 >/dev/null
  fi
  if ! as_pg "$pg_bin/pg_ctl" -D "$pg_data" status >/dev/null 2>&1; then
    as_pg "$pg_bin/pg_ctl" -D "$pg_data" -l "$root/pg.log" -w -t 60 \
      -o "-c listen_addresses=127.0.0.1 -p $pg_port -k $root -c fsync=off -c synchronous_commit=off -c full_page_writes=off" \
      start >/dev/null
  fi
}

start_redis() {
  command -v redis-server >/dev/null || { echo "Redis is not installed" >&2; return 1; }
  if ! redis-cli -p "$redis_port" ping >/dev/null 2>&1; then
    mkdir -p "$root"
    redis-server --bind 127.0.0.1 --port "$redis_port" --save "" --appendonly no \
      --daemonize yes --pidfile "$root/redis.pid" --logfile "$root/redis.log" >/dev/null
    for _ in $(seq 50); do redis-cli -p "$redis_port" ping >/dev/null 2>&1 && break; sleep 0.1; done
  fi
}

case "$cmd" in
  start)
    start_pg >&2
    start_redis >&2
    echo "export DATABASE_URL=postgres://hotline@127.0.0.1:$pg_port/hotline"
    echo "export TEST_REDIS_URL=redis://127.0.0.1:$redis_port/0"
    ;;
  stop)
    [ -n "$pg_bin" ] && [ -d "$pg_data" ] && as_pg "$pg_bin/pg_ctl" -D "$pg_data" -m fast stop >/dev/null 2>&1 || true
    redis-cli -p "$redis_port" shutdown nosave >/dev/null 2>&1 || true
    ;;
  *) echo "usage: $0 start|stop" >&2; exit 2 ;;
esac
