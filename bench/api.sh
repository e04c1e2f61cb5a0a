#!/usr/bin/env bash
# api.sh - API throughput against its references, all on this machine.
#
#   bench/api.sh                        4 children, 10 s per run
#   GRADIENT_CHILDREN=8 BENCH_SECONDS=8 bench/api.sh
#
# Starts a private stack with gradient-dev (its own run directory and a
# free port, so a running "gradient-dev up" is left alone), registers a user
# and logs in, then runs wrk (2 threads, 8 and 64 connections) against
# GET /api/v1/user (JWT, one query) and GET /api/v1/health.  In the same
# run it measures three references: the floor (bench/floor.c: libfcgi and
# libpq, one prepared single-row query, a fixed envelope) with as many
# children, behind a second nginx filled in from the same nginx/dev.conf.in;
# nginx answering a fixed string; and pgbench "SELECT 1" with 8 clients on
# the same PostgreSQL.  Prints requests/s, p99 latency, non-2xx answers,
# the CPU each request cost the serving processes, the share of the machine
# other processes took meanwhile, the ratios, each child's memory, and
# PASS/FAIL for the targets.  Before each run it waits (up to 10 s) for the
# machine to be quiet.
#
# Exits 0 when a target is missed (this is a measurement) and 1 when the
# benchmark cannot run.  Everything listens on 127.0.0.1 and is stopped,
# and the temporary directory removed, on exit.
#
# Environment: GRADIENT_CHILDREN (4), BENCH_SECONDS (10 per run),
# BENCH_WARMUP (2 s per target, not counted), BENCH_KEEP (keep the
# temporary directory and the raw wrk and pgbench output).
set -euo pipefail

top=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
secs=${BENCH_SECONDS:-10}
warmup=${BENCH_WARMUP:-2}
children=${GRADIENT_CHILDREN:-4}
svc_user=gradient
tmp=
pids=()

say() { printf 'api.sh: %s\n' "$*" >&2; }
die() { say "$*"; exit 1; }

[[ $secs =~ ^[0-9]+$ && $secs -ge 1 && $secs -le 600 ]] ||
    die "BENCH_SECONDS must be 1 to 600"
[[ $warmup =~ ^[0-9]+$ && $warmup -le 60 ]] || die "BENCH_WARMUP must be 0 to 60"
[[ $children =~ ^[0-9]+$ && $children -ge 1 && $children -le 256 ]] ||
    die "GRADIENT_CHILDREN must be 1 to 256"
[ "$(id -u)" -eq 0 ] || die "run as root (gradient-dev and the services need it)"

# stop PID: TERM, wait up to 10 s, then KILL.
stop() {
	local pid=$1
	kill -TERM "$pid" 2>/dev/null || return 0
	for _ in $(seq 100); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	kill -KILL "$pid" 2>/dev/null || true
	wait "$pid" 2>/dev/null || true
}

cleanup() {
	local rc=$? p
	set +e
	for p in "${pids[@]}"; do
		stop "$p"
	done
	if [ -n "$tmp" ]; then
		[ -d "$tmp/run" ] && GRADIENT_RUN_DIR=$tmp/run \
		    "$top/gradient-dev" down >/dev/null 2>&1
		if [ -n "${BENCH_KEEP:-}" ]; then
			say "kept $tmp"
		else
			rm -rf "$tmp"
		fi
	fi
	exit $rc
}
trap cleanup EXIT
trap 'exit 130' INT TERM

free_port() {
	python3 -c 'import socket; s = socket.socket();
s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# wait_http URL: poll for a 2xx for up to 20 s.
wait_http() {
	for _ in $(seq 200); do
		curl -sf -o /dev/null "$1" 2>/dev/null && return 0
		sleep 0.1
	done
	return 1
}

# nginx_start DIR CONF: run an nginx master in the foreground of a job.
nginx_start() {
	nginx -c "$2" -p "$1" -e "$1/nginx-error.log" >>"$1/nginx.log" 2>&1 \
	    </dev/null &
	pids+=($!)
}

tmp=$(mktemp -d /tmp/gradient-bench.XXXXXX)
chmod 755 "$tmp"	# the services run as $svc_user
run=$tmp/run
port_api=$(free_port)
port_floor=$(free_port)
port_fixed=$(free_port)

# -- Gradient: build, PostgreSQL, responder pool and nginx -------------------
say "starting Gradient (${children} children) on 127.0.0.1:$port_api"
GRADIENT_RUN_DIR=$run GRADIENT_HTTP_PORT=$port_api \
    GRADIENT_CHILDREN=$children "$top/gradient-dev" up >"$tmp/up.log" 2>&1 ||
    { cat "$tmp/up.log" >&2; die "gradient-dev up failed"; }
pgbin=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n 1)
conninfo="host=$run/pg dbname=gradient user=$svc_user"
api=http://127.0.0.1:$port_api/api/v1

curl -sf -o /dev/null -H 'Content-Type: application/json' \
    -d '{"username":"bench","name":"Bench","email":"bench@example.com",
	 "password":"bench-password-1"}' "$api/auth/basic/register" ||
    die "cannot register the benchmark user"
jwt=$(curl -sf -H 'Content-Type: application/json' \
    -d '{"loginname":"bench","password":"bench-password-1"}' \
    "$api/auth/basic/login" |
    python3 -c 'import json, sys; print(json.load(sys.stdin)["message"])') ||
    die "cannot log in"
auth="Authorization: Bearer $jwt"
curl -sf -o /dev/null -H "$auth" "$api/user" || die "GET /user refused the token"

# -- The floor, behind the same nginx site config ----------------------------
fl=$tmp/floor
mkdir -p "$fl/nginx-tmp"
cc -O2 -Wall -Wextra "$top/bench/floor.c" -o "$fl/floor" \
    $(pkg-config --cflags --libs fcgi libpq) || die "cannot build the floor"
chown -R "$svc_user:" "$fl"
setpriv --reuid="$svc_user" --regid="$svc_user" --init-groups -- \
    "$fl/floor" "$fl/floor.sock" "$conninfo" "$children" \
    >>"$fl/floor.log" 2>&1 </dev/null &
floor_pid=$!
pids+=("$floor_pid")
sed -e "s#@RUN_DIR@#$fl#g" -e "s#@HTTP_PORT@#$port_floor#g" \
    -e "s#@FCGI_SOCKET@#$fl/floor.sock#g" -e "s#@USER@#$svc_user#g" \
    -e "s#@LOCATIONS@#$top/nginx/gradient-locations.conf#g" \
    "$top/nginx/dev.conf.in" >"$fl/nginx.conf"
nginx_start "$fl" "$fl/nginx.conf"
floor_nginx=$!
floor_url=http://127.0.0.1:$port_floor/api/v1/user
wait_http "$floor_url" ||
    { cat "$fl"/*.log >&2; die "the floor does not answer on $port_floor"; }

# -- nginx answering a fixed string ------------------------------------------
fx=$tmp/fixed
mkdir -p "$fx/nginx-tmp"
chown "$svc_user:" "$fx/nginx-tmp"
cat >"$fx/nginx.conf" <<CONF
daemon off;
worker_processes 2;
user $svc_user;
pid $fx/nginx.pid;
error_log $fx/nginx-error.log warn;
events {
	worker_connections 4096;
}
http {
	access_log off;
	client_body_temp_path $fx/nginx-tmp/body;
	fastcgi_temp_path $fx/nginx-tmp/fastcgi;
	proxy_temp_path $fx/nginx-tmp/proxy;
	uwsgi_temp_path $fx/nginx-tmp/uwsgi;
	scgi_temp_path $fx/nginx-tmp/scgi;
	server_tokens off;
	server {
		listen 127.0.0.1:$port_fixed;
		location / {
			default_type application/json;
			return 200 '{"error":false,"message":"ok"}';
		}
	}
}
CONF
nginx_start "$fx" "$fx/nginx.conf"
fixed_nginx=$!
fixed_url=http://127.0.0.1:$port_fixed/api/v1/health
wait_http "$fixed_url" || die "nginx (fixed string) does not answer"

# -- Measurements --------------------------------------------------------------
# Besides wrk's figures, each run records the CPU time that the serving
# processes (responder children, nginx workers, PostgreSQL backends) spent
# per request, and how much CPU processes outside this benchmark took
# meanwhile: this machine may be shared, and requests/s alone cannot tell
# a slower server from a busier machine.
declare -A rps p99 non2xx sockerr cpu other
rows=()
hz=$(getconf CLK_TCK)
ncpu=$(nproc)
pg_master=$(head -n 1 "$run/pg/data/postmaster.pid")

# group NAME: the PIDs that serve NAME's requests.
group() {
	case $1 in
	fixed)	pgrep -P "$fixed_nginx" ;;
	floor)	pgrep -P "$floor_pid"; pgrep -P "$floor_nginx"
		pgrep -P "$pg_master" ;;
	select1) pgrep -P "$pg_master" ;;
	*)	pgrep -P "$(cat "$run/fcgi.pid")"
		pgrep -P "$(cat "$run/nginx.pid")"; pgrep -P "$pg_master" ;;
	esac
}

# ticks PID...: their user + system CPU time, in clock ticks.
ticks() {
	local p v s=0
	for p in "$@"; do
		v=$(awk '{ print $14 + $15 }' "/proc/$p/stat" 2>/dev/null) ||
		    continue
		s=$((s + ${v:-0}))
	done
	echo "$s"
}
# reaped PID: CPU ticks of PID's children that have exited and been waited
# for (pgbench's backends, wrk behind timeout).
reaped() { awk '{ print $16 + $17 }' "/proc/$1/stat"; }
busy() { awk '/^cpu / { print $2 + $3 + $4 + $7 + $8 + $9 }' /proc/stat; }

# quiet: wait up to 10 s for a second in which other processes use less
# than 10% of the machine (between runs, the benchmark itself is idle).
quiet() {
	local b0 b1
	for _ in $(seq 10); do
		b0=$(busy)
		sleep 1
		b1=$(busy)
		[ $(((b1 - b0) * 100 / (hz * ncpu))) -lt 10 ] && return 0
	done
	say "other processes keep the machine busy; measuring anyway"
}

# account KEY GROUP REQUESTS CMD...: run CMD, set cpu[KEY] (us/request)
# and other[KEY] (% of the machine used by unrelated processes).
account() {
	local key=$1 g=$2 n=$3 t0 b0 m0 s0 t1 b1 m1 s1 gp
	shift 3
	gp=$(group "$g")
	quiet
	# shellcheck disable=SC2086	# one PID a word
	s0=$(($(ticks $gp) + $(reaped "$pg_master"))) b0=$(busy)
	m0=$(reaped $$) t0=$EPOCHREALTIME
	"$@"
	# shellcheck disable=SC2086
	s1=$(($(ticks $gp) + $(reaped "$pg_master"))) b1=$(busy)
	m1=$(reaped $$) t1=$EPOCHREALTIME
	[ "$n" = wrk ] && n=$(awk '/ requests in / { print $1 }' "$out")
	[ "$n" = pgbench ] && n=$(awk '/^number of transactions actually processed:/ {
		sub(/\/.*/, "", $NF); print $NF }' "$tmp/pgbench.txt")
	cpu[$key]=$(awk -v d=$((s1 - s0)) -v hz="$hz" -v n="${n:-0}" \
	    'BEGIN { printf "%.0f", (n > 0 ? d / hz / n * 1e6 : 0) }')
	other[$key]=$(awk -v o=$((b1 - b0 - (s1 - s0) - (m1 - m0))) \
	    -v hz="$hz" -v c="$ncpu" -v t0="$t0" -v t1="$t1" \
	    'BEGIN { v = o / hz / c / (t1 - t0) * 100; printf "%.0f", (v > 0 ? v : 0) }')
}

warm() {
	[ "$warmup" -gt 0 ] || return 0
	timeout $((warmup + 30)) wrk -t2 -c64 -d"${warmup}s" "$@" >/dev/null 2>&1 ||
	    true
}

wrk_run() {
	timeout $((secs + 30)) wrk -t2 -c"$c" -d"${secs}s" --timeout 5s \
	    --latency "$@" "$url" >"$out" 2>&1 ||
	    die "wrk failed for $key: $(tail -n 3 "$out")"
}

# measure NAME CONNS URL [wrk options]: one wrk run into rps[NAME@CONNS] etc.
measure() {
	local key=$1@$2 c=$2 url=$3 g=$1 out n e
	shift 3
	out=$tmp/wrk-${key//[^a-z0-9@]/_}.txt
	account "$key" "$g" wrk wrk_run "$@"
	rps[$key]=$(awk '/^Requests\/sec:/ { printf "%.0f", $2 }' "$out")
	# wrk prints 812.00us, 2.34ms, 1.02s or 1.20m.
	p99[$key]=$(awk '$1 == "99%" {
		v = $2; u = $2; sub(/[a-z]+$/, "", v); sub(/^[0-9.]+/, "", u)
		m = u == "us" ? 0.001 : u == "ms" ? 1 : u == "s" ? 1000 : 60000
		printf "%.2f", v * m }' "$out")
	n=$(awk '/Non-2xx or 3xx responses:/ { print $NF }' "$out")
	e=$(awk '/Socket errors:/ { gsub(/,/, ""); print $4 + $6 + $8 + $10 }' \
	    "$out")
	non2xx[$key]=${n:-0}
	sockerr[$key]=${e:-0}
	[ -n "${rps[$key]}" ] || die "cannot parse wrk output for $key"
	rows+=("$key")
	say "$key: ${rps[$key]} req/s, p99 ${p99[$key]} ms," \
	    "${cpu[$key]} us CPU/request, other load ${other[$key]}%"
}

# Logging in ran argon2id (64 MiB) in one child; measure the peak over the
# benchmark alone (writing 5 to clear_refs resets VmHWM).
for p in $(pgrep -P "$(cat "$run/fcgi.pid")") $(pgrep -P "$floor_pid"); do
	echo 5 >"/proc/$p/clear_refs"
done

say "measuring, ${secs} s per run"
warm "$fixed_url"
measure fixed 8 "$fixed_url"
measure fixed 64 "$fixed_url"
warm "$api/health"
measure health 8 "$api/health"
measure health 64 "$api/health"
# /user and the floor alternate, so that they see the same machine.  The
# floor gets the same header, so nginx forwards the same parameters.
warm -H "$auth" "$api/user"
warm -H "$auth" "$floor_url"
measure user 8 "$api/user" -H "$auth"
measure floor 8 "$floor_url" -H "$auth"
measure user 64 "$api/user" -H "$auth"
measure floor 64 "$floor_url" -H "$auth"

printf 'SELECT 1;\n' >"$tmp/select1.sql"
chmod 644 "$tmp/select1.sql"
pgbench_run() {
	timeout $((secs + 30)) runuser -u "$svc_user" -- "$pgbin/pgbench" -n \
	    -M prepared -c 8 -j 2 -T "$secs" -f "$tmp/select1.sql" \
	    -h "$run/pg" -U "$svc_user" gradient >"$tmp/pgbench.txt" 2>&1 ||
	    die "pgbench failed: $(tail -n 3 "$tmp/pgbench.txt")"
}
account select1@8 select1 pgbench pgbench_run
rps[select1@8]=$(awk '/^tps = / { printf "%.0f", $3 }' "$tmp/pgbench.txt")
pg_lat=$(awk '/^latency average = / { print $4 }' "$tmp/pgbench.txt")
say "select1@8: ${rps[select1@8]} tps, ${cpu[select1@8]} us CPU/query," \
    "other load ${other[select1@8]}%"

# memory KEY PARENT: the largest VmRSS, VmHWM (peak since the reset above),
# RssAnon and Pss (kB) over PARENT's children, into mem_*[KEY].
declare -A mem_n mem_rss mem_hwm mem_anon mem_pss
memory() {
	local key=$1 pid v n=0 rss=0 hwm=0 anon=0 pss=0
	for pid in $(pgrep -P "$2"); do
		n=$((n + 1))
		v=$(awk '/^VmRSS:/ { print $2 }' "/proc/$pid/status")
		[ "$v" -gt "$rss" ] && rss=$v
		v=$(awk '/^VmHWM:/ { print $2 }' "/proc/$pid/status")
		[ "$v" -gt "$hwm" ] && hwm=$v
		v=$(awk '/^RssAnon:/ { print $2 }' "/proc/$pid/status")
		[ "$v" -gt "$anon" ] && anon=$v
		v=$(awk '/^Pss:/ { print $2 }' "/proc/$pid/smaps_rollup")
		[ "$v" -gt "$pss" ] && pss=$v
	done
	mem_n[$key]=$n mem_rss[$key]=$rss mem_hwm[$key]=$hwm
	mem_anon[$key]=$anon mem_pss[$key]=$pss
}
memory gradient "$(cat "$run/fcgi.pid")"
memory floor "$floor_pid"

# -- Report --------------------------------------------------------------------
declare -A label=(
	[fixed]="nginx fixed string"
	[health]="GET /api/v1/health"
	[user]="GET /api/v1/user (JWT)"
	[floor]="floor responder"
)
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", (b > 0 ? a / b : 0) }'; }
mb() { awk -v k="$1" 'BEGIN { printf "%.1f", k / 1024 }'; }

cpu_model=$(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo)
echo
echo "Gradient API benchmark, $(date -u '+%Y-%m-%d %H:%M UTC')"
echo "machine: $(nproc) cores ($cpu_model), $(uname -sr)"
echo "command: GRADIENT_CHILDREN=$children BENCH_SECONDS=$secs bench/api.sh"
echo "children: $children (Gradient and floor); wrk -t2, ${secs} s per run," \
    "${warmup} s warm-up per target"
echo
fmt='%-24s %5s %8s %9s %8s %8s %8s %6s\n'
# shellcheck disable=SC2059
printf "$fmt" target conns 'req/s' 'p99 ms' non-2xx 'sock err' 'CPU us' other
for k in "${rows[@]}"; do
	# shellcheck disable=SC2059
	printf "$fmt" "${label[${k%@*}]}" "${k#*@}" "${rps[$k]}" "${p99[$k]}" \
	    "${non2xx[$k]}" "${sockerr[$k]}" "${cpu[$k]}" "${other[$k]}%"
done
# shellcheck disable=SC2059
printf "$fmt" "pgbench SELECT 1 (tps)" 8 "${rps[select1@8]}" "avg $pg_lat" \
    - - "${cpu[select1@8]}" "${other[select1@8]}%"
echo "(CPU us: responder + nginx + PostgreSQL CPU per request; other: CPU"
echo " taken by processes outside the benchmark and its load generator)"
echo
r_user=$(ratio "${rps[user@64]}" "${rps[floor@64]}")
echo "user@64 / floor@64      $r_user   (target >= 0.80)"
echo "user@8 / floor@8        $(ratio "${rps[user@8]}" "${rps[floor@8]}")"
echo "floor@64 / SELECT 1     $(ratio "${rps[floor@64]}" "${rps[select1@8]}")"
echo "floor@64 / nginx fixed  $(ratio "${rps[floor@64]}" "${rps[fixed@64]}")"
echo "health@64 / nginx fixed $(ratio "${rps[health@64]}" "${rps[fixed@64]}")"
echo "health@64 / floor@64    $(ratio "${rps[health@64]}" "${rps[floor@64]}")"
echo "CPU per request, floor@64 / user@64: $(ratio "${cpu[floor@64]}" \
    "${cpu[user@64]}")   (the rate ratio the CPU cost predicts)"
echo
for k in gradient floor; do
	printf '%-8s %d children, largest: VmRSS %s MB, peak %s MB,' "$k" \
	    "${mem_n[$k]}" "$(mb "${mem_rss[$k]}")" "$(mb "${mem_hwm[$k]}")"
	printf ' RssAnon %s MB, Pss %s MB\n' "$(mb "${mem_anon[$k]}")" \
	    "$(mb "${mem_pss[$k]}")"
done
echo

bad=0
for k in health@8 health@64 user@8 user@64; do
	bad=$((bad + ${non2xx[$k]} + ${sockerr[$k]}))
done
busiest=0
for k in "${!other[@]}"; do
	[ "${other[$k]}" -gt "$busiest" ] && busiest=${other[$k]}
done
if [ "$busiest" -gt 10 ]; then
	echo "WARNING: other processes took up to $busiest% of the CPU during a" \
	    "run; the rates are unreliable, run again on a quiet machine"
	echo
fi
verdict() { if [ "$1" = 1 ]; then echo PASS; else echo FAIL; fi; }
echo "$(verdict "$(awk -v r="$r_user" 'BEGIN { print (r >= 0.8) }')")" \
    "GET /user at 64 connections >= 0.8x the floor ($r_user)"
echo "$(verdict "$([ "$bad" -eq 0 ] && echo 1)")" \
    "zero non-2xx answers and socket errors from Gradient ($bad)"
echo "$(verdict "$([ "${mem_n[gradient]}" -eq "$children" ] &&
    [ "${mem_hwm[gradient]}" -lt 8192 ] && echo 1)")" \
    "every responder child under 8 MB RSS during the benchmark" \
    "(peak VmHWM $(mb "${mem_hwm[gradient]}") MB," \
    "${mem_n[gradient]} of $children children)"
