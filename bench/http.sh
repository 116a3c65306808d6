#!/usr/bin/env bash
# GET /health through the amtsweg stack vs a bare libmicrohttpd hello-world
# (bench/peer_mhd_hello.c), same threads, same wrk load, one run; plus idle RSS.
# Also each server's CPU time per request (from /proc/<pid>/stat around each
# wrk round): wrk and both servers share the machine's cores, so other load
# moves the request rates, much less what a request costs.
# Figures only. Env: BENCH_SECONDS (default 5), BENCH_CONN (default 32),
# BENCH_ROUNDS (default 3).
set -euo pipefail
secs=${BENCH_SECONDS:-5}
conns=${BENCH_CONN:-32}
threads=$(nproc)
tmp=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$tmp"' EXIT

n_started=0
start() { # start CMD... ; sets PID and PORT
  n_started=$((n_started + 1))
  local out="$tmp/out.$n_started" err="$tmp/err.$n_started"
  "$@" >"$out" 2>"$err" &
  PID=$!
  for _ in $(seq 1 200); do
    PORT=$(grep -o 'listening on[^0-9]*[0-9.]*:\?[0-9]*' "$out" 2>/dev/null | grep -o '[0-9]*$' || true)
    [ -n "$PORT" ] && return 0
    kill -0 $PID 2>/dev/null || { cat "$err"; return 1; }
    read -rt 0.05 <> <(:) || true
  done
  return 1
}

rss_kb() { awk '/VmRSS/ {print $2}' /proc/$1/status; }

cpu_ticks() { awk '{print $14 + $15}' /proc/$1/stat; }
clk_tck=$(getconf CLK_TCK)

run_wrk() { # url pid -> "rps p50_ms p99_ms server_cpu_us_per_request"
  local c0 c1 out
  c0=$(cpu_ticks "$2")
  out=$(wrk -t1 -c"$conns" -d"${secs}s" --latency "$1" 2>/dev/null)
  c1=$(cpu_ticks "$2")
  echo "$out" | awk -v dt=$((c1 - c0)) -v hz="$clk_tck" '
    /requests in/ {n=$1}
    /Requests\/sec/ {rps=$2}
    /^ +50%/ {p50=$2} /^ +99%/ {p99=$2}
    function ms(v) { if (v ~ /us$/) return v/1000; if (v ~ /ms$/) return v+0; if (v ~ /s$/) return v*1000; return v }
    END {printf "%.0f %.3f %.3f %.2f\n", rps, ms(p50), ms(p99), n ? dt * 1e6 / hz / n : 0}'
}

if ! command -v wrk >/dev/null; then echo "wrk not installed (scripts/install-deps)"; exit 0; fi

start "$AMTSWEG_BIN" serve --listen 127.0.0.1:0 --db "$tmp/bench.db" --threads "$threads" --log-level warn
AW_PID=$PID; AW_PORT=$PORT
idle_rss=$(rss_kb $AW_PID)   # after start-up and migrations, before any request
curl -s "http://127.0.0.1:$AW_PORT/health" >/dev/null
first_rss=$(rss_kb $AW_PID)
start "$BENCH_BIN_DIR/peer_mhd_hello" "$threads"
M_PID=$PID; M_PORT=$PORT
wrk -t1 -c"$conns" -d1s "http://127.0.0.1:$AW_PORT/health" >/dev/null 2>&1 # warm-up
wrk -t1 -c"$conns" -d1s "http://127.0.0.1:$M_PORT/" >/dev/null 2>&1
# Rounds alternate between the two servers (both stay up; the idle one costs
# nothing) so a burst of other load on the machine hits both alike; the
# median round of each is reported.
rounds=${BENCH_ROUNDS:-3}
for r in $(seq 1 "$rounds"); do
  run_wrk "http://127.0.0.1:$AW_PORT/health" $AW_PID >>"$tmp/aw"
  run_wrk "http://127.0.0.1:$M_PORT/" $M_PID >>"$tmp/m"
done
load_rss=$(rss_kb $AW_PID)
kill -TERM $AW_PID $M_PID; wait $AW_PID $M_PID 2>/dev/null || true
median() { sort -n "$1" | awk -v n="$rounds" 'NR == int((n + 1) / 2)'; }
read -r aw_rps aw_p50 aw_p99 _ < <(median "$tmp/aw")
read -r m_rps m_p50 m_p99 _ < <(median "$tmp/m")
# CPU per request: the median of the rounds, on its own (other load on the
# machine lowers both servers' request rates unevenly, but hardly what a
# request costs)
aw_cpu=$(awk '{print $4}' "$tmp/aw" | sort -n | awk -v n="$rounds" 'NR == int((n + 1) / 2)')
m_cpu=$(awk '{print $4}' "$tmp/m" | sort -n | awk -v n="$rounds" 'NR == int((n + 1) / 2)')

printf "wrk -t1 -c%s -d%ss, server threads %s, loopback, median of %s alternating rounds\n" "$conns" "$secs" "$threads" "$rounds"
printf "%-28s %10s %9s %9s\n" "server" "req/s" "p50 ms" "p99 ms"
printf "%-28s %10s %9s %9s\n" "amtsweg GET /health" "$aw_rps" "$aw_p50" "$aw_p99"
printf "%-28s %10s %9s %9s\n" "bare libmicrohttpd" "$m_rps" "$m_p50" "$m_p99"
awk -v a="$aw_rps" -v m="$m_rps" 'BEGIN {printf "ratio amtsweg / bare: %.2f (target >= 0.80)\n", a/m}'
awk -v a="$aw_cpu" -v m="$m_cpu" 'BEGIN {printf "server CPU per request: amtsweg %.2f us, bare %.2f us; bare / amtsweg %.2f (the same comparison, hardly moved by other load)\n", a, m, (a > 0 ? m / a : 0)}'
awk -v r="$idle_rss" -v f="$first_rss" -v l="$load_rss" 'BEGIN {printf "amtsweg RSS: idle %.1f MB (target <= 10 MB), after 1st request %.1f MB, after load %.1f MB\n", r/1024, f/1024, l/1024}'
