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
#   ours            from POST /api/v1/projects/bench/<case>/evaluate to
#                   the first read of the evaluation row after the commit
#                   of the transaction that inserted the builds (polled
#                   every 10 ms; PostgreSQL and this script read the same
#                   clock), split into queue (-> started_at, the worker's
#                   claim), fetch (-> the worker's "commit" log line), nix
#                   eval (the nix child's life, sampled every 10 ms),
#                   reading the answer and the .drv files (-> updated_at,
#                   which is now() of the final transaction, i.e. its
#                   BEGIN, not its commit) and the inserts (-> commit)
#
# The sides alternate (ref first in odd runs, ours first in even ones) and
# the table shows medians.  (BENCH_QUEUE=sql queues with psql instead of
# the API, as gr_eval_enqueue() does: INSERT INTO evaluation ... RETURNING
# id; NOTIFY gradient_evaluation in one transaction; for a tree without the
# route.)  The worker's peak RSS is the VmHWM of its job process (the
# forked child that runs the evaluation), sampled every 10 ms.  Queue
# latency: BENCH_TRIALS evaluations of a one-derivation flake, each once
# the previous one is done: POST -> Evaluating visible to a reader (polled
# every 2 ms), POST -> started_at and created_at -> started_at.
#
# Exits 0 when a target is missed (this is a measurement) and 1 when the
# benchmark cannot run.  Everything listens on 127.0.0.1 and is stopped,
# and the temporary directory removed, on exit.  The .drv files it wrote
# (about 90,000 for a full run) stay in the store for the next garbage
# collection unless BENCH_CLEAN_STORE=1 (see clean_nix_store).
#
# Environment: BENCH_QUICK, BENCH_RUNS (runs per side of each case, 2),
# BENCH_TRIALS (50, 10 with BENCH_QUICK), BENCH_CASES (SHAPE-N words; by
# default flat, layered and top of 1,000 and flat and layered of 10,000,
# the 1,000 ones only with BENCH_QUICK; "top-10000" adds about a minute),
# BENCH_KEEP (keep the temporary directory), BENCH_CLEAN_STORE (0: see
# clean_nix_store), BENCH_QUEUE (api, or sql).
set -euo pipefail

top=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
helper=$top/bench/evalflake.py
quick=${BENCH_QUICK:-}
runs=${BENCH_RUNS:-2}
if [ -n "$quick" ]; then trials=${BENCH_TRIALS:-10}; else trials=${BENCH_TRIALS:-50}; fi
clean_store=${BENCH_CLEAN_STORE:-0}
queue_by=${BENCH_QUEUE:-api}
if [ -n "$quick" ]; then
	case_list=${BENCH_CASES:-flat-1000 layered-1000 top-1000}
else
	case_list=${BENCH_CASES:-flat-1000 layered-1000 top-1000 flat-10000 layered-10000}
fi
wildcard='packages.x86_64-linux.*'
svc_user=gradient
tmp=

say() { printf 'eval.sh: %s\n' "$*" >&2; }
die() { say "$*"; exit 1; }

[[ $runs =~ ^[0-9]+$ && $runs -ge 1 && $runs -le 20 ]] || die "BENCH_RUNS must be 1 to 20"
[[ $trials =~ ^[0-9]+$ && $trials -ge 1 && $trials -le 1000 ]] ||
    die "BENCH_TRIALS must be 1 to 1000"
[ "$queue_by" = api ] || [ "$queue_by" = sql ] || die "BENCH_QUEUE must be api or sql"
[ "$(id -u)" -eq 0 ] || die "run as root (gradient-dev, the worker and nix need it)"
[ -x /usr/bin/nix ] || die "/usr/bin/nix is missing (apt-get install nix-bin)"
command -v psql >/dev/null || die "psql is missing"

# The store paths this run wrote: every .drv of ours is in the build table,
# the reference's are the closures of its answers; the flake sources carry
# the run's tag.  Deleted referrers first (highest index first), so that
# every batch only holds paths whose referrers are gone or in it.  Not by
# default: on a journal-less ext4 (this machine's root) the inode allocator
# skips inodes freed in the last 60 s (360 s while their inode table block
# is dirty), so after a mass delete every file created costs a scan of the
# freed ones, and nix eval spent 3 to 4 times as much system time for the
# next minutes: a second run (or anyone's nix) would be measured slow.
clean_nix_store() {
	local list=$tmp/store-paths t0 n
	if [ "$clean_store" != 1 ]; then
		n=$(psql -qtAX "${conninfo:-}" -c "SELECT count(*) FROM build" 2>/dev/null) || n=0
		say "left about $((n + $(cat "$tmp/ref-roots" 2>/dev/null | wc -l))) .drv" \
		    "files of this run in /nix/store (BENCH_CLEAN_STORE=1 deletes them)"
		return 0
	fi
	: >"$list"
	if [ -n "${conninfo:-}" ] && [ -S "$run/pg/.s.PGSQL.5432" ]; then
		psql -qtAX "$conninfo" -c 'SELECT derivation_path FROM build' \
		    >>"$list" 2>/dev/null || true
	fi
	if [ -s "$tmp/ref-roots" ]; then
		xargs -r nix-store -qR <"$tmp/ref-roots" >>"$list" 2>/dev/null || true
	fi
	grep -l -s "salt = \"$tag-" /nix/store/*-source/flake.nix |
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
	say "deleted $(awk '/store paths deleted/ { s += $1 } END { print s + 0 }' \
	    "$tmp/delete.log") in $(awk -v a="$t0" -v b="$EPOCHREALTIME" \
	    'BEGIN { printf "%.0f", b - a }') s"
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

# Statements over 10 ms go to PostgreSQL's log (without their parameters,
# which are megabytes of arrays): the insert phase, statement by statement.
psql -qtAX "$conninfo" -c 'ALTER DATABASE gradient SET log_min_duration_statement = 10' \
    -c 'ALTER DATABASE gradient SET log_parameter_max_length = 0' ||
    die "cannot configure statement logging"
pglog=$run/pg/postgres.log

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
export BENCH_TOKEN=$jwt		# for evalflake.py watch
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
# project_new NAME: a project on the repository "ours-NAME"; how to queue
# an evaluation of it (evalflake.py watch's QUEUE).
project_new() {
	local id
	id=$(curl -sf -X PUT -H "$auth" -H 'Content-Type: application/json' \
	    -d "{\"name\":\"$1\",\"display_name\":\"$1\",
		 \"repository\":\"file://$tmp/repos/ours-$1\",
		 \"evaluation_wildcard\":\"$wildcard\"}" "$api/projects/bench" |
	    python3 -c 'import json, sys; print(json.load(sys.stdin)["message"])') ||
	    die "cannot create project $1"
	[[ $id =~ ^[0-9a-f-]{36}$ ]] || die "project $1: unexpected answer '$id'"
	if [ "$queue_by" = api ]; then
		echo "api:$api/projects/bench/$1/evaluate"
	else
		echo "sql:$id"
	fi
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
	local IFS=, paths p first=1
	read -r -a paths <<<"$2"
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
ref_nix=/usr/bin/nix
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
	    "$ref_nix" eval --json --no-write-lock-file --expr "$expr")
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
# quiet: wait up to 3 s for half a second in which the machine is under
# 15% busy (between runs, the benchmark itself is idle).
quiet() {
	local b0 b1
	for _ in 1 2 3 4 5 6; do
		b0=$(busy)
		sleep 0.5
		b1=$(busy)
		[ $(((b1 - b0) * 200 / (hz * ncpu))) -lt 15 ] && return 0
	done
	return 0	# measured anyway; the "other" column tells
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
	local c=$1 r=$2 f=$tmp/watch.txt k=$1:ours:$2 st off t v
	repo_salt "ours-$c" "${NDRV[$c]}" "${SHAPE[$c]}" "$tag-ours-$r-$RANDOM$RANDOM" >/dev/null
	quiet
	off=$(stat -c %s "$pglog")
	acct_begin
	python3 "$helper" watch "$conninfo" "${PROJ[$c]}" "$worker_pid" \
	    "$run/worker.log" 900 >"$f" || true
	R[$k:other]=$(acct_end)
	# parse + bind + execute of each insert of the final transaction (ms)
	while read -r t v; do
		R[$k:sql_$t]=$v
	done < <(tail -c +$((off + 1)) "$pglog" | awk '
	    / duration: [0-9.]+ ms  (parse|bind|execute) [^:]*: INSERT INTO / {
		for (i = 1; i < NF; i++) if ($i == "duration:") d = $(i + 1)
		for (i = 1; i < NF; i++) if ($i == "INTO") t = $(i + 1)
		ms[t] += d }
	    END { for (t in ms) print t, ms[t] }')
	st=$(kv "$f" status)
	[ "$st" = Building ] || [ "$st" = Completed ] ||
	    die "evaluation of $c ended '$st': $(kv "$f" error)"
	[ "$(kv "$f" builds)" = "${NDRV[$c]}" ] ||
	    die "evaluation of $c has $(kv "$f" builds) builds, not ${NDRV[$c]}"
	R[$k:total]=$(sub "$(kv "$f" final)" "$(kv "$f" post)")
	R[$k:queue]=$(sub "$(kv "$f" started)" "$(kv "$f" post)")
	R[$k:fetch]=$(sub "$(kv "$f" log_commit)" "$(kv "$f" started)")
	R[$k:nix]=$(sub "$(kv "$f" nix_last)" "$(kv "$f" nix_first)")
	R[$k:read]=$(sub "$(kv "$f" updated)" "$(kv "$f" nix_last)")
	R[$k:insert]=$(sub "$(kv "$f" final)" "$(kv "$f" updated)")
	R[$k:extra]=$(awk -v a="${R[$k:total]}" -v b="${R[$k:nix]}" 'BEGIN { printf "%.6f", a - b }')
	R[$k:hwm]=$(kv "$f" job_hwm_kb)
	R[$k:nixhwm]=$(kv "$f" nix_hwm_kb)
	R[$k:jobcpu]=$(kv "$f" job_cpu)
	say "$(awk -v c="$c" -v r="$r" -v t="${R[$k:total]}" -v q="${R[$k:queue]}" \
	    -v f="${R[$k:fetch]}" -v n="${R[$k:nix]}" -v rd="${R[$k:read]}" \
	    -v i="${R[$k:insert]}" 'BEGIN { printf "%s run %s: ours %.3f s" \
	    " (queue %.3f, fetch %.3f, nix %.3f, read %.3f, insert %.3f)", \
	    c, r, t, q, f, n, rd, i }'), job peak ${R[$k:hwm]} kB," \
	    "job CPU ${R[$k:jobcpu]} s, other load ${R[$k:other]}%"
}

# Warm-up: the first evaluation sets up nix's and the worker's state
# (caches, clones); not measured.
repo_new ours-tiny 1 flat
tiny=$(project_new tiny)
repo_new ref-tiny 1 flat
# The worker's nix call is read from /proc while it runs; a tiny
# evaluation can end between two samples, so try a few times.
for try in 1 2 3 4 5; do
	python3 "$helper" watch "$conninfo" "$tiny" "$worker_pid" "$run/worker.log" \
	    120 >"$tmp/warm.txt" ||
	    die "the warm-up evaluation failed: $(kv "$tmp/warm.txt" error)"
	[ -n "$(kv "$tmp/warm.txt" nix_call)" ] && break
done
[ -n "$(kv "$tmp/warm.txt" nix_call)" ] ||
    die "could not read the worker's nix call from /proc in 5 evaluations"
ref_eval "$tmp/repos/ref-tiny" "$(git -C "$tmp/repos/ref-tiny" rev-parse HEAD)" \
    "$tmp/ref.json" >/dev/null

# The reference must be the worker's call: compare the argv and environment
# of the nix the worker ran in the warm-up (read from /proc) with ours, the
# flake reference and the state directories aside.
cat >"$tmp/dumpcall" <<'EOF'
#!/usr/bin/python3
import json, os, sys
print(json.dumps({"argv": ["/usr/bin/nix"] + sys.argv[1:],
                  "env": ["%s=%s" % kv for kv in os.environ.items()]}))
EOF
chmod 755 "$tmp/dumpcall"
ref_nix=$tmp/dumpcall ref_eval "$tmp/repos/ref-tiny" \
    "$(git -C "$tmp/repos/ref-tiny" rev-parse HEAD)" "$tmp/refcall.json" >/dev/null
kv "$tmp/warm.txt" nix_call >"$tmp/workercall.json"
python3 - "$tmp/workercall.json" "$tmp/refcall.json" "$state_dir" "$ref_state" <<'EOF' ||
import json, re, sys
w, r = (json.load(open(p)) for p in sys.argv[1:3])
def norm(c, state):
    ref = re.compile(r'builtins\.getFlake "git\+file://[^"?]*\?rev=[0-9a-f]{40}"')
    return (c["argv"][:-1] + [ref.sub("REF", c["argv"][-1])],
            sorted(e.replace(state, "STATE") for e in c["env"]))
a, b = norm(w, sys.argv[3]), norm(r, sys.argv[4])
if a != b:
    print("worker:", a, "ref:", b, sep="\n", file=sys.stderr)
    sys.exit(1)
EOF
    die "the reference nix eval call differs from the worker's"
say "the reference call is the worker's (argv, expression, environment)"

for c in $case_list; do
	[[ $c =~ ^(flat|layered|top)-([0-9]+)$ ]] || die "BENCH_CASES: bad case '$c'"
	add_case "${BASH_REMATCH[1]}" "${BASH_REMATCH[2]}"
done
for c in "${cases[@]}"; do
	nr=$runs
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
lat_claim=() lat_visible=() lat_started=() lat_other=()
for i in $(seq "$trials"); do
	f=$tmp/lat.txt
	acct_begin
	python3 "$helper" watch "$conninfo" "$tiny" "$worker_pid" "$run/worker.log" 120 \
	    >"$f" || die "latency trial $i failed: $(kv "$f" error)"
	lat_other+=("$(acct_end)")
	lat_visible+=("$(awk -v a="$(kv "$f" visible)" -v b="$(kv "$f" post)" \
	    'BEGIN { printf "%.3f", (a - b) * 1000 }')")
	lat_started+=("$(awk -v a="$(kv "$f" started)" -v b="$(kv "$f" post)" \
	    'BEGIN { printf "%.3f", (a - b) * 1000 }')")
	lat_claim+=("$(awk -v a="$(kv "$f" started)" -v b="$(kv "$f" created)" \
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
echo "command: ${quick:+BENCH_QUICK=1 }BENCH_RUNS=$runs BENCH_TRIALS=$trials" \
    "BENCH_CASES='$case_list' bench/eval.sh"
echo "medians of $runs runs per side and case; every run a new salt, so every" \
    ".drv is new"
echo
fmt='%-14s %6s %7s %7s %6s %6s %6s %6s %6s %6s %6s %6s %6s %6s\n'
# shellcheck disable=SC2059
printf "$fmt" case drvs 'nix s' 'ours s' ratio 'queue' fetch 'nix(w)' read insert \
    extra 'job MB' 'nix MB' 'other'
# shellcheck disable=SC2059
printf "$fmt" '' '' alone total '' ms s s s s s peak peak '% max' 
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
	    "$(f2 "$(med "$c" ours insert)")" "$(f2 "$(med "$c" ours extra)")" "$(mb "$h")" \
	    "$(mb "$(maxof "$c" ref rss)")" "$o"
done
echo
echo "nix s alone: the worker's nix eval command run by itself (wall, wait4)."
echo "ours total: POST .../evaluate -> builds committed; the next columns split it:"
echo " queue (-> started_at), fetch (git, commit row), nix(w) (the worker's nix"
echo " child, sampled), read (nix's JSON and every .drv, -> BEGIN of the final"
echo " transaction), insert (builds, outputs, edges, members, entry points, commit);"
echo " extra: ours total minus its nix(w), i.e. what the pipeline adds to nix."
echo "job MB: VmHWM of the worker's job process; nix MB: nix eval alone (ru_maxrss)."
echo "other%: CPU share of processes outside the benchmark during the run (max)."
echo
echo "insert phase by statement (medians, ms; parse + bind + execute as logged by"
echo "PostgreSQL, statements over 10 ms; the rest of 'insert' is the final UPDATE,"
echo "the commit and up to 10 ms of polling):"
fmt2='%-14s %8s %8s %8s %8s %8s %8s\n'
# shellcheck disable=SC2059
printf "$fmt2" case build output edges members entries sum
for c in "${cases[@]}"; do
	sum=0 cols=()
	for t in build build_output build_dependency evaluation_build entry_point; do
		for r in $(seq "${R[$c:runs]}"); do
			: "${R[$c:ours:$r:sql_$t]:=0}"
		done
		mv=$(med "$c" ours "sql_$t")
		cols+=("$(awk -v v="$mv" 'BEGIN { printf "%.0f", v }')")
		sum=$(awk -v a="$sum" -v b="$mv" 'BEGIN { print a + b }')
	done
	# shellcheck disable=SC2059
	printf "$fmt2" "$c" "${cols[@]}" "$(awk -v v="$sum" 'BEGIN { printf "%.0f", v }')"
done
echo

read -r ln vmed vp90 vmax vmin < <(python3 "$helper" stats "${lat_visible[@]}")
read -r _ smed sp90 smax _ < <(python3 "$helper" stats "${lat_started[@]}")
read -r _ cmed cp90 cmax _ < <(python3 "$helper" stats "${lat_claim[@]}")
read -r _ omed _ omax _ < <(python3 "$helper" stats "${lat_other[@]}")
echo "queue latency, $ln evaluations of a one-derivation flake, one at a time (ms):"
printf '  POST -> Evaluating visible     median %5.1f  p90 %5.1f  max %5.1f  min %5.1f\n' \
    "$vmed" "$vp90" "$vmax" "$vmin"
printf '  POST -> started_at             median %5.1f  p90 %5.1f  max %5.1f\n' \
    "$smed" "$sp90" "$smax"
printf '  created_at -> started_at       median %5.1f  p90 %5.1f  max %5.1f\n' \
    "$cmed" "$cp90" "$cmax"
echo "  (visible: the first read, every 2 ms, that sees it, i.e. after the claim's"
echo "  commit; started_at: the claim transaction's start; created_at: the"
echo "  enqueue's clock_timestamp(); queued with ${queue_by^^})"
printf '  other load during the trials: median %.0f%%, max %.0f%%\n' "$omed" "$omax"
echo

verdict() { if [ "$1" = 1 ]; then echo PASS; else echo FAIL; fi; }
if [ -n "${ratio[layered-10000]:-}" ]; then
	echo "$(verdict "$(awk -v r="${ratio[layered-10000]}" 'BEGIN { print (r <= 1.2) }')")" \
	    "10,000 layered: whole evaluation <= 1.2x nix eval alone (${ratio[layered-10000]}x)"
else
	echo "n/a  10,000 layered ratio (layered-10000 not in BENCH_CASES)"
fi
echo "$(verdict "$([ "$job_peak" -lt $((200 * 1024)) ] && echo 1)")" \
    "worker job peak RSS < 200 MB ($(mb "$job_peak") MB, largest over all runs)"
echo "$(verdict "$(awk -v m="$vmed" 'BEGIN { print (m < 50) }')")" \
    "queue latency median < 50 ms (POST -> Evaluating visible: ${vmed%????} ms)"
say "measured in $(awk -v a="$t_start" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.0f", b - a }') s"
