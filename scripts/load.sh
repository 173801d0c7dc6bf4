#!/usr/bin/env bash
# Load test of the real parley binary on loopback with wrk.
#
#   scripts/load.sh         read and write paths on a database of 1,000 comments,
#                           the thread against the bare ceiling (scripts/ceiling)
#   scripts/load.sh thread  only the thread against the bare ceiling
#   scripts/load.sh scale   startup, RSS, read and submit throughput at 1,000
#                           and at 1,000,000 comments (seeded once, ~2 minutes)
#   scripts/load.sh groupcommit   group commit against one commit per
#                           submission (go test -bench, in pairs)
#   scripts/load.sh compare [REF]  the cached thread and submission of this
#                           tree against the binary built at REF (default
#                           39274d9, before sites), in the same run, on the
#                           same database (seeded by REF, upgraded by this one)
#   scripts/load.sh sites   startup and memory with 1,000 sites of 100 posts
#                           against one site of 100 posts
#   scripts/load.sh postgres  PostgreSQL against bbolt on the same data: the
#                           cached thread side by side, the thread with the
#                           cache off, durable submissions; needs a
#                           PostgreSQL server (see pg_server below)
#
# Every figure is the median of RUNS runs. The machine is shared, so each run
# measures the figures it compares back to back (the thread right beside its
# bare ceiling, the large database right after the small one) and the ratios
# are taken run by run.
#
# wrk runs one thread by default: on a small machine it shares the cores with
# the server, and a second thread adds no requests, only scheduling delay
# that wrk counts as the server's latency.
#
# Environment: DURATION per wrk run (10s), RUNS (3), CONNS (50), THREADS (1),
# PARLEY_LOAD_DIR where seeded databases are kept between runs
# (/tmp/parley-load), PARLEY_BIN a parley binary to measure instead of this
# checkout (say, an older build, for a before/after). Needs wrk
# (apt-get install wrk) and curl.
set -euo pipefail
cd "$(dirname "$0")/.."

mode=${1:-paths}
DURATION=${DURATION:-10s}
RUNS=${RUNS:-3}
CONNS=${CONNS:-50}
THREADS=${THREADS:-1}
dir=${PARLEY_LOAD_DIR:-/tmp/parley-load}
mkdir -p "$dir"
results=$(mktemp)
server_pid=
other_pid= # compare's second server
bare_pid=
cleanup() {
  for pid in $server_pid $other_pid $bare_pid; do kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; done
  rm -f "$results" "$dir/work.db" "$dir/work-before.db" "$dir/work-after.db" "$dir/server.log" "$dir/thread.json" "$dir/thread.json.gz" "$dir/thread.headers" "$dir/thread.gz.headers"
}
trap cleanup EXIT

for tool in wrk curl; do
  command -v $tool >/dev/null || { echo "load.sh: $tool is needed (apt-get install $tool)" >&2; exit 1; }
done

echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), $(free -g | awk '/Mem:/{print $2}') GiB, $(uname -sr), $(go version | cut -d' ' -f3)"
echo "load:    wrk -t$THREADS -c$CONNS -d$DURATION, $RUNS runs, median reported; load average now: $(cut -d' ' -f1-3 /proc/loadavg)"
if [ -n "${PARLEY_BIN:-}" ]; then cp "$PARLEY_BIN" "$dir/parley"; else go build -o "$dir/parley" .; fi
go build -o "$dir/seed" ./scripts/seed
go build -o "$dir/ceiling" ./scripts/ceiling

# seeded NAME POSTS PER_POST [SITES]: a pristine seeded database, built once.
seeded() {
  local db="$dir/$1.db"
  if [ ! -f "$db" ]; then
    echo "seeding $1: ${4:-1} sites × $2 posts × $3 comments + /popular (200 approved)…" >&2
    rm -f "$db.tmp"
    "$dir/seed" --data "$db.tmp" --sites "${4:-1}" --posts "$2" --per-post "$3" --popular 200 >&2
    mv "$db.tmp" "$db"
  fi
  echo "$db"
}

# start DB [FLAGS…]: serve a fresh copy of DB; sets server_pid, port,
# startup_ms (exec to first answered request) and rss_start_mb.
start() {
  local db=$1 work=${PARLEY_WORK:-$dir/work.db}; shift
  if [[ $db == postgres://* ]]; then
    work=$db
  else
    cp --sparse=always "$db" "$work"
    sync "$work"
  fi
  port=$(free_port)
  local t0; t0=$(date +%s%N)
  PARLEY_ADMIN_PASSWORD=load-test-password "${PARLEY_BIN:-$dir/parley}" serve --data "$work" --addr "127.0.0.1:$port" \
    --rate-limit 0 --min-fill-seconds 0 --log-format json "$@" 2>>"$dir/server.log" &
  server_pid=$!
  until curl -sf -o /dev/null "http://127.0.0.1:$port/api/counts?post=/popular"; do
    kill -0 "$server_pid" 2>/dev/null || { echo "load.sh: the server did not start:" >&2; tail "$dir/server.log" >&2; exit 1; }
    sleep 0.002
  done
  startup_ms=$(( ($(date +%s%N) - t0) / 1000000 ))
  rss_start_mb=$(rss_mb)
}

stop() {
  kill -TERM "$server_pid"
  wait "$server_pid" || true
  server_pid=
  rm -f "$dir/work.db"
}

free_port() {
  local p=$((20000 + RANDOM % 20000))
  while (echo >/dev/tcp/127.0.0.1/$p) 2>/dev/null; do p=$((20000 + RANDOM % 20000)); done
  echo $p
}

# start_bare PATH: the bare ceiling (scripts/ceiling), another process that
# serves the bytes Parley answered for PATH, identity and gzip, with a
# Content-Length; sets bare_pid and bare_port.
start_bare() {
  curl -sf -D "$dir/thread.headers" -o "$dir/thread.json" "http://127.0.0.1:$port$1"
  curl -sf -H "$gzip_h" -D "$dir/thread.gz.headers" -o "$dir/thread.json.gz" "http://127.0.0.1:$port$1"
  gzip -t <"$dir/thread.json.gz"
  bare_port=$(free_port)
  "$dir/ceiling" --addr "127.0.0.1:$bare_port" --body "$dir/thread.json" --gzip "$dir/thread.json.gz" \
    --headers "$dir/thread.headers" --gzip-headers "$dir/thread.gz.headers" &
  bare_pid=$!
  until curl -sf -o /dev/null "http://127.0.0.1:$bare_port/"; do
    kill -0 "$bare_pid" 2>/dev/null || { echo "load.sh: the bare ceiling did not start" >&2; exit 1; }
    sleep 0.002
  done
  echo "bare ceiling: $(wc -c <"$dir/thread.json") bytes, $(wc -c <"$dir/thread.json.gz") gzipped" >&2
}

stop_bare() {
  kill "$bare_pid"
  wait "$bare_pid" 2>/dev/null || true
  bare_pid=
}

rss_mb() { awk '/VmRSS/{printf "%.0f", $2/1024}' "/proc/$server_pid/status"; }

# cpu_ticks URL: the CPU time (user + system, in clock ticks) used so far by
# the process that serves URL: the bare ceiling or the server.
cpu_ticks() {
  local pid=$server_pid
  [[ -n $bare_pid && $1 == "http://127.0.0.1:$bare_port"* ]] && pid=$bare_pid
  awk '{print $14 + $15}' "/proc/$pid/stat"
}

# cpu_us T0 T1 RESULT: the CPU time per request, in µs, of a run that began
# at T0 ticks, ended at T1 and gave the wrk RESULT line. Steadier than
# req/s on a shared machine: it does not count the time spent waiting.
cpu_us() {
  local n; n=$(grep -o 'requests=[0-9]*' <<<"$3" | cut -d= -f2)
  awk -v t="$(( $2 - $1 ))" -v hz="$(getconf CLK_TCK)" -v n="$n" 'BEGIN {printf "%.1f", n ? t * 1e6 / hz / n : 0}'
}

# measure LABEL PATH [wrk flags…]: one wrk run against the server (or a
# whole URL), recorded in $results.
measure() {
  local label=$1 url=$2; shift 2
  [[ $url == http* ]] || url="http://127.0.0.1:$port$url"
  local out t0 t1
  t0=$(cpu_ticks "$url")
  out=$(wrk -t"$THREADS" -c"$CONNS" -d"$DURATION" -s scripts/load.lua "$@" "$url" | grep '^RESULT')
  t1=$(cpu_ticks "$url")
  out="${out#RESULT } cpu_us=$(cpu_us "$t0" "$t1" "$out")"
  echo "$label $out" >>"$results"
  echo "  $label: $out" >&2
  : >"$dir/server.log" # the request log is the server's real cost, not worth keeping
}

# side_by_side LABEL_A URL_A LABEL_B URL_B [wrk flags…]: two wrk at once,
# half the connections each, so that both see the same moment of a noisy
# machine; each server then gets about half the CPU, and the ratio of their
# rates is the inverse ratio of their costs per request.
side_by_side() {
  local la=$1 ua=$2 lb=$3 ub=$4; shift 4
  local half=$((CONNS / 2)) a b
  a=$(mktemp) b=$(mktemp)
  local a0 b0 a1 b1
  a0=$(cpu_ticks "$ua") b0=$(cpu_ticks "$ub")
  wrk -t1 -c$half -d"$DURATION" -s scripts/load.lua "$@" "$ua" >"$a" &
  local other=$!
  wrk -t1 -c$half -d"$DURATION" -s scripts/load.lua "$@" "$ub" >"$b"
  wait $other
  a1=$(cpu_ticks "$ua") b1=$(cpu_ticks "$ub")
  for x in "$la $a $a0 $a1" "$lb $b $b0 $b1"; do
    set -- $x
    local out; out=$(grep '^RESULT' "$2")
    out="${out#RESULT } cpu_us=$(cpu_us "$3" "$4" "$out")"
    echo "$1 $out" >>"$results"
    echo "  $1: $out" >&2
  done
  rm -f "$a" "$b"
  : >"$dir/server.log"
}

# median LABEL FIELD: the median of one field over the runs of LABEL.
median() {
  grep "^$1 " "$results" | tr ' ' '\n' | grep "^$2=" | cut -d= -f2 | sort -g |
    awk '{v[NR]=$1} END {if (NR == 0) print "-"; else if (NR % 2) print v[(NR+1)/2]; else printf "%.2f\n", (v[NR/2]+v[NR/2+1])/2}'
}

# ratio A B: the median over runs of A's rps / B's rps, run by run.
ratio() {
  paste <(grep "^$1 " "$results" | grep -o 'rps=[0-9.]*' | cut -d= -f2) \
        <(grep "^$2 " "$results" | grep -o 'rps=[0-9.]*' | cut -d= -f2) |
    awk '{print $1/$2}' | sort -g |
    awk '{v[NR]=$1} END {if (NR % 2) printf "%.2f", v[(NR+1)/2]; else printf "%.2f", (v[NR/2]+v[NR/2+1])/2}'
}

# cpu_ratio A B: the median over runs of A's CPU per request / B's, run by run.
cpu_ratio() {
  paste <(grep "^$1 " "$results" | grep -o 'cpu_us=[0-9.]*' | cut -d= -f2) \
        <(grep "^$2 " "$results" | grep -o 'cpu_us=[0-9.]*' | cut -d= -f2) |
    awk '$2 > 0 {print $1/$2}' | sort -g |
    awk '{v[NR]=$1} END {if (NR == 0) print "-"; else if (NR % 2) printf "%.2f", v[(NR+1)/2]; else printf "%.2f", (v[NR/2]+v[NR/2+1])/2}'
}

row() { printf "%-34s %10s %8s %8s %7s %7s\n" "$1" "$(median "$2" rps)" "$(median "$2" p50_ms)" "$(median "$2" p99_ms)" "$(median "$2" errors)" "$(median "$2" cpu_us)"; }

gzip_h="Accept-Encoding: gzip"
submission='{"post":"/popular","author":"Load","email":"load@example.com","body":"Comment {n} sent by the load test, with *a little* Markdown."}'

# The read path against its bare ceiling: the same bytes from a minimal
# net/http server in another process. The two are measured back to back,
# in alternating order from run to run so that a drift in the machine's
# load favours neither, then side by side; ratios are taken run by run.
paths() {
  local only_thread=${1:-}
  local db; db=$(seeded small 8 100)
  local thread=/api/comments?post=/popular
  start "$db" --bench-ceiling
  echo "server up in ${startup_ms} ms, RSS ${rss_start_mb} MB" >&2
  start_bare "$thread"
  local bare="http://127.0.0.1:$bare_port$thread" same="http://127.0.0.1:$bare_port/same-headers$thread"
  for run in $(seq "$RUNS"); do
    echo "run $run/$RUNS, load average $(cut -d' ' -f1-3 /proc/loadavg)" >&2
    if (( run % 2 )); then
      measure bare-gzip "$bare" -H "$gzip_h"; measure thread-gzip "$thread" -H "$gzip_h"
      measure bare "$bare"; measure thread "$thread"
    else
      measure thread-gzip "$thread" -H "$gzip_h"; measure bare-gzip "$bare" -H "$gzip_h"
      measure thread "$thread"; measure bare "$bare"
    fi
    side_by_side sbs-thread-gzip "http://127.0.0.1:$port$thread" sbs-bare-gzip "$bare" -H "$gzip_h"
    side_by_side sbs-thread "http://127.0.0.1:$port$thread" sbs-bare "$bare"
    side_by_side sbs2-thread-gzip "http://127.0.0.1:$port$thread" sbs-same-gzip "$same" -H "$gzip_h"
    side_by_side sbs2-thread "http://127.0.0.1:$port$thread" sbs-same "$same"
    [ -n "$only_thread" ] && continue
    measure ceiling-gzip "/api/bench/ceiling?post=/popular" -H "$gzip_h"
    measure healthz "/healthz"
    measure counts "/api/counts?post=/popular&post=/post/00001&post=/post/00002&post=/post/00003&post=/post/00004"
    PARLEY_POST_BODY=$submission measure submit "/api/comments"
  done
  local rss; rss=$(rss_mb)
  stop_bare
  stop
  echo
  echo "GET $thread (200 approved comments), $CONNS connections; load average now $(cut -d' ' -f1-3 /proc/loadavg):"
  printf "%-34s %10s %8s %8s %7s %7s\n" endpoint "req/s" "p50 ms" "p99 ms" errors "CPU µs"
  row "bare ceiling, gzip" bare-gzip
  row "thread, gzip" thread-gzip
  row "bare ceiling, identity" bare
  row "thread, identity" thread
  if [ -z "$only_thread" ]; then
    row "in-server ceiling, gzip" ceiling-gzip
    row "healthz" healthz
    row "counts, 5 posts" counts
    row "submit (202 after commit)" submit
  fi
  echo "thread / bare ceiling, median of the run-by-run ratios:"
  echo "  back to back, $CONNS connections, gzip:     $(ratio thread-gzip bare-gzip)"
  echo "  back to back, $CONNS connections, identity: $(ratio thread bare)"
  echo "  side by side, $((CONNS / 2)) + $((CONNS / 2)) connections, gzip:     $(ratio sbs-thread-gzip sbs-bare-gzip)"
  echo "  side by side, $((CONNS / 2)) + $((CONNS / 2)) connections, identity: $(ratio sbs-thread sbs-bare)"
  echo "bare ceiling's CPU per request / the thread's (steadier: no waiting counted), side by side:"
  echo "  gzip: $(cpu_ratio sbs-bare-gzip sbs-thread-gzip)  identity: $(cpu_ratio sbs-bare sbs-thread)"
  echo "the same against the ceiling sending Parley's header fields too (the same bytes on the wire):"
  echo "  req/s gzip: $(ratio sbs2-thread-gzip sbs-same-gzip)  identity: $(ratio sbs2-thread sbs-same)"
  echo "  CPU   gzip: $(cpu_ratio sbs-same-gzip sbs2-thread-gzip)  identity: $(cpu_ratio sbs-same sbs2-thread)"
  [ -n "$only_thread" ] || echo "thread / in-server ceiling, gzip: $(ratio thread-gzip ceiling-gzip)"
  echo "RSS after the runs: ${rss} MB"
}

# The scale comparison. Both databases have posts of 100 comments (8 posts
# at 1,000 comments, 10,000 at 1,000,000) and /popular with 200, so that a
# post costs the same to read at both sizes; reads of random posts run with
# the cache off, to measure storage rather than the cache's size.
scale() {
  local small large
  small=$(seeded small 8 100)
  large=$(seeded large 10000 100)
  for run in $(seq "$RUNS"); do
    echo "run $run/$RUNS" >&2
    for size in small large; do
      local db=$small posts=8
      [ $size = large ] && db=$large posts=10000
      start "$db"
      echo "$size-start startup_ms=$startup_ms rss_mb=$rss_start_mb" >>"$results"
      echo "  $size: up in ${startup_ms} ms, RSS ${rss_start_mb} MB" >&2
      measure "$size-thread" "/api/comments?post=/popular" -H "$gzip_h"
      PARLEY_POST_BODY=$submission measure "$size-submit" "/api/comments"
      echo "$size-end rss_mb=$(rss_mb) anon_mb=$(awk '/RssAnon/{printf "%.0f", $2/1024}' "/proc/$server_pid/status")" >>"$results"
      stop
      start "$db" --cache-size 0
      PARLEY_ANY_POST=$posts measure "$size-any" "/api/comments" -H "$gzip_h"
      stop
    done
  done
  echo
  printf "%-46s %12s %12s %7s\n" "" "1,000" "1,000,000" "ratio"
  for m in "startup, exec to first answer (ms)|start|startup_ms" "RSS after start (MB)|start|rss_mb" \
           "RSS after the load (MB)|end|rss_mb" "  of which heap and stacks (MB)|end|anon_mb"; do
    IFS='|' read -r name label field <<<"$m"
    local a b; a=$(median "small-$label" "$field"); b=$(median "large-$label" "$field")
    printf "%-46s %12s %12s %7s\n" "$name" "$a" "$b" "$(awk -v a="$a" -v b="$b" 'BEGIN{printf "%.2f", b/a}')"
  done
  for m in "GET /popular, cached (req/s)|thread" "GET a random post, cache off (req/s)|any" "submit (req/s)|submit"; do
    IFS='|' read -r name label <<<"$m"
    printf "%-46s %12s %12s %7s\n" "$name" "$(median "small-$label" rps)" "$(median "large-$label" rps)" "$(ratio "large-$label" "small-$label")"
  done
  for m in "GET /popular, cached p99 (ms)|thread" "GET a random post, cache off p99 (ms)|any" "submit p99 (ms)|submit"; do
    IFS='|' read -r name label <<<"$m"
    printf "%-46s %12s %12s\n" "$name" "$(median "small-$label" p99_ms)" "$(median "large-$label" p99_ms)"
  done
  echo "(ratios are 1,000,000 over 1,000; req/s ratios are taken run by run. RSS counts the"
  echo " pages of the mapped database file the server touched; the heap is bounded by --cache-size)"
}

# Group commit against one commit per submission, 50 concurrent writers,
# through the server over real storage (server.BenchmarkSubmit). The two
# run back to back, RUNS×3 times, and the ratio is taken pair by pair: on a
# shared machine the absolute figures swing far more than their ratio.
groupcommit() {
  for run in $(seq $((RUNS * 3))); do
    local out; out=$(go test ./server -run '^$' -bench 'BenchmarkSubmit$' -benchtime 1s)
    local g e
    g=$(echo "$out" | awk '/group/{for(i=1;i<=NF;i++) if ($(i+1)=="submits/s") print $i}')
    e=$(echo "$out" | awk '/commit-each/{for(i=1;i<=NF;i++) if ($(i+1)=="submits/s") print $i}')
    echo "group rps=$g" >>"$results"
    echo "each rps=$e" >>"$results"
    echo "  run $run: group commit $g/s, one commit each $e/s" >&2
  done
  echo
  echo "submissions/s at 50 concurrent writers, $((RUNS * 3)) pairs:"
  echo "group commit (median)            $(median group rps)"
  echo "one commit per submission        $(median each rps)"
  echo "group / one each, pair by pair   $(ratio group each)"
}

# compare [REF]: before (REF's binary) and after (this tree), alternating
# which goes first, on copies of one database that REF's seed wrote: the
# after binary upgrades its copy at start, as a real upgrade would.
compare() {
  local ref=${1:-39274d9} base="$dir/base-${1:-39274d9}"
  if [ ! -x "$base/parley" ]; then
    rm -rf "$base.src" && mkdir -p "$base.src" "$base"
    git archive "$ref" | tar -x -C "$base.src"
    (cd "$base.src" && go build -o "$base/parley" . && go build -o "$base/seed" ./scripts/seed)
    rm -rf "$base.src"
  fi
  local db="$dir/base-$ref-small.db"
  if [ ! -f "$db" ]; then
    "$base/seed" --data "$db.tmp" --posts 8 --per-post 100 --popular 200 >&2
    mv "$db.tmp" "$db"
  fi
  # Both servers run at once, each with half the connections and its own
  # copy of the database: on a shared machine, only figures taken at the
  # same moment compare. Duplicate refusal is off, so that every
  # submission is a real one.
  local half=$((CONNS / 2))
  for run in $(seq "$RUNS"); do
    PARLEY_WORK=$dir/work-before.db PARLEY_BIN=$base/parley start "$db" --duplicate-window 0
    local bport=$port
    other_pid=$server_pid
    server_pid=
    PARLEY_WORK=$dir/work-after.db start "$db" --duplicate-window 0
    local aport=$port
    echo "run $run/$RUNS: before on :$bport, after on :$aport (up in ${startup_ms} ms, upgrade included)" >&2
    for what in thread submit; do
      local path="/api/comments?post=/popular" a b
      a=$(mktemp) b=$(mktemp)
      if [ $what = submit ]; then export PARLEY_POST_BODY=$submission; path=/api/comments; fi
      wrk -t1 -c$half -d"$DURATION" -s scripts/load.lua -H "$gzip_h" "http://127.0.0.1:$bport$path" >"$a" &
      local other=$!
      wrk -t1 -c$half -d"$DURATION" -s scripts/load.lua -H "$gzip_h" "http://127.0.0.1:$aport$path" >"$b"
      wait $other
      unset PARLEY_POST_BODY
      for x in "before-$what $a" "after-$what $b"; do
        set -- $x
        local out; out=$(grep '^RESULT' "$2")
        echo "$1 ${out#RESULT }" >>"$results"
        echo "  $1: ${out#RESULT }" >&2
      done
      rm -f "$a" "$b"
    done
    kill -TERM "$other_pid" "$server_pid"; wait "$other_pid" "$server_pid" || true
    other_pid= server_pid=
    rm -f "$dir/work-before.db" "$dir/work-after.db"
    : >"$dir/server.log"
  done
  echo
  echo "before = $ref, after = this tree, side by side ($half connections each); GET /api/comments?post=/popular (200 comments, gzip):"
  printf "%-34s %10s %8s %8s %7s\n" endpoint "req/s" "p50 ms" "p99 ms" errors
  row "cached thread, before" before-thread
  row "cached thread, after" after-thread
  row "submit, before" before-submit
  row "submit, after" after-submit
  echo "after / before, run by run: cached thread $(ratio after-thread before-thread), submit $(ratio after-submit before-submit)"
}

# sites: 1,000 sites of 100 posts (one comment each) against one site of
# 100 posts: startup (exec to first answer), the first request from a
# site's origin (which loads the site index), and memory.
sites() {
  local one many
  one=$(seeded sites-1 100 1 1)
  many=$(seeded sites-1000 100 1 1000)
  for run in $(seq "$RUNS"); do
    for size in one many; do
      local db=$one origin=https://nowhere.example
      [ $size = many ] && db=$many origin=https://site-0999.example
      start "$db"
      local t0; t0=$(date +%s%N)
      curl -sf -o /dev/null -H "Origin: $origin" "http://127.0.0.1:$port/api/comments?post=/post/00001" || true
      local first_ms; first_ms=$(( ($(date +%s%N) - t0) / 1000000 ))
      measure "$size-thread" "/api/comments?post=/popular" -H "$gzip_h"
      echo "$size-start startup_ms=$startup_ms rss_mb=$rss_start_mb first_ms=$first_ms" >>"$results"
      echo "$size-end rss_mb=$(rss_mb) anon_mb=$(awk '/RssAnon/{printf "%.0f", $2/1024}' "/proc/$server_pid/status")" >>"$results"
      echo "  $size: up in ${startup_ms} ms, RSS ${rss_start_mb} MB, first site request ${first_ms} ms" >&2
      stop
    done
  done
  echo
  printf "%-46s %12s %12s %7s\n" "" "1 site" "1,000 sites" "ratio"
  for m in "startup, exec to first answer (ms)|start|startup_ms" "first request from a site's origin (ms)|start|first_ms" \
           "RSS after start (MB)|start|rss_mb" "RSS after the load (MB)|end|rss_mb" "  of which heap and stacks (MB)|end|anon_mb"; do
    IFS='|' read -r name label field <<<"$m"
    local a b; a=$(median "one-$label" "$field"); b=$(median "many-$label" "$field")
    printf "%-46s %12s %12s %7s\n" "$name" "$a" "$b" "$(awk -v a="$a" -v b="$b" 'BEGIN{if (a > 0) printf "%.2f", b/a; else print "-"}')"
  done
  printf "%-46s %12s %12s %7s\n" "GET /popular, cached (req/s)" "$(median one-thread rps)" "$(median many-thread rps)" "$(ratio many-thread one-thread)"
}

# pg_server: the URL of a PostgreSQL role that may create databases, with
# the server's durable defaults (fsync and synchronous_commit on):
# PARLEY_LOAD_POSTGRES, or, as root, the Debian cluster (apt-get install
# postgresql), started here and given a role parley_load.
pg_server() {
  if [ -n "${PARLEY_LOAD_POSTGRES:-}" ]; then echo "$PARLEY_LOAD_POSTGRES"; return; fi
  local v; v=$(ls /usr/lib/postgresql 2>/dev/null | sort -n | tail -1)
  if [ -z "$v" ] || [ "$(id -u)" != 0 ]; then
    echo "load.sh: postgres needs PARLEY_LOAD_POSTGRES, or root and PostgreSQL (apt-get install postgresql)" >&2
    exit 1
  fi
  pg_ctlcluster "$v" main status >/dev/null 2>&1 || pg_ctlcluster "$v" main start
  runuser -u postgres -- psql -q -c "DO \$\$BEGIN IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'parley_load') THEN
    CREATE ROLE parley_load LOGIN CREATEDB PASSWORD 'parley-load'; END IF; END\$\$" >&2
  echo "postgres://parley_load:parley-load@127.0.0.1:$(pg_conftool -s "$v" main show port)/postgres"
}

# PostgreSQL against bbolt on the same seeded data, copied into a fresh
# database with parley copy for every run. The cached thread runs side by
# side (both servers up, half the connections each): it does no database
# work, so the two should match. The thread with the cache off measures the
# database's read path; submissions are durable on both (bbolt fsyncs each
# group commit, PostgreSQL commits with synchronous_commit on) and run one
# server at a time, alternating which goes first.
postgres_mode() {
  local db; db=$(seeded small 8 100)
  local server; server=$(pg_server)
  local url=${server%/*}/parley_load thread=/api/comments?post=/popular
  echo "postgres: $(psql "$server" -Atc 'SELECT version()' | cut -d' ' -f1-2), fsync $(psql "$server" -Atc 'SHOW fsync'), synchronous_commit $(psql "$server" -Atc 'SHOW synchronous_commit')" >&2
  fresh_pg() {
    psql "$server" -q -c "DROP DATABASE IF EXISTS parley_load WITH (FORCE)" -c "CREATE DATABASE parley_load" >&2
    "$dir/parley" copy --from "$db" --to "$url" >/dev/null 2>&1
  }
  for run in $(seq "$RUNS"); do
    echo "run $run/$RUNS, load average $(cut -d' ' -f1-3 /proc/loadavg)" >&2
    fresh_pg
    start "$url"
    local pport=$port; other_pid=$server_pid; server_pid=
    start "$db"
    local bport=$port
    side_by_side bolt-cached "http://127.0.0.1:$bport$thread" pg-cached "http://127.0.0.1:$pport$thread" -H "$gzip_h"
    kill "$other_pid"; wait "$other_pid" 2>/dev/null || true; other_pid=
    stop
    local order="bolt pg"; (( run % 2 )) || order="pg bolt"
    for backend in $order; do
      local data=$db; [ $backend = pg ] && { fresh_pg; data=$url; }
      start "$data" --cache-size 0
      measure "$backend-uncached" "$thread" -H "$gzip_h"
      stop
      [ $backend = pg ] && fresh_pg
      start "$data" --duplicate-window 0
      PARLEY_POST_BODY=$submission measure "$backend-submit" "/api/comments"
      stop
    done
  done
  psql "$server" -q -c "DROP DATABASE IF EXISTS parley_load WITH (FORCE)" >&2
  echo
  echo "GET $thread (200 approved comments) and submissions, $CONNS connections; load average now $(cut -d' ' -f1-3 /proc/loadavg):"
  printf "%-34s %10s %8s %8s %7s %7s\n" endpoint "req/s" "p50 ms" "p99 ms" errors "CPU µs"
  row "bbolt, cached thread (side by side)" bolt-cached
  row "postgres, cached thread (side by side)" pg-cached
  row "bbolt, thread, cache off" bolt-uncached
  row "postgres, thread, cache off" pg-uncached
  row "bbolt, submit (202 after commit)" bolt-submit
  row "postgres, submit (202 after commit)" pg-submit
  echo "postgres / bbolt, median of the run-by-run ratios: cached thread $(ratio pg-cached bolt-cached), cache off $(ratio pg-uncached bolt-uncached), submit $(ratio pg-submit bolt-submit)"
}

case $mode in
  paths) paths ;;
  thread) paths only-thread ;;
  scale) scale ;;
  groupcommit) groupcommit ;;
  compare) compare "${2:-}" ;;
  sites) sites ;;
  postgres) postgres_mode ;;
  *) echo "usage: scripts/load.sh [paths|thread|scale|groupcommit|compare [REF]|sites|postgres]" >&2; exit 2 ;;
esac
