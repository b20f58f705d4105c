# Sourced by scripts/test and scripts/repeat: installs (when missing) and
# starts a private Redis 7 and a MongoDB-wire-compatible server
# (SecantusDB), exports their addresses for the tests (TEST_REDIS_URL,
# TEST_MONGODB_URI, TEST_SECANTUSD) and stops them when the script exits.
# Installs nginx too (TEST_NGINX: the balancer test runs its own) and
# libfaketime (TEST_FAKETIME_LIB: the fault campaign's clock jumps). With
# TEST_LOG_FILE set, their logs are kept beside it.

run_dir="$(mktemp -d)"
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
  rm -rf "$run_dir"
}
trap cleanup EXIT

if ! command -v redis-server >/dev/null; then
  if command -v apt-get >/dev/null && [ "$(id -u)" = 0 ]; then
    apt-get update -qq && apt-get install -y -qq redis-server >/dev/null
  else
    echo "redis-server (Redis >= 7) is required: install it and re-run"; exit 1
  fi
fi
if ! command -v nginx >/dev/null && [ ! -x /usr/sbin/nginx ]; then
  if command -v apt-get >/dev/null && [ "$(id -u)" = 0 ]; then
    apt-get update -qq && apt-get install -y -qq nginx >/dev/null
  else
    echo "nginx is required (the shipped deploy/nginx.conf is tested for real): install it and re-run"; exit 1
  fi
fi
export TEST_NGINX="$(command -v nginx || echo /usr/sbin/nginx)"
if ! command -v ffmpeg >/dev/null; then
  if command -v apt-get >/dev/null && [ "$(id -u)" = 0 ]; then
    apt-get update -qq && apt-get install -y -qq ffmpeg >/dev/null
  else
    echo "ffmpeg is required (the music folder tests generate their audio with it): install it and re-run"; exit 1
  fi
fi
# libfaketime: the fault campaign steps each node's wall clock with it.
export TEST_FAKETIME_LIB="${TEST_FAKETIME_LIB:-/usr/lib/x86_64-linux-gnu/faketime/libfaketimeMT.so.1}"
if [ ! -f "$TEST_FAKETIME_LIB" ]; then
  if command -v apt-get >/dev/null && [ "$(id -u)" = 0 ]; then
    apt-get update -qq && apt-get install -y -qq faketime >/dev/null
  else
    echo "libfaketime is required (the fault campaign steps a node's clock with it): install faketime and re-run"; exit 1
  fi
fi
venv="${TEST_VENV:-$HOME/.cache/crowdjuke/venv}"
if [ ! -x "$venv/bin/secantusd-py" ]; then
  python3 -m venv "$venv"
  "$venv/bin/pip" install -q SecantusDB==0.7.0b3
fi

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_port() {
  for _ in $(seq 1 200); do
    (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0
    sleep 0.1
  done
  echo "nothing listening on port $1"; return 1
}
log_base="${TEST_LOG_FILE:-$run_dir/service}"
redis_port="$(free_port)"
redis-server --port "$redis_port" --bind 127.0.0.1 --save '' --appendonly no >"$log_base.shared-redis" 2>&1 &
pids+=("$!")
mongo_port="$(free_port)"
"$venv/bin/secantusd-py" --host 127.0.0.1 --port "$mongo_port" --storage-path "$run_dir/mongo" \
  >"$log_base.shared-secantus" 2>&1 &
pids+=("$!")
wait_port "$redis_port"
wait_port "$mongo_port"
export TEST_REDIS_URL="redis://127.0.0.1:$redis_port"
export TEST_MONGODB_URI="mongodb://127.0.0.1:$mongo_port/?directConnection=true&retryWrites=false"
export TEST_SECANTUSD="$venv/bin/secantusd-py"
echo "Redis on $redis_port, SecantusDB on $mongo_port"
