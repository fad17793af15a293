#!/usr/bin/env bash
# Side-by-side benchmark: our ticket-booking service vs the Node peer (fastify + better-sqlite3)
# vs the nginx static ceiling, on this machine, loopback only, one target loaded at a time.
# Load scripts and peers come from ../shared/bench (read-only, never copied into the repo).
#
#   bash bench/run.sh            (make bench calls it after the build)
#
# Env knobs (defaults):
#   RUNS=3          measured runs per target and scenario, interleaved ours/peer/(nginx)
#   DUR=10s         wrk duration of a measured run      WARM=3s   unreported warm-up per target
#   PORT_BASE=18100 ours on PORT_BASE, peer on PORT_BASE+1 (nginx: the port in its nginx.conf)
#   SKIP_PEER=1     no Node peer                         SKIP_NGINX=1  no nginx ceiling
#   BIN=build/ticket-booking                             the binary under test
#   LAMBDA_BIN=build/ticket-booking-lambda               the binary the Lambda zip carries
#   OURS_CMD=...    testing only: start this command as "ours" instead of BIN; {PORT} and {DATA}
#                   are replaced by the port and a fresh data dir (also exported as PORT, DATA_DIR)
#   OUT=build/bench results.json, results.txt, raw/ (wrk + server logs), peer/ (npm cache)
#   SEED_COUNT=10000 seats seeded (S-00001..), SHARED_DIR  where shared/ is if not beside the repo
#   MEM_COUNT=100000 memory at scale: a second instance of ours with this many tickets, listed and
#                   read at random while its RSS is watched (0: skip; not with OURS_CMD)
#   LAMBDA_COLD=20  Lambda: fresh bootstrap processes for the cold start   LAMBDA_WARM=2000 warm invocations
#   KEYED=1         ours runs with one API key (serve --api-keys-file) and every request to every
#                   target carries it (X-Api-Key; bench/keyed.lua wraps the shared scripts); 0: none
#   SKIP_LAMBDA=1   no Lambda figures                    ONLY=lambda  the Lambda figures alone (seconds;
#                   results.json then holds only those: set OUT to keep a full run's)
set -euo pipefail

log() { printf '[bench %s] %s\n' "$(date +%T)" "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

HERE=$(cd "$(dirname "$0")" && pwd)
REPO=$(cd "$HERE/.." && pwd)
ONLY=${ONLY:-} SKIP_LAMBDA=${SKIP_LAMBDA:-0}
case $ONLY in ''|lambda) ;; *) die "ONLY must be empty or 'lambda', not '$ONLY'" ;; esac
[ "$ONLY" = lambda ] && [ "$SKIP_LAMBDA" = 1 ] && die "ONLY=lambda with SKIP_LAMBDA=1 measures nothing"
SHARED=$(cd "$HERE/../.." && pwd)/shared
[ -f "$SHARED/bench/wrk/seed.mjs" ] || SHARED=${SHARED_DIR:-}
[ -n "$SHARED" ] && [ -f "$SHARED/bench/wrk/seed.mjs" ] || [ "$ONLY" = lambda ] \
  || die "benchmark kit not found: expected ../shared/bench beside the repo ($(cd "$HERE/../.." && pwd)/shared) or SHARED_DIR"
KIT=$SHARED/bench

RUNS=${RUNS:-3} DUR=${DUR:-10s} WARM=${WARM:-3s} PORT_BASE=${PORT_BASE:-18100}
SKIP_PEER=${SKIP_PEER:-0} SKIP_NGINX=${SKIP_NGINX:-0} SEED_COUNT=${SEED_COUNT:-10000}
MEM_COUNT=${MEM_COUNT:-100000} LAMBDA_COLD=${LAMBDA_COLD:-20} LAMBDA_WARM=${LAMBDA_WARM:-2000}
OURS_CMD=${OURS_CMD:-}
KEYED=${KEYED:-1}
case $KEYED in 0|1) ;; *) die "KEYED must be 0 or 1, not '$KEYED'" ;; esac
# ONLY=lambda: none of the HTTP part (no peer, nginx, load or memory phase)
[ "$ONLY" = lambda ] && { SKIP_PEER=1 SKIP_NGINX=1 MEM_COUNT=0 OURS_CMD=""; }
BIN=${BIN:-$REPO/build/ticket-booking}
case $BIN in /*) ;; *) [ -e "$BIN" ] || BIN=$REPO/$BIN ;; esac
[ -e "$BIN" ] && BIN=$(cd "$(dirname "$BIN")" && pwd)/$(basename "$BIN")
OUT=${OUT:-$REPO/build/bench}
mkdir -p "$OUT" && OUT=$(cd "$OUT" && pwd)
RAW=$OUT/raw
cd "$REPO"
exec 9> "$OUT/.lock"
flock -n 9 || die "another bench run is using $OUT (lock $OUT/.lock)"

# --- knobs -----------------------------------------------------------------------------------
secs() {  # wrk duration (10, 10s, 2m, 1h) -> whole seconds
  local v=$1 n
  case $v in *s) n=${v%s} ;; *m) n=${v%m} ;; *h) n=${v%h} ;; *) n=$v ;; esac
  [[ $n =~ ^[0-9]+$ ]] || die "bad duration '$v' (use e.g. 10s, 2m)"
  case $v in *m) echo $((n * 60)) ;; *h) echo $((n * 3600)) ;; *) echo "$n" ;; esac
}
DUR_S=$(secs "$DUR") || exit 1
WARM_S=$(secs "$WARM") || exit 1
[ "$DUR_S" -ge 1 ] || die "DUR must be at least 1s"
[[ $RUNS =~ ^[1-9][0-9]*$ ]] || die "RUNS must be a positive integer"
[[ $PORT_BASE =~ ^[0-9]+$ ]] || die "PORT_BASE must be a port number"
[[ $SEED_COUNT =~ ^[1-9][0-9]*$ ]] || die "SEED_COUNT must be a positive integer"
[[ $MEM_COUNT =~ ^[0-9]+$ ]] || die "MEM_COUNT must be a whole number (0 skips the memory phase)"
[[ $LAMBDA_COLD =~ ^[1-9][0-9]*$ && $LAMBDA_WARM =~ ^[1-9][0-9]*$ ]] || die "LAMBDA_COLD and LAMBDA_WARM must be positive integers"
export TICKET_COUNT=$SEED_COUNT   # read by get_ticket.lua, patch_ticket.lua, mix.lua
if [ -z "$OURS_CMD" ] && [ ! -x "$BIN" ]; then
  die "binary not found or not executable: $BIN (build it first, or set BIN=...)"
fi

# --- preconditions: wrk, nginx, node/npm, curl, python3 -----------------------------------------
find_nginx() { NGINX=$(command -v nginx || { [ -x /usr/sbin/nginx ] && echo /usr/sbin/nginx; } || true); [ -n "$NGINX" ]; }
missing_pkgs() {
  local -a p=()
  command -v python3 >/dev/null || p+=(python3)
  [ "$SKIP_LAMBDA" = 1 ] || command -v zip >/dev/null || p+=(zip)
  [ "$SKIP_LAMBDA" = 1 ] || command -v advzip >/dev/null || p+=(advancecomp)
  [ "$ONLY" = lambda ] && { echo "${p[*]}"; return; }
  command -v wrk >/dev/null || p+=(wrk)
  command -v curl >/dev/null || p+=(curl)
  command -v node >/dev/null || p+=(nodejs)
  [ "$SKIP_PEER" = 1 ] || command -v npm >/dev/null || p+=(npm)
  [ "$SKIP_NGINX" = 1 ] || find_nginx || p+=(nginx-light)
  echo "${p[*]}"
}
pkgs=$(missing_pkgs)
if [ -n "$pkgs" ]; then
  command -v apt-get >/dev/null || die "missing packages: $pkgs (and no apt-get to install them)"
  [ "$(id -u)" = 0 ] || die "missing packages: $pkgs; install them: sudo apt-get install -y $pkgs"
  log "installing: $pkgs"
  # shellcheck disable=SC2086
  if ! DEBIAN_FRONTEND=noninteractive timeout 900 apt-get install -y $pkgs >&2; then
    log "apt-get install failed; running apt-get update and retrying"
    timeout 600 apt-get update >&2 || die "apt-get update failed"
    DEBIAN_FRONTEND=noninteractive timeout 900 apt-get install -y $pkgs >&2 || die "apt-get install -y $pkgs failed"
  fi
  pkgs=$(missing_pkgs)
  [ -z "$pkgs" ] || die "still missing after install: $pkgs"
fi
[ "$ONLY" = lambda ] || node -e 'process.exit(+process.versions.node.split(".")[0] >= 18 ? 0 : 1)' \
  || die "node >= 18 needed by seed.mjs (have $(node --version))"
[ "$SKIP_NGINX" = 1 ] || find_nginx

# --- process bookkeeping and cleanup ------------------------------------------------------------
TMP=$(mktemp -d "${TMPDIR:-/tmp}/ticket-bench.XXXXXX")
OURS_PID="" PEER_PID="" MEM_PID="" WRK_PID="" NGINX_PREFIX="" NGINX_PID="" LAMBDA_PID=""

alive() { local st; st=$(sed 's/.*) //' "/proc/${1:-none}/stat" 2>/dev/null | cut -d' ' -f1); [ -n "$st" ] && [ "$st" != Z ]; }
stop_pid() {  # TERM, up to 10 s, then KILL; reaps our own children
  local pid=$1
  [ -n "$pid" ] || return 0
  kill -TERM "$pid" 2>/dev/null || true
  for _ in $(seq 100); do alive "$pid" || break; sleep 0.1; done
  if alive "$pid"; then log "pid $pid ignored SIGTERM for 10 s: SIGKILL"; kill -KILL "$pid" 2>/dev/null || true; fi
  wait "$pid" 2>/dev/null || true
}
# shellcheck disable=SC2046
nginx_pids() { if [ -n "$NGINX_PID" ] && alive "$NGINX_PID"; then echo "$NGINX_PID" $(pgrep -P "$NGINX_PID" 2>/dev/null || true); fi; }
cleanup() {
  local rc=$? pids p
  trap - EXIT INT TERM
  [ -n "$WRK_PID" ] && { kill -TERM "$WRK_PID" 2>/dev/null || true; wait "$WRK_PID" 2>/dev/null || true; }
  if [ -n "$NGINX_PREFIX" ]; then
    pids=$(nginx_pids || true)
    "$NGINX" -p "$NGINX_PREFIX" -c nginx.conf -e stderr -s quit 2>/dev/null || true
    for _ in $(seq 50); do alive "$NGINX_PID" || break; sleep 0.1; done
    for p in $pids; do alive "$p" && kill -KILL "$p" 2>/dev/null; done
  fi
  stop_pid "$OURS_PID"
  stop_pid "$PEER_PID"
  stop_pid "$MEM_PID"
  stop_pid "$LAMBDA_PID"  # it kills its bootstrap on SIGTERM
  rm -rf "$TMP"
  [ "$rc" = 0 ] || log "exiting with status $rc (processes stopped, logs in $RAW)"
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

port_busy() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
rss_kb() { awk '/^VmRSS:/ {print $2}' "/proc/$1/status" 2>/dev/null || echo 0; }
hwm_kb() { awk '/^VmHWM:/ {print $2}' "/proc/$1/status" 2>/dev/null || echo 0; }
ticks() {  # utime+stime (all threads) of the given pids, in clock ticks
  local t=0 p v
  for p in $1; do
    v=$(awk '{sub(/.*\) /, ""); print $12 + $13}' "/proc/$p/stat" 2>/dev/null || echo 0)
    t=$((t + v))
  done
  echo "$t"
}
HZ=$(getconf CLK_TCK)

wait_ready() {  # NAME PID LOG URL: until the server answers HTTP (30 s at most)
  local name=$1 pid=$2 logf=$3 url=$4
  for _ in $(seq 300); do
    alive "$pid" || { tail -n 20 "$logf" >&2 || true; die "$name exited before it was ready (log: $logf)"; }
    if curl -s -o /dev/null --max-time 1 "$url/movies"; then
      grep -m1 -o 'listening on http://[^ "]*' "$logf" >/dev/null 2>&1 && log "$name: $(grep -m1 -o 'listening on http://[^ "]*' "$logf")"
      return 0
    fi
    sleep 0.1
  done
  tail -n 20 "$logf" >&2 || true
  die "$name did not answer on $url within 30 s (log: $logf)"
}
# wrk's arguments with the API key: `-s SCRIPT` becomes bench/keyed.lua, which runs SCRIPT
# (TB_BENCH_SCRIPT) adding X-Api-Key: TB_API_KEY (see KEYED). Sets KEYED_ARGS and KEYED_SCRIPT.
keyed() {
  local x prev=""
  KEYED_ARGS=() KEYED_SCRIPT=""
  for x in "$@"; do
    if [ "$prev" = -s ]; then KEYED_SCRIPT=$x; KEYED_ARGS+=("$HERE/keyed.lua"); else KEYED_ARGS+=("$x"); fi
    prev=$x
  done
}
kwrk() { keyed "$@"; TB_BENCH_SCRIPT=$KEYED_SCRIPT wrk "${KEYED_ARGS[@]}"; }
seed() {  # NAME URL [COUNT]
  local count=${3:-$SEED_COUNT}
  log "$1: seeding $count tickets"
  timeout 600 node "$HERE/seed_keyed.mjs" "$KIT/wrk/seed.mjs" "$2" "$count" > "$RAW/seed.$1.log" 2>&1 \
    || { tail -n 20 "$RAW/seed.$1.log" >&2; die "$1: seeding failed (log: $RAW/seed.$1.log)"; }
  log "$1: $(tail -n 1 "$RAW/seed.$1.log")"
}
list_check() {  # NAME URL -> "bytes items seconds" of one GET /tickets
  local f="$TMP/tickets.$1.json" m items
  m=$(curl -s --max-time 120 -o "$f" -w '%{http_code} %{size_download} %{time_total}' "$2/tickets") || die "$1: GET /tickets failed"
  [ "${m%% *}" = 200 ] || die "$1: GET /tickets -> HTTP ${m%% *}"
  items=$(node -e 'const j=JSON.parse(require("fs").readFileSync(process.argv[1],"utf8")); console.log((j.tickets||[]).length)' "$f") \
    || die "$1: GET /tickets body is not the expected JSON"
  [ "$items" = "$SEED_COUNT" ] || die "$1: GET /tickets returned $items items, expected $SEED_COUNT"
  rm -f "$f"
  set -- $m
  echo "$2 $items $3"
}

rm -rf "$RAW" && mkdir -p "$RAW"
TSV=$RAW/runs.tsv && : > "$TSV"
OURS_DESC="not run (ONLY=lambda)"  # section 2 names it otherwise
# Sections 1 to 4, the HTTP part, are left out by ONLY=lambda (not indented: the fi is after 4).
if [ "$ONLY" != lambda ]; then

# --- 1. the Node peer's dependencies (cached under $OUT/peer) -------------------------------------
PEER_DIR=$OUT/peer
peer_loads() {
  (cd "$PEER_DIR" && timeout 60 node -e "require('fastify'); const D = require('better-sqlite3'); new D(':memory:').prepare('select 1').get()") >/dev/null 2>&1
}
if [ "$SKIP_PEER" != 1 ]; then
  mkdir -p "$PEER_DIR"
  for f in package.json package-lock.json server.js; do
    cmp -s "$KIT/peers/node-fastify/$f" "$PEER_DIR/$f" || install -m 0644 "$KIT/peers/node-fastify/$f" "$PEER_DIR/$f"
  done
  stamp="$(sha256sum < "$PEER_DIR/package-lock.json" | cut -d' ' -f1) node-$(node --version) $(uname -m)"
  if [ -d "$PEER_DIR/node_modules" ] && [ "$(cat "$PEER_DIR/.bench-stamp" 2>/dev/null)" = "$stamp" ] && peer_loads; then
    log "peer: dependencies cached in $PEER_DIR"
  else
    rm -f "$PEER_DIR/.bench-stamp"
    log "peer: npm ci in $PEER_DIR (compiles better-sqlite3: a few minutes the first time)"
    (cd "$PEER_DIR" && timeout 1200 npm ci --no-audit --no-fund) > "$OUT/peer-npm.log" 2>&1 \
      || { tail -n 30 "$OUT/peer-npm.log" >&2; die "peer: npm ci failed (log: $OUT/peer-npm.log)"; }
    if ! peer_loads; then
      log "peer: better-sqlite3 does not load; rebuilding it against /usr node headers"
      (cd "$PEER_DIR" && npm_config_nodedir=/usr timeout 1200 npm rebuild better-sqlite3) >> "$OUT/peer-npm.log" 2>&1 \
        || { tail -n 30 "$OUT/peer-npm.log" >&2; die "peer: npm rebuild better-sqlite3 failed (log: $OUT/peer-npm.log)"; }
      peer_loads || die "peer: better-sqlite3 still does not load (log: $OUT/peer-npm.log)"
    fi
    echo "$stamp" > "$PEER_DIR/.bench-stamp"
  fi
fi

# --- 2. start and seed the targets, one after another ------------------------------------------
# One API key (KEYED=1): ours checks it on every write; every request to every target carries it.
KEY_ARGS=()
export TB_API_KEY=""
if [ "$KEYED" = 1 ]; then
  TB_API_KEY="bench-$(od -An -N16 -tx1 /dev/urandom | tr -d ' \n')"
  (umask 077 && printf '# make bench\n%s\n' "$TB_API_KEY" > "$TMP/api-keys")
  KEY_ARGS=(--api-keys-file "$TMP/api-keys")
fi
OURS_PORT=$PORT_BASE PEER_PORT=$((PORT_BASE + 1))
OURS_URL=http://127.0.0.1:$OURS_PORT PEER_URL=http://127.0.0.1:$PEER_PORT NGINX_URL=""

port_busy "$OURS_PORT" && die "port $OURS_PORT is already in use (set PORT_BASE)"
mkdir -p "$TMP/ours-data"
if [ -n "$OURS_CMD" ]; then
  cmd=${OURS_CMD//\{PORT\}/$OURS_PORT}; cmd=${cmd//\{DATA\}/$TMP/ours-data}
  OURS_DESC="OURS_CMD: $cmd"
  PORT=$OURS_PORT DATA_DIR=$TMP/ours-data HOST=127.0.0.1 bash -c "exec $cmd" > "$RAW/server.ours.log" 2>&1 9>&- &
else
  OURS_DESC="$BIN serve --host 127.0.0.1 --port $OURS_PORT --data-dir <fresh temp dir>${KEY_ARGS[*]:+ --api-keys-file <one key>}"
  "$BIN" serve --host 127.0.0.1 --port "$OURS_PORT" --data-dir "$TMP/ours-data" "${KEY_ARGS[@]}" > "$RAW/server.ours.log" 2>&1 9>&- &
fi
OURS_PID=$!
log "ours: $OURS_DESC (pid $OURS_PID)"
wait_ready ours "$OURS_PID" "$RAW/server.ours.log" "$OURS_URL"
seed ours "$OURS_URL"
sleep 1
RSS_SEED=$(rss_kb "$OURS_PID")
lc=$(list_check ours "$OURS_URL")
read -r OURS_LIST_BYTES OURS_LIST_ITEMS OURS_LIST_S <<< "$lc"
sleep 1
RSS_LIST=$(rss_kb "$OURS_PID")
log "ours: RSS after seeding ${RSS_SEED} kB, after GET /tickets (${OURS_LIST_BYTES} bytes, ${OURS_LIST_ITEMS} items) ${RSS_LIST} kB"

PEER_LIST_BYTES="" PEER_LIST_ITEMS="" PEER_LIST_S="" PEER_RSS_SEED="" PEER_RSS_LIST=""
if [ "$SKIP_PEER" != 1 ]; then
  port_busy "$PEER_PORT" && die "port $PEER_PORT is already in use (set PORT_BASE)"
  mkdir -p "$TMP/peer-data"
  HOST=127.0.0.1 node "$PEER_DIR/server.js" "$PEER_PORT" "$TMP/peer-data/tickets.db" > "$RAW/server.peer.log" 2>&1 9>&- &
  PEER_PID=$!
  log "peer: node server.js $PEER_PORT (pid $PEER_PID)"
  wait_ready peer "$PEER_PID" "$RAW/server.peer.log" "$PEER_URL"
  seed peer "$PEER_URL"
  sleep 1
  PEER_RSS_SEED=$(rss_kb "$PEER_PID")
  lc=$(list_check peer "$PEER_URL")
  read -r PEER_LIST_BYTES PEER_LIST_ITEMS PEER_LIST_S <<< "$lc"
  sleep 1
  PEER_RSS_LIST=$(rss_kb "$PEER_PID")
fi

if [ "$SKIP_NGINX" != 1 ]; then
  NGINX_PREFIX=$TMP/nginx
  mkdir -p "$NGINX_PREFIX/run"
  install -m 0644 "$KIT/peers/nginx/nginx.conf" "$NGINX_PREFIX/nginx.conf"
  NGINX_PORT=$(grep -oE 'listen[[:space:]]+127\.0\.0\.1:[0-9]+' "$NGINX_PREFIX/nginx.conf" | grep -oE '[0-9]+$' | head -n1)
  [ -n "$NGINX_PORT" ] || die "no 'listen 127.0.0.1:PORT' in $KIT/peers/nginx/nginx.conf"
  port_busy "$NGINX_PORT" && die "port $NGINX_PORT (nginx ceiling) is already in use"
  NGINX_URL=http://127.0.0.1:$NGINX_PORT
  timeout 30 "$NGINX" -p "$NGINX_PREFIX" -c nginx.conf -e stderr 2> "$RAW/server.nginx.log" 9>&- \
    || { cat "$RAW/server.nginx.log" >&2; die "nginx did not start"; }
  for _ in $(seq 100); do [ -s "$NGINX_PREFIX/run/nginx.pid" ] && break; sleep 0.1; done
  NGINX_PID=$(cat "$NGINX_PREFIX/run/nginx.pid" 2>/dev/null || true)
  [ -n "$NGINX_PID" ] || die "nginx wrote no pid file"
  wait_ready nginx "$NGINX_PID" "$RAW/server.nginx.log" "$NGINX_URL"
  log "nginx: ceiling on $NGINX_URL (master pid $NGINX_PID)"
fi

# --- 3. load: one target at a time --------------------------------------------------------------
W=(-t2 -c64 --latency)
L=(-t1 -c4 --latency)
TARGETS=(ours); [ "$SKIP_PEER" = 1 ] || TARGETS+=(peer)
target_pids() { case $1 in ours) echo "$OURS_PID" ;; peer) echo "$PEER_PID" ;; nginx) nginx_pids ;; esac; }
target_url() { case $1 in ours) echo "$OURS_URL" ;; peer) echo "$PEER_URL" ;; nginx) echo "$NGINX_URL" ;; esac; }

nscen=$(( ${#TARGETS[@]} * 6 + (SKIP_NGINX == 1 ? 0 : 1) ))
log "plan: $nscen target/scenario pairs x (${RUNS} x ${DUR_S}s + ${WARM_S}s warm-up) ~ $(( nscen * (RUNS * (DUR_S + 1) + WARM_S + 1) / 60 + 1 )) min"

# one wrk run: SCENARIO TARGET RUN|warm WRK-ARGS...  (RUN_ID keeps POST seats unique per run)
wrk_run() {
  local scen=$1 target=$2 run=$3 logf pids t0 t1 s0 s1 rc=0 res d; shift 3
  [ "$run" = warm ] && [ "$WARM_S" = 0 ] && return 0
  if [ "$run" = warm ]; then logf=$RAW/warm.$scen.$target.log; d=$WARM_S; else logf=$RAW/$scen.$target.$run.log; d=$DUR_S; fi
  pids=$(target_pids "$target")
  keyed "$@"
  t0=$(ticks "$pids"); s0=$(date +%s%N)
  SCENARIO=$([ "$target" = nginx ] && echo nginx_static || echo "$scen") RUN_ID="$target$run-$(date +%s%N)" TB_BENCH_SCRIPT=$KEYED_SCRIPT timeout -k 5 $((d + 60)) wrk "${KEYED_ARGS[@]}" > "$logf" 2>&1 9>&- &
  WRK_PID=$!
  wait "$WRK_PID" || rc=$?
  WRK_PID=""
  s1=$(date +%s%N); t1=$(ticks "$pids")
  for p in $(target_pids "$target"); do alive "$p" || die "$target died during $scen (server log: $RAW/server.$target.log)"; done
  [ "$target" = nginx ] && { [ -n "$(nginx_pids)" ] || die "nginx died during $scen"; }
  res=$(grep '^RESULT ' "$logf" | tail -n 1 || true)
  [ -n "$res" ] || { tail -n 20 "$logf" >&2; die "wrk gave no RESULT line for $scen/$target (exit $rc, log: $logf)"; }
  [ "$run" = warm ] && return 0
  cores=$(awk -v tk=$((t1 - t0)) -v hz="$HZ" -v ns=$((s1 - s0)) 'BEGIN { printf "%.2f", tk / hz / (ns / 1e9) }')
  printf '%s\t%s\t%s\t%s\t%s\n' "$scen" "$target" "$run" "$cores" "$res" >> "$TSV"
  log "$(printf '%-13s %-5s run %s: %s' "$scen" "$target" "$run" \
    "$(echo "$res" | grep -oE '(rps|p50_ms|p99_ms|non2xx3xx|socket_errors)=[^ ]+' | tr '\n' ' ')server_cores=$cores")"
}
# scenario SCEN ARGS-KIND SCRIPT PATH TARGET... : warm-up each target, then RUNS interleaved rounds
scenario() {
  local scen=$1 kind=$2 script=$3 path=$4 r t args; shift 4
  if [ "$kind" = list ]; then args=("${L[@]}"); else args=("${W[@]}"); fi
  for t in "$@"; do wrk_run "$scen" "$t" warm "${args[@]}" -d"$WARM_S"s -s "$script" "$(target_url "$t")$path"; done
  for r in $(seq "$RUNS"); do
    for t in "$@"; do wrk_run "$scen" "$t" "$r" "${args[@]}" -d"$DUR_S"s -s "$script" "$(target_url "$t")$path"; done
  done
}
WRK_DIR=$KIT/wrk
# GET /tickets first, while every target holds exactly SEED_COUNT items (POST adds rows, so it runs last)
scenario list_tickets list "$WRK_DIR/report.lua" /tickets "${TARGETS[@]}"
RSS_LISTLOAD=$(rss_kb "$OURS_PID")
PEER_RSS_LISTLOAD=""; [ -z "$PEER_PID" ] || PEER_RSS_LISTLOAD=$(rss_kb "$PEER_PID")
# GET /ticket, with nginx's static GET / as the ceiling in the same interleaved rounds
G=("${TARGETS[@]}"); [ "$SKIP_NGINX" = 1 ] || G+=(nginx)
for t in "${G[@]}"; do
  if [ "$t" = nginx ]; then
    wrk_run get_ticket nginx warm "${W[@]}" -d"$WARM_S"s -s "$WRK_DIR/report.lua" "$NGINX_URL/"
  else
    wrk_run get_ticket "$t" warm "${W[@]}" -d"$WARM_S"s -s "$WRK_DIR/get_ticket.lua" "$(target_url "$t")"
  fi
done
for r in $(seq "$RUNS"); do
  for t in "${G[@]}"; do
    if [ "$t" = nginx ]; then
      wrk_run get_ticket nginx "$r" "${W[@]}" -d"$DUR_S"s -s "$WRK_DIR/report.lua" "$NGINX_URL/"
    else
      wrk_run get_ticket "$t" "$r" "${W[@]}" -d"$DUR_S"s -s "$WRK_DIR/get_ticket.lua" "$(target_url "$t")"
    fi
  done
done
# 90/10 read/write mix and PATCH only touch seeded seats; POST adds rows, so it is last
scenario mix load "$HERE/mix.lua" "" "${TARGETS[@]}"
scenario patch_ticket load "$WRK_DIR/patch_ticket.lua" "" "${TARGETS[@]}"
# the same PATCH on a non-price attribute: no event, so the gap to patch_ticket is the outbox's cost
export UPDATE_KEY=Row
scenario patch_other load "$WRK_DIR/patch_ticket.lua" "" "${TARGETS[@]}"
unset UPDATE_KEY
# Metadata visibility (ours): PATCH's 200 -> discount readable, idle and under the PATCH load
META_IDLE=$(python3 "$HERE/metadata_latency.py" "$(target_url ours)" 500 || echo '{}')
log "metadata visibility, idle: $META_IDLE"
kwrk "${W[@]}" -d"$DUR_S"s -s "$WRK_DIR/patch_ticket.lua" "$(target_url ours)" > "$RAW/metadata_load_wrk.log" 2>&1 &
META_WRK=$!
sleep 1
META_LOAD=$(python3 "$HERE/metadata_latency.py" "$(target_url ours)" 500 || echo '{}')
wait "$META_WRK" || true
log "metadata visibility, under PATCH load: $META_LOAD"
scenario post_ticket load "$WRK_DIR/post_ticket.lua" "" "${TARGETS[@]}"
RSS_END=$(rss_kb "$OURS_PID") HWM_END=$(hwm_kb "$OURS_PID")
PEER_RSS_END=""; PEER_HWM_END=""
[ -z "$PEER_PID" ] || { PEER_RSS_END=$(rss_kb "$PEER_PID"); PEER_HWM_END=$(hwm_kb "$PEER_PID"); }

# --- 4. memory at scale (ours): MEM_COUNT tickets, listed and read at random ----------------------
MEM_SEED="" MEM_LIST="" MEM_READS="" MEM_HWM=""
if [ "$MEM_COUNT" -gt 0 ] && [ -z "$OURS_CMD" ]; then
  stop_pid "$OURS_PID"; OURS_PID=""  # one server at a time, and its memory out of the way
  MEM_PORT=$((PORT_BASE + 2)) MEM_URL=http://127.0.0.1:$((PORT_BASE + 2))
  port_busy "$MEM_PORT" && die "port $MEM_PORT is already in use (set PORT_BASE)"
  mkdir -p "$TMP/mem-data"
  "$BIN" serve --host 127.0.0.1 --port "$MEM_PORT" --data-dir "$TMP/mem-data" "${KEY_ARGS[@]}" > "$RAW/server.mem.log" 2>&1 9>&- &
  MEM_PID=$!
  wait_ready "ours ($MEM_COUNT tickets)" "$MEM_PID" "$RAW/server.mem.log" "$MEM_URL"
  seed mem "$MEM_URL" "$MEM_COUNT"
  sleep 1
  MEM_SEED=$(rss_kb "$MEM_PID")
  kwrk "${L[@]}" -d3s -s "$WRK_DIR/report.lua" "$MEM_URL/tickets" > "$RAW/mem.list.log" 2>&1 9>&- \
    || die "memory phase: GET /tickets load failed (log: $RAW/mem.list.log)"
  MEM_LIST=$(rss_kb "$MEM_PID")
  TICKET_COUNT=$MEM_COUNT kwrk "${W[@]}" -d"$DUR_S"s -s "$WRK_DIR/get_ticket.lua" "$MEM_URL" > "$RAW/mem.reads.log" 2>&1 9>&- \
    || die "memory phase: GET /ticket load failed (log: $RAW/mem.reads.log)"
  grep -q 'non2xx3xx=0 ' "$RAW/mem.reads.log" || die "memory phase: GET /ticket answered errors (log: $RAW/mem.reads.log)"
  MEM_READS=$(rss_kb "$MEM_PID") MEM_HWM=$(hwm_kb "$MEM_PID")
  log "memory with $MEM_COUNT tickets: RSS ${MEM_SEED} kB seeded, ${MEM_LIST} kB after listings, ${MEM_READS} kB after random reads, peak ${MEM_HWM} kB"
  stop_pid "$MEM_PID"; MEM_PID=""
fi
fi  # ONLY != lambda

# --- 5. Lambda (ours): the packaged zip's bootstrap against a fake Runtime API ---------------------
# There is no Lambda peer in ../shared/bench: these figures are absolute. The store is the local one
# under the process's TMPDIR (no DYNAMODB_TABLE); see bench/lambda_runtime.py for what is timed.
LAMBDA_JSON=""
if [ "$SKIP_LAMBDA" != 1 ] && [ -n "$OURS_CMD" ]; then
  log "lambda: skipped (OURS_CMD is not the binary that would be packaged)"
elif [ "$SKIP_LAMBDA" != 1 ]; then
  LAMBDA_BIN=${LAMBDA_BIN:-$REPO/build/ticket-booking-lambda}
  [ -x "$LAMBDA_BIN" ] || die "binary not found or not executable: $LAMBDA_BIN (the Lambda zip packages it)"
  ZIP=$OUT/lambda/ticket-booking.zip
  rm -f "$OUT/lambda/results.json"
  bash "$REPO/scripts/package-lambda.sh" --binary "$LAMBDA_BIN" --out "$ZIP" > "$RAW/lambda.package.log" 2>&1 9>&- \
    || { tail -n 20 "$RAW/lambda.package.log" >&2; die "lambda: packaging failed (log: $RAW/lambda.package.log)"; }
  log "lambda: $(tail -n 1 "$RAW/lambda.package.log"); $LAMBDA_COLD cold starts, $LAMBDA_WARM warm invocations"
  rc=0
  python3 "$HERE/lambda_runtime.py" "$ZIP" "$OUT/lambda/results.json" --cold "$LAMBDA_COLD" --warm "$LAMBDA_WARM" \
    --logs "$RAW" 2> "$RAW/lambda.log" 9>&- &
  LAMBDA_PID=$!
  wait "$LAMBDA_PID" || rc=$?
  LAMBDA_PID=""
  [ "$rc" = 0 ] || { tail -n 30 "$RAW/lambda.log" >&2; die "lambda: the measurement failed (exit $rc, log: $RAW/lambda.log)"; }
  log "$(tail -n 1 "$RAW/lambda.log")"
  LAMBDA_JSON=$OUT/lambda/results.json
fi

# --- 6. medians, table, targets, JSON -------------------------------------------------------------
export TSV OUT RUNS DUR WARM SEED_COUNT OURS_DESC KEYED SKIP_PEER SKIP_NGINX META_IDLE META_LOAD
export MEM_COUNT MEM_SEED MEM_LIST MEM_READS MEM_HWM LAMBDA_JSON
export RSS_SEED RSS_LIST RSS_LISTLOAD RSS_END HWM_END PEER_RSS_SEED PEER_RSS_LIST PEER_RSS_LISTLOAD PEER_RSS_END PEER_HWM_END
export OURS_LIST_BYTES OURS_LIST_ITEMS OURS_LIST_S PEER_LIST_BYTES PEER_LIST_ITEMS PEER_LIST_S
export M_NPROC M_CPU M_DATE M_KERNEL M_TOOLS M_GIT
M_NPROC=$(nproc)
M_CPU=$(awk -F': *' '/^(model name|Hardware|Model)[[:space:]]*:/ {print $2; exit}' /proc/cpuinfo)
M_DATE=$(date -u +%FT%TZ)
M_KERNEL=$(uname -srm)
M_TOOLS="python3 $(python3 -c 'import platform; print(platform.python_version())')"
[ "$ONLY" = lambda ] || M_TOOLS="wrk $( (wrk -v 2>&1 || true) | head -n1 | awk '{print $2}'), node $(node --version)"
[ -z "${NGINX:-}" ] || M_TOOLS="$M_TOOLS, $( ("$NGINX" -v 2>&1 || true) | awk '{print $3}')"
M_GIT=$(git -C "$REPO" rev-parse --short HEAD 2>/dev/null || echo none)
[ "$M_GIT" = none ] || { git -C "$REPO" diff --quiet HEAD -- 2>/dev/null || M_GIT="$M_GIT+dirty"; }

python3 - <<'PY' | tee "$OUT/results.txt"
import json, os, statistics as st

E = os.environ
def num(v):
    try: return float(v)
    except (TypeError, ValueError): return None
def kb(name):
    v = E.get(name, "")
    return int(v) if v.isdigit() else None

runs = {}
with open(E["TSV"]) as f:
    for line in f:
        scen, target, run, cores, res = line.rstrip("\n").split("\t", 4)
        kv = dict(x.split("=", 1) for x in res.split()[1:] if "=" in x)
        r = {"run": int(run), "server_cores": num(cores)}
        for k in ("rps", "p50_ms", "p99_ms", "max_ms"):
            r[k] = num(kv.get(k))
        for k in ("requests", "non2xx3xx", "socket_errors", "writes", "bytes_per_req"):
            if k in kv: r[k] = int(float(kv[k]))
        runs.setdefault(scen, {}).setdefault(target, []).append(r)

SCEN = [  # name, what, wrk
    ("get_ticket", "GET /ticket?Theatre-Seat=<random seeded seat>", "-t2 -c64"),
    ("post_ticket", "POST /ticket (new seat each request)", "-t2 -c64"),
    ("patch_ticket", "PATCH /ticket Price of a random seeded seat", "-t2 -c64"),
    ("patch_other", "PATCH /ticket of a non-price attribute (no event)", "-t2 -c64"),
    ("list_tickets", "GET /tickets (%s items)" % E["SEED_COUNT"], "-t1 -c4"),
    ("mix", "90% GET /ticket + 10% PATCH /ticket", "-t2 -c64"),
]
out = {"scenarios": {}}
for name, what, wrk in SCEN:
    if name not in runs: continue
    s = {"what": what, "wrk": wrk + " --latency -d" + E["DUR"], "targets": {}}
    for t in ("ours", "peer", "nginx"):
        rs = runs[name].get(t)
        if not rs: continue
        med = lambda k: st.median([r[k] for r in rs if r[k] is not None]) if any(r[k] is not None for r in rs) else None
        s["targets"][t] = {
            "rps": med("rps"), "p50_ms": med("p50_ms"), "p99_ms": med("p99_ms"),
            "server_cores": med("server_cores"),
            "non2xx3xx": sum(r.get("non2xx3xx", 0) for r in rs),
            "socket_errors": sum(r.get("socket_errors", 0) for r in rs),
            "runs": rs,
        }
        if t == "nginx": s["targets"][t]["note"] = "static GET / (fixed 121-byte body): loopback HTTP ceiling"
    T = s["targets"]
    ratio = lambda a, b: round(T[a]["rps"] / T[b]["rps"], 4) if a in T and b in T and T[b]["rps"] else None
    s["ratio_rps"] = {"ours/nginx": ratio("ours", "nginx"), "ours/peer": ratio("ours", "peer")}
    out["scenarios"][name] = s

out["rss_kb"] = {
    "ours": {"after_seed": kb("RSS_SEED"), "after_get_tickets": kb("RSS_LIST"),
             "after_list_load": kb("RSS_LISTLOAD"), "end": kb("RSS_END"), "peak_VmHWM": kb("HWM_END")},
}
if E.get("PEER_RSS_SEED"):
    out["rss_kb"]["peer"] = {"after_seed": kb("PEER_RSS_SEED"), "after_get_tickets": kb("PEER_RSS_LIST"),
                             "after_list_load": kb("PEER_RSS_LISTLOAD"), "end": kb("PEER_RSS_END"),
                             "peak_VmHWM": kb("PEER_HWM_END")}
out["get_tickets_once"] = {"ours": {"bytes": kb("OURS_LIST_BYTES"), "items": kb("OURS_LIST_ITEMS"), "curl_s": num(E.get("OURS_LIST_S"))}}
if E.get("PEER_LIST_BYTES"):
    out["get_tickets_once"]["peer"] = {"bytes": kb("PEER_LIST_BYTES"), "items": kb("PEER_LIST_ITEMS"), "curl_s": num(E.get("PEER_LIST_S"))}
out["machine"] = {"nproc": int(E["M_NPROC"]), "cpu_model": E.get("M_CPU") or "unknown", "date": E["M_DATE"],
                  "kernel": E["M_KERNEL"], "tools": E["M_TOOLS"], "git": E["M_GIT"]}
out["config"] = {"runs": int(E["RUNS"]), "dur": E["DUR"], "warm": E["WARM"], "seed_count": int(E["SEED_COUNT"]),
                 "ours": E["OURS_DESC"], "api_key": E["KEYED"] == "1", "peer": None if E["SKIP_PEER"] == "1" else "shared/bench/peers/node-fastify",
                 "nginx": None if E["SKIP_NGINX"] == "1" else "shared/bench/peers/nginx",
                 "statistic": "median over runs; runs interleaved ours, peer, nginx; one target loaded at a time; wrk on the same cores"}
out["metadata_visibility_ms"] = {"idle": json.loads(E.get("META_IDLE") or "{}"),
                                 "under_patch_load": json.loads(E.get("META_LOAD") or "{}")}
out["memory_at_scale"] = None
if kb("MEM_HWM"):
    out["memory_at_scale"] = {"tickets": int(E["MEM_COUNT"]), "rss_kb_after_seed": kb("MEM_SEED"),
                              "rss_kb_after_list_load": kb("MEM_LIST"), "rss_kb_after_random_reads": kb("MEM_READS"),
                              "peak_VmHWM_kb": kb("MEM_HWM")}
out["lambda"] = None
if E.get("LAMBDA_JSON"):
    with open(E["LAMBDA_JSON"]) as f:
        out["lambda"] = json.load(f)
    out["lambda"]["note"] = ("absolute figures: no Lambda peer in shared/bench. The packaged zip's bootstrap "
                             "against a fake Runtime API on loopback, the local store under TMPDIR; on Lambda, "
                             "the service's own init and the network to DynamoDB come on top")

# The targets of issue #4, each judged from this run's figures (None: not measured in this run).
def scen(name, t, k):
    return (out["scenarios"].get(name, {}).get("targets", {}).get(t) or {}).get(k)
def ratio(name, which):
    return out["scenarios"].get(name, {}).get("ratio_rps", {}).get(which)
meta_load = out["metadata_visibility_ms"]["under_patch_load"].get("p99_ms")
mem = out["memory_at_scale"]
TARGETS = [  # what, measured, how it must compare, limit, unit
    ("GET /ticket vs the nginx ceiling", ratio("get_ticket", "ours/nginx"), ">=", 0.6, "x"),
    ("GET /ticket vs the peer", ratio("get_ticket", "ours/peer"), ">=", 3, "x"),
    ("GET /ticket p99", scen("get_ticket", "ours", "p99_ms"), "<=", 5, " ms"),
    ("POST /ticket (durable) vs the peer", ratio("post_ticket", "ours/peer"), ">=", 3, "x"),
    ("PATCH price with its event vs the peer", ratio("patch_ticket", "ours/peer"), ">=", 2, "x"),
    ("metadata visible after the 200, p99 under PATCH load", meta_load, "<=", 5, " ms"),
    ("GET /tickets (%s items) vs the peer" % E["SEED_COUNT"], ratio("list_tickets", "ours/peer"), ">=", 5, "x"),
    ("peak RSS with %s tickets listed and read" % E["MEM_COUNT"], mem and mem["peak_VmHWM_kb"] / 1024.0, "<", 64, " MiB"),
    # Issue #12: the Lambda zip (stripped binary, every library it loads).
    ("Lambda zip", out["lambda"] and out["lambda"]["package_bytes"]["zip"] / 1e6, "<=", 10, " MB"),
]
holds = {">=": lambda v, lim: v >= lim, "<=": lambda v, lim: v <= lim, "<": lambda v, lim: v < lim}
out["targets"] = [{"target": w, "measured": v, "must_be": op, "limit": lim, "unit": u.strip(),
                   "met": None if v is None else holds[op](v, lim)} for w, v, op, lim, u in TARGETS]
out = {k: out[k] for k in ("machine", "config", "scenarios", "rss_kb", "memory_at_scale", "get_tickets_once",
                           "metadata_visibility_ms", "lambda", "targets")}
with open(os.path.join(E["OUT"], "results.json"), "w") as f:
    json.dump(out, f, indent=2)
    f.write("\n")

# table
m = out["machine"]
print()
print("ticket-booking benchmark  %s  nproc=%d  CPU: %s" % (m["date"], m["nproc"], m["cpu_model"]))
if out["scenarios"]:
    print("  %s; git %s; runs=%s dur=%s warm=%s; medians; wrk shares the cores" % (m["tools"], m["git"], E["RUNS"], E["DUR"], E["WARM"]))
    print("  ours: metrics on; %s" % ("one API key configured, X-Api-Key sent on every request to every target" if E["KEYED"] == "1"
                                       else "no API keys (KEYED=0)"))
else:
    print("  %s; git %s; ONLY=lambda: no HTTP scenarios" % (m["tools"], m["git"]))
fmt = "%-13s %-6s %10s %9s %9s %8s %11s %10s %7s"
f = lambda v, d: "-" if v is None else ("%.*f" % (d, v))
warn = []
http = bool(out["scenarios"])  # none with ONLY=lambda
if http:
    print()
    print(fmt % ("scenario", "target", "rps", "p50_ms", "p99_ms", "srv_cpu", "ours/nginx", "ours/peer", "errors"))
    print("-" * 90)
for name, s in out["scenarios"].items():
    first = True
    for t, v in s["targets"].items():
        r = s["ratio_rps"]
        rn = f(r["ours/nginx"], 3) + "x" if t == "ours" and r["ours/nginx"] is not None else ""
        rp = f(r["ours/peer"], 3) + "x" if t == "ours" and r["ours/peer"] is not None else ""
        errs = v["non2xx3xx"] + v["socket_errors"]
        if errs: warn.append("%s/%s: %d non-2xx/3xx and %d socket errors over %d runs" % (name, t, v["non2xx3xx"], v["socket_errors"], len(v["runs"])))
        label = t + ("*" if t == "nginx" else "")
        print(fmt % (name if first else "", label, f(v["rps"], 0), f(v["p50_ms"], 3), f(v["p99_ms"], 3),
                     f(v["server_cores"], 2), rn, rp, errs))
        first = False
if http: print("-" * 90)
if any("nginx" in s["targets"] for s in out["scenarios"].values()): print("* nginx: static GET / with a fixed 121-byte body (loopback HTTP ceiling), measured in the get_ticket rounds.")
if http: print("  srv_cpu: cores used by the server during the run; errors: non-2xx/3xx + socket errors summed over runs.")
mib = lambda v: "-" if v is None else "%.1f MiB" % (v / 1024.0)
for t in ("ours", "peer"):
    rss = out["rss_kb"].get(t)
    if not rss or rss["after_seed"] is None: continue
    g = out["get_tickets_once"].get(t, {})
    print("RSS %-4s  after seeding %s: %s | after one GET /tickets (%s bytes): %s | after GET /tickets load: %s | end: %s (peak %s)" % (
        t, E["SEED_COUNT"], mib(rss["after_seed"]), g.get("bytes"), mib(rss["after_get_tickets"]),
        mib(rss["after_list_load"]), mib(rss["end"]), mib(rss["peak_VmHWM"])))
for k, v in out["metadata_visibility_ms"].items():
    if v: print("Metadata visible after the PATCH's 200 (ours, %s): p50 %s ms, p99 %s ms, max %s ms, n=%s, timeouts %s" % (
        k.replace("_", " "), v.get("p50_ms"), v.get("p99_ms"), v.get("max_ms"), v.get("n"), v.get("timeouts")))
if mem:
    print("Memory with %d tickets (ours): RSS %s seeded | %s after GET /tickets load | %s after random GET /ticket | peak %s" % (
        mem["tickets"], mib(mem["rss_kb_after_seed"]), mib(mem["rss_kb_after_list_load"]),
        mib(mem["rss_kb_after_random_reads"]), mib(mem["peak_VmHWM_kb"])))
lam = out["lambda"]
if lam:
    c, w, p = lam["cold_start_ms"], lam["warm_invocation_ms"], lam["package_bytes"]
    print()
    print("Lambda (ours; absolute: no Lambda peer in shared/bench): the packaged zip's bootstrap, a fake Runtime API on")
    print("  loopback, the local store under TMPDIR (no DYNAMODB_TABLE); on Lambda its own init and DynamoDB come on top")
    print("  cold start, %d fresh %s processes: init (exec -> first next) p50 %.1f ms, p90 %.1f ms | to first response p50 %.1f ms, p90 %.1f ms" % (
        c["processes"], lam["function"], c["init"]["median"], c["init"]["p90"], c["first_response"]["median"], c["first_response"]["p90"]))
    print("  warm %s, %d invocations in one process: p50 %.3f ms, p99 %.3f ms | peak RSS %s" % (
        lam["function"], w["invocations"], w["median"], w["p99"], mib(lam["memory_kb"]["peak_VmHWM"])))
    print("  package: zip %.1f MiB (%d bytes), unzipped %.1f MiB (%d files)" % (
        p["zip"] / 1048576.0, p["zip"], p["unzipped"] / 1048576.0, p["files"]))
if http:
    print()
    print("Targets (issue #4), from this run:")
    for (w, v, op, lim, u), t in zip(TARGETS, out["targets"]):
        shown = "-" if v is None else (("%.2f" if u == "x" else "%.1f") % v) + u
        verdict = "not measured" if t["met"] is None else ("met" if t["met"] else "NOT MET")
        print("  %-55s %11s  (%s %s%s)  %s" % (w, shown, op, lim, u, verdict))
for w in warn: print("WARNING: " + w)
print("results: %s/results.json, raw %slogs: %s/raw/" % (E["OUT"], "wrk " if http else "", E["OUT"]))
PY
