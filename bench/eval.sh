#!/usr/bin/env bash
# eval.sh - the evaluation pipeline against "nix eval" alone, on this machine.
#
#   bench/eval.sh                  1,000 and 10,000 derivations, 50 latency trials
#   BENCH_QUICK=1 bench/eval.sh    1,000 only, 10 latency trials (CI smoke)
#
# Starts a private stack with gradient-dev (its own run directory and a
# free port), registers a user, logs in and creates an organization and
# one project per case with the API, each on a git repository of its own
# (file:// URL) holding a generated flake (bench/evalflake.py): N trivial
# derivations (builder /bin/sh), flat (independent), layered (each depends
# on the two before it, all N exposed) or top (the same graph, only the
# last one exposed: the worker finds the rest through inputDrvs).
#
# Each run of a case measures both sides on a flake of the same size and
# shape with a new salt in every derivation, so that both write new .drv
# files ("cold"; nix's evaluation of an already instantiated flake is
# several times cheaper):
#
#   nix eval alone  the very call the worker makes (worker/evaluate.c,
#                   nix_eval() and nix_expr(): same argv, expression,
#                   environment and NIX_CONFIG, cwd in a non-bare clone,
#                   ref git+file://<clone>?rev=<sha>); wall time and peak
#                   RSS from wait4(2)
#   ours            from the evaluation row's created_at (queued) to the
#                   first read of the row after the commit of the
#                   transaction that inserted the builds (PostgreSQL's
#                   clock, polled every 10 ms), split into queue
#                   (created_at -> started_at), fetch (-> the worker's
#                   "commit" log line), nix eval (the nix child's life,
#                   sampled every 10 ms), reading the answer and the .drv
#                   files (-> updated_at, which is now() of the final
#                   transaction, i.e. its BEGIN) and the inserts (-> commit)
#
# The sides alternate (ref first in odd runs, ours first in even ones) and
# the table shows medians.  POST /projects/{org}/{project}/evaluate is not
# routed yet, so an evaluation is queued as gr_eval_enqueue() will do it:
# INSERT INTO evaluation ... RETURNING id; NOTIFY gradient_evaluation, in
# one transaction, with psql.  The worker's peak RSS is the VmHWM of its
# job process (the forked child that runs the evaluation), sampled every
# 10 ms.  Queue latency: BENCH_TRIALS evaluations of a one-derivation flake,
# each once the previous one is done, created_at -> started_at (the claim).
#
# Exits 0 when a target is missed (this is a measurement) and 1 when the
# benchmark cannot run.  Everything listens on 127.0.0.1 and is stopped,
# the temporary directory removed and the store paths the benchmark wrote
# deleted (BENCH_CLEAN_STORE=0 keeps them) on exit.
#
# Environment: BENCH_QUICK, BENCH_RUNS (runs per side of each 10,000 case,
# 2; the 1,000 cases get one more), BENCH_TRIALS (50, 10 with BENCH_QUICK),
# BENCH_KEEP (keep the temporary directory), BENCH_CLEAN_STORE (1).
set -euo pipefail

top=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
helper=$top/bench/evalflake.py
quick=${BENCH_QUICK:-}
runs=${BENCH_RUNS:-2}
if [ -n "$quick" ]; then trials=${BENCH_TRIALS:-10}; else trials=${BENCH_TRIALS:-50}; fi
clean_store=${BENCH_CLEAN_STORE:-1}
wildcard='packages.x86_64-linux.*'
svc_user=gradient
tmp=

say() { printf 'eval.sh: %s\n' "$*" >&2; }
die() { say "$*"; exit 1; }

[[ $runs =~ ^[0-9]+$ && $runs -ge 1 && $runs -le 20 ]] || die "BENCH_RUNS must be 1 to 20"
[[ $trials =~ ^[0-9]+$ && $trials -ge 1 && $trials -le 1000 ]] ||
    die "BENCH_TRIALS must be 1 to 1000"
[ "$(id -u)" -eq 0 ] || die "run as root (gradient-dev, the worker and nix need it)"
[ -x /usr/bin/nix ] || die "/usr/bin/nix is missing (apt-get install nix-bin)"
command -v psql >/dev/null || die "psql is missing"

# The store paths this run wrote: every .drv of ours is in the build table,
# the reference's are the closures of its answers; the flake sources carry
# the run's tag.  Deleted referrers first (highest index first), so that
# every batch only holds paths whose referrers are gone or in it.
clean_nix_store() {
	local list=$tmp/store-paths t0 n
	[ "$clean_store" = 1 ] || { say "BENCH_CLEAN_STORE=0: store paths kept"; return 0; }
	: >"$list"
	if [ -n "${conninfo:-}" ] && [ -S "$run/pg/.s.PGSQL.5432" ]; then
		psql -qtAX "$conninfo" -c 'SELECT derivation_path FROM build' \
		    >>"$list" 2>/dev/null || true
	fi
	if [ -s "$tmp/ref-roots" ]; then
		xargs -r nix-store -qR <"$tmp/ref-roots" >>"$list" 2>/dev/null || true
	fi
	grep -l -s "gradient-eval-bench $tag" /nix/store/*-source/flake.nix |
	    sed 's#/flake.nix$##' >>"$list" || true
	n=$(sort -u "$list" | grep -c . || true)
	[ "$n" -gt 0 ] || return 0
	say "deleting the $n store paths this run wrote"
	t0=$EPOCHREALTIME
	sort -u "$list" | awk '{ n = $0; if (!sub(/.*-gbench-d/, "", n)) n = -1;
	    sub(/\.drv$/, "", n); print n + 0, $0 }' | sort -k1,1nr |
	    cut -d' ' -f2 | xargs -r -s 1000000 env NIX_CONFIG='fsync-metadata = false' \
	    nix-store --delete >"$tmp/delete.log" 2>&1 ||
	    say "some store paths were not deleted (see nix-store --delete)"
	say "deleted in $(awk -v a="$t0" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.0f", b - a }') s"
}

cleanup() {
	local rc=$?
	set +e
	if [ -n "$tmp" ]; then
		clean_nix_store
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

t_start=$EPOCHREALTIME
tmp=$(mktemp -d /tmp/gradient-evalbench.XXXXXX)
chmod 755 "$tmp"	# PostgreSQL and the responders run as $svc_user
tag=$(basename "$tmp")
run=$tmp/run
port=$(free_port)

# -- Gradient: build, PostgreSQL, responder pool, worker and nginx -----------
say "starting Gradient on 127.0.0.1:$port"
GRADIENT_RUN_DIR=$run GRADIENT_HTTP_PORT=$port "$top/gradient-dev" up \
    >"$tmp/up.log" 2>&1 || { cat "$tmp/up.log" >&2; die "gradient-dev up failed"; }
conninfo="host=$run/pg dbname=gradient user=$svc_user"
api=http://127.0.0.1:$port/api/v1
worker_pid=$(cat "$run/worker.pid")
pg_master=$(head -n 1 "$run/pg/data/postmaster.pid")
state_dir=$(awk -F' = ' '$1 == "state_dir" { print $2 }' "$run/gradient.conf")
[ -n "$state_dir" ] || die "no state_dir in $run/gradient.conf"

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
curl -sf -o /dev/null -X PUT -H "$auth" -H 'Content-Type: application/json' \
    -d '{"name":"bench","display_name":"Bench"}' "$api/orgs" ||
    die "cannot create the organization"

# -- Repositories and projects -------------------------------------------------
# repo_new NAME N SHAPE: a git repository with one commit of the flake.
repo_new() {
	local d=$tmp/repos/$1
	mkdir -p "$d"
	git -C "$d" init -q
	python3 "$helper" gen "$d" "$2" "$3" "$tag-init"
	git -C "$d" add flake.nix
	git -C "$d" -c user.name=bench -c user.email=bench@localhost \
	    commit -q -m "$1" || die "cannot commit in $d"
}
# repo_salt NAME N SHAPE SALT: commit the flake with a new salt; the sha.
repo_salt() {
	local d=$tmp/repos/$1
	python3 "$helper" gen "$d" "$2" "$3" "$4"
	git -C "$d" -c user.name=bench -c user.email=bench@localhost \
	    commit -q -a -m "$4" || die "cannot commit in $d"
	git -C "$d" rev-parse HEAD
}
# project_new NAME: a project on the repository "ours-NAME"; its id.
project_new() {
	local id
	id=$(curl -sf -X PUT -H "$auth" -H 'Content-Type: application/json' \
	    -d "{\"name\":\"$1\",\"display_name\":\"$1\",
		 \"repository\":\"file://$tmp/repos/ours-$1\",
		 \"evaluation_wildcard\":\"$wildcard\"}" "$api/projects/bench" |
	    python3 -c 'import json, sys; print(json.load(sys.stdin)["message"])') ||
	    die "cannot create project $1"
	[[ $id =~ ^[0-9a-f-]{36}$ ]] || die "project $1: unexpected answer '$id'"
	echo "$id"
}

# -- The reference: the worker's own nix eval call -------------------------------
ref_state=$tmp/ref-state
mkdir -p "$ref_state/home" "$ref_state/cache"
printf '{"flakes":[],"version":2}\n' >"$ref_state/registry.json"

# nix_string S: S as a Nix string literal (nix_string() in evaluate.c).
nix_string() {
	local s=$1
	s=${s//\\/\\\\}
	s=${s//\"/\\\"}
	s=${s//\$\{/\\\$\{}
	printf '"%s"' "$s"
}
# nix_expr REF WILDCARD: the expression of nix_expr() in evaluate.c, verbatim.
nix_expr() {
	local -		# set -f stays in here: '*' is a segment, not a glob
	set -f
	local pats='[ [' seg
	local IFS=,
	local paths=($2) p first=1
	for p in "${paths[@]}"; do
		[ $first = 1 ] || pats+=' ] ['
		first=0
		IFS=.
		for seg in $p; do
			seg=${seg#"${seg%%[! ]*}"}
			seg=${seg%"${seg##*[! ]}"}
			pats+=" \"$seg\""
		done
		IFS=,
	done
	pats+=' ] ]'
	printf '%s' "let flake = builtins.getFlake $(nix_string "$1"); patterns = $pats;"
	printf '%s' " ok = x: let r = builtins.tryEval x; in r.success && r.value;"
	printf '%s' " leaf = path: v: let r = builtins.tryEval (if builtins.isAttrs v"
	printf '%s' " && (v.type or null) == \"derivation\" then { drvPath = v.drvPath;"
	printf '%s' " name = v.name; system = v.system; } else null); in"
	printf '%s' " if r.success then (if r.value == null then [] else"
	printf '%s' " [ (r.value // { attr = path; }) ]) else"
	printf '%s' " [ { attr = path; error = \"evaluation failed\"; } ];"
	printf '%s' " go = path: v: pat: if pat == [] then leaf path v else"
	printf '%s' " let seg = builtins.head pat; rest = builtins.tail pat;"
	printf '%s' " names = if !(ok (builtins.isAttrs v)) then [] else"
	printf '%s' " if seg == \"*\" then builtins.attrNames v else"
	printf '%s' " if builtins.hasAttr seg v then [ seg ] else [];"
	printf '%s' " in builtins.concatMap (n: go (path ++ [ n ])"
	printf '%s' " (builtins.getAttr n v) rest) names;"
	printf '%s' " in builtins.concatMap (p: go [] flake p) patterns"
}
# ref_eval DIR SHA OUT: run it as the worker does; "wall maxrss user sys rc".
ref_eval() {
	local expr
	expr=$(nix_expr "git+file://$1?rev=$2" "$wildcard")
	(cd "$1" && python3 "$helper" rusage "$3" -- env -i PATH=/usr/bin:/bin \
	    "NIX_CONFIG=experimental-features = nix-command flakes
flake-registry = $ref_state/registry.json
allow-import-from-derivation = false
accept-flake-config = false
warn-dirty = false" HOME="$ref_state/home" XDG_CACHE_HOME="$ref_state/cache" \
	    LC_ALL=C GC_INITIAL_HEAP_SIZE=64M \
	    /usr/bin/nix eval --json --no-write-lock-file --expr "$expr")
}

# -- Accounting: how busy the rest of the machine was ----------------------------
hz=$(getconf CLK_TCK)
ncpu=$(nproc)
busy() { awk '/^cpu / { print $2 + $3 + $4 + $7 + $8 + $9 }' /proc/stat; }
# ours_ticks: CPU of the worker and its (reaped) jobs, PostgreSQL (its
# backends, alive and reaped) and this script's reaped children (the
# helpers, psql, the reference nix).
ours_ticks() {
	local s=0 p v
	for p in "$worker_pid" "$pg_master" $$; do
		v=$(awk '{ print $14 + $15 + $16 + $17 }' "/proc/$p/stat" 2>/dev/null) || v=0
		s=$((s + ${v:-0}))
	done
	for p in $(pgrep -P "$pg_master") $(pgrep -P "$worker_pid"); do
		v=$(awk '{ print $14 + $15 }' "/proc/$p/stat" 2>/dev/null) || v=0
		s=$((s + ${v:-0}))
	done
	echo "$s"
}
# quiet: wait up to 5 s for a second in which the machine is under 15% busy.
quiet() {
	local b0 b1
	for _ in 1 2 3 4 5; do
		b0=$(busy)
		sleep 1
		b1=$(busy)
		[ $(((b1 - b0) * 100 / (hz * ncpu))) -lt 15 ] && return 0
	done
}
acct_begin() { a_b0=$(busy); a_o0=$(ours_ticks); a_t0=$EPOCHREALTIME; }
# acct_end: the share of the machine other processes took (percent).
acct_end() {
	local b1 o1 t1
	b1=$(busy); o1=$(ours_ticks); t1=$EPOCHREALTIME
	awk -v o=$(((b1 - a_b0) - (o1 - a_o0))) -v hz="$hz" -v c="$ncpu" \
	    -v t0="$a_t0" -v t1="$t1" \
	    'BEGIN { v = o / hz / c / (t1 - t0) * 100; printf "%.0f", (v > 0 ? v : 0) }'
}

# -- Measurements ------------------------------------------------------------------
declare -A R		# R[case:side:run:key] = value
declare -A PROJ NDRV SHAPE
cases=()
add_case() {	# add_case SHAPE N
	local c=$1-$2
	cases+=("$c")
	SHAPE[$c]=$1 NDRV[$c]=$2
	repo_new "ref-$c" "$2" "$1"
	repo_new "ours-$c" "$2" "$1"
	PROJ[$c]=$(project_new "$c")
}

# kv FILE KEY: the value of KEY=... in FILE.
kv() { awk -F= -v k="$2" '$1 == k { sub(/^[^=]*=/, ""); print; exit }' "$1"; }
sub() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.6f", (a > 0 && b > 0 ? a - b : 0) }'; }

# measure_ref CASE RUN
measure_ref() {
	local c=$1 r=$2 sha out k=$1:ref:$2 n want
	sha=$(repo_salt "ref-$c" "${NDRV[$c]}" "${SHAPE[$c]}" "$tag-ref-$r-$RANDOM$RANDOM")
	quiet
	acct_begin
	out=$(ref_eval "$tmp/repos/ref-$c" "$sha" "$tmp/ref.json")
	R[$k:other]=$(acct_end)
	read -r "R[$k:wall]" "R[$k:rss]" "R[$k:user]" "R[$k:sys]" "R[$k:rc]" <<<"$out"
	[ "${R[$k:rc]}" = 0 ] || die "nix eval failed for $c: $(head -c 2000 "$tmp/ref.json.err")"
	python3 -c 'import json, sys
for e in json.load(open(sys.argv[1])):
    print(e["drvPath"])' "$tmp/ref.json" >>"$tmp/ref-roots"
	n=$(python3 -c 'import json, sys; print(len(json.load(open(sys.argv[1]))))' "$tmp/ref.json")
	want=${NDRV[$c]}; [ "${SHAPE[$c]}" = top ] && want=1
	[ "$n" = "$want" ] || die "nix eval of $c answered $n attributes, not $want"
	say "$c run $r: nix eval alone ${R[$k:wall]} s, peak ${R[$k:rss]} kB," \
	    "CPU ${R[$k:user]} user ${R[$k:sys]} sys, other load ${R[$k:other]}%"
}

# measure_ours CASE RUN: queue an evaluation and follow it to the builds.
measure_ours() {
	local c=$1 r=$2 f=$tmp/watch.txt k=$1:ours:$2 st
	repo_salt "ours-$c" "${NDRV[$c]}" "${SHAPE[$c]}" "$tag-ours-$r-$RANDOM$RANDOM" >/dev/null
	quiet
	acct_begin
	python3 "$helper" watch "$conninfo" "${PROJ[$c]}" "$worker_pid" \
	    "$run/worker.log" 900 >"$f" || true
	R[$k:other]=$(acct_end)
	st=$(kv "$f" status)
	[ "$st" = Building ] || [ "$st" = Completed ] ||
	    die "evaluation of $c ended '$st': $(kv "$f" error)"
	[ "$(kv "$f" builds)" = "${NDRV[$c]}" ] ||
	    die "evaluation of $c has $(kv "$f" builds) builds, not ${NDRV[$c]}"
	R[$k:total]=$(sub "$(kv "$f" final)" "$(kv "$f" created)")
	R[$k:queue]=$(sub "$(kv "$f" started)" "$(kv "$f" created)")
	R[$k:fetch]=$(sub "$(kv "$f" log_commit)" "$(kv "$f" started)")
	R[$k:nix]=$(sub "$(kv "$f" nix_last)" "$(kv "$f" nix_first)")
	R[$k:read]=$(sub "$(kv "$f" updated)" "$(kv "$f" nix_last)")
	R[$k:insert]=$(sub "$(kv "$f" final)" "$(kv "$f" updated)")
	R[$k:hwm]=$(kv "$f" job_hwm_kb)
	R[$k:nixhwm]=$(kv "$f" nix_hwm_kb)
	R[$k:jobcpu]=$(kv "$f" job_cpu)
	say "$c run $r: ours ${R[$k:total]} s (queue ${R[$k:queue]}, fetch" \
	    "${R[$k:fetch]}, nix ${R[$k:nix]}, read ${R[$k:read]}, insert" \
	    "${R[$k:insert]}), job peak ${R[$k:hwm]} kB, job CPU" \
	    "${R[$k:jobcpu]} s, other load ${R[$k:other]}%"
}

# Warm-up: the first evaluation sets up nix's and the worker's state
# (caches, clones); not measured.
repo_new ours-tiny 1 flat
tiny=$(project_new tiny)
repo_new ref-tiny 1 flat
python3 "$helper" watch "$conninfo" "$tiny" "$worker_pid" "$run/worker.log" 120 \
    >"$tmp/warm.txt" || die "the warm-up evaluation failed: $(kv "$tmp/warm.txt" error)"
ref_eval "$tmp/repos/ref-tiny" "$(git -C "$tmp/repos/ref-tiny" rev-parse HEAD)" \
    "$tmp/ref.json" >/dev/null

for n in 1000 10000; do
	[ -n "$quick" ] && [ "$n" -gt 1000 ] && continue
	for shape in flat layered top; do
		add_case "$shape" "$n"
	done
done
for c in "${cases[@]}"; do
	nr=$runs
	[ "${NDRV[$c]}" -le 1000 ] && nr=$((runs + 1))
	R[$c:runs]=$nr
	for r in $(seq "$nr"); do
		if [ $((r % 2)) = 1 ]; then
			measure_ref "$c" "$r"
			measure_ours "$c" "$r"
		else
			measure_ours "$c" "$r"
			measure_ref "$c" "$r"
		fi
	done
done

# Queue latency: one evaluation at a time of the one-derivation flake.
say "queue latency: $trials evaluations of a one-derivation flake"
lat_claim=() lat_visible=() lat_other=()
for i in $(seq "$trials"); do
	f=$tmp/lat.txt
	acct_begin
	python3 "$helper" watch "$conninfo" "$tiny" "$worker_pid" "$run/worker.log" 120 \
	    >"$f" || die "latency trial $i failed: $(kv "$f" error)"
	lat_other+=("$(acct_end)")
	lat_claim+=("$(awk -v a="$(kv "$f" started)" -v b="$(kv "$f" created)" \
	    'BEGIN { printf "%.3f", (a - b) * 1000 }')")
	lat_visible+=("$(awk -v a="$(kv "$f" visible)" -v b="$(kv "$f" created)" \
	    'BEGIN { printf "%.3f", (a - b) * 1000 }')")
done

# -- Report ----------------------------------------------------------------------
# med CASE SIDE KEY: the median over the runs.
med() {
	local v=() r
	for r in $(seq "${R[$1:runs]}"); do v+=("${R[$1:$2:$r:$3]}"); done
	python3 "$helper" stats "${v[@]}" | cut -d' ' -f2
}
# maxof CASE SIDE KEY
maxof() {
	local m=0 r
	for r in $(seq "${R[$1:runs]}"); do
		m=$(awk -v a="$m" -v b="${R[$1:$2:$r:$3]}" 'BEGIN { print (b > a ? b : a) }')
	done
	echo "$m"
}
f2() { awk -v v="$1" 'BEGIN { printf "%.2f", v }'; }
ms() { awk -v v="$1" 'BEGIN { printf "%.0f", v * 1000 }'; }
mb() { awk -v k="$1" 'BEGIN { printf "%.0f", k / 1024 }'; }

cpu_model=$(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo)
echo
echo "Gradient evaluation benchmark, $(date -u '+%Y-%m-%d %H:%M UTC')"
echo "machine: $ncpu cores ($cpu_model), $(free -g | awk '/^Mem:/ { print $2 }') GB," \
    "$(uname -sr), $(nix --version)"
echo "command: ${quick:+BENCH_QUICK=1 }BENCH_RUNS=$runs BENCH_TRIALS=$trials bench/eval.sh"
echo "medians of the runs (1,000: $((runs + 1)) runs per side, 10,000: $runs);" \
    "every run a new salt, so every .drv is new"
echo
fmt='%-14s %6s %8s %8s %6s %6s %6s %7s %6s %7s %7s %7s %7s\n'
# shellcheck disable=SC2059
printf "$fmt" case drvs 'nix s' 'ours s' ratio 'queue' fetch 'nix(w)' read insert \
    'job MB' 'nix MB' 'other%'
# shellcheck disable=SC2059
printf "$fmt" '' '' alone total '' ms s s s s peak peak max
declare -A ratio
job_peak=0
for c in "${cases[@]}"; do
	ref=$(med "$c" ref wall)
	ours=$(med "$c" ours total)
	ratio[$c]=$(awk -v a="$ours" -v b="$ref" 'BEGIN { printf "%.2f", (b > 0 ? a / b : 0) }')
	h=$(maxof "$c" ours hwm)
	[ "$h" -gt "$job_peak" ] && job_peak=$h
	o=$(awk -v a="$(maxof "$c" ref other)" -v b="$(maxof "$c" ours other)" \
	    'BEGIN { print (a > b ? a : b) }')
	# shellcheck disable=SC2059
	printf "$fmt" "$c" "${NDRV[$c]}" "$(f2 "$ref")" "$(f2 "$ours")" "${ratio[$c]}" \
	    "$(ms "$(med "$c" ours queue)")" "$(f2 "$(med "$c" ours fetch)")" \
	    "$(f2 "$(med "$c" ours nix)")" "$(f2 "$(med "$c" ours read)")" \
	    "$(f2 "$(med "$c" ours insert)")" "$(mb "$h")" \
	    "$(mb "$(maxof "$c" ref rss)")" "$o"
done
echo
echo "nix s alone: the worker's nix eval command run by itself (wall, wait4)."
echo "ours total: created_at -> builds committed; the next columns split it:"
echo " queue (-> started_at), fetch (git, commit row), nix(w) (the worker's nix"
echo " child, sampled), read (nix's JSON and every .drv, -> BEGIN of the final"
echo " transaction), insert (builds, outputs, edges, members, entry points, commit)."
echo "job MB: VmHWM of the worker's job process; nix MB: nix eval alone (ru_maxrss)."
echo "other%: CPU share of processes outside the benchmark during the run (max)."
echo

read -r ln lmed lp90 lmax lmin < <(python3 "$helper" stats "${lat_claim[@]}")
read -r _ vmed vp90 vmax _ < <(python3 "$helper" stats "${lat_visible[@]}")
read -r _ omed _ omax _ < <(python3 "$helper" stats "${lat_other[@]}")
printf 'queue latency, %d trials (ms):      median %.1f  p90 %.1f  max %.1f  min %.1f\n' \
    "$ln" "$lmed" "$lp90" "$lmax" "$lmin"
echo "  created_at -> started_at (the worker's claim transaction begins)"
printf '  created_at -> Evaluating visible:  median %.1f  p90 %.1f  max %.1f\n' \
    "$vmed" "$vp90" "$vmax"
echo "  (polled every 2 ms; includes the claim's commit)"
printf '  other load during the trials: median %.0f%%, max %.0f%%\n' "$omed" "$omax"
echo

verdict() { if [ "$1" = 1 ]; then echo PASS; else echo FAIL; fi; }
if [ -n "${ratio[layered-10000]:-}" ]; then
	echo "$(verdict "$(awk -v r="${ratio[layered-10000]}" 'BEGIN { print (r <= 1.2) }')")" \
	    "10,000 layered: whole evaluation <= 1.2x nix eval alone (${ratio[layered-10000]}x)"
else
	echo "n/a  10,000 layered ratio (not measured with BENCH_QUICK)"
fi
echo "$(verdict "$([ "$job_peak" -lt $((200 * 1024)) ] && echo 1)")" \
    "worker job peak RSS < 200 MB ($(mb "$job_peak") MB, largest over all runs)"
echo "$(verdict "$(awk -v m="$lmed" 'BEGIN { print (m < 50) }')")" \
    "queue latency median < 50 ms (${lmed%???} ms)"
say "measured in $(awk -v a="$t_start" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.0f", b - a }') s"
