#!/usr/bin/env bash
# The restore series of `make bench` (scripts/bench.sh calls it): backupctl restore against
# `zstd -dc | mariadb` and myloader, at several sizes, into targets with a small and a large
# InnoDB buffer pool. See docs/BENCH.md. Knobs (environment):
#   BENCH_RESTORE_SIZES=1G,5G     sizes of sysbench-like data as SQL
#   BENCH_RESTORE_ROUNDS=3        rounds; each round runs every contender once per target, in turn
#   BENCH_RESTORE_POOLS=128M,1G   innodb_buffer_pool_size of each target
#   BENCH_RESTORE_PORT=13480      first port of the private servers (source, then one per pool)
#   BENCH_RESTORE_CONTENDERS=all  all, or backupctl
#   BENCH_BACKUPCTL=bin/backupctl, BENCH_TIMEOUT=30m as in scripts/bench.sh
# It starts private MariaDB servers of its own under .bench/rs/ (never the shared ones), with the
# settings of every server of the project (internal/testenv) but the buffer pool, generates the
# data on its own source, dumps it once per size with each tool, restores it round by round and
# checks every restore (COUNT(*), CHECKSUM TABLE and SHOW CREATE TABLE of every table against the
# source). It stops
# the servers it started when it ends. A failed or wrong run makes it exit 1.
set -euo pipefail
export LC_ALL=C
cd "$(dirname "$0")/.."
ROOT=$(pwd)
RS=$ROOT/.bench/rs # short: the servers' socket paths live under it
SIZES=${BENCH_RESTORE_SIZES:-1G,5G}
ROUNDS=${BENCH_RESTORE_ROUNDS:-3}
POOLS=${BENCH_RESTORE_POOLS:-128M,1G}
PORT=${BENCH_RESTORE_PORT:-13480}
CONTENDERS=${BENCH_RESTORE_CONTENDERS:-all}
TIMEOUT=${BENCH_TIMEOUT:-30m}
BACKUPCTL=${BENCH_BACKUPCTL:-bin/backupctl}
DB=sbrestore
SPEC=2 # bump when the generated data, or what is recorded of it (state), changes
NPROC=$(nproc)
STAMP=$(date -u +%Y%m%dT%H%M%SZ)
OUT=$ROOT/.bench/restore-results-$STAMP.md
RUNS=$RS/runs-$STAMP.tsv
FAILED=0

log() { printf '[bench-restore] %s\n' "$*" >&2; }
die() { log "$*"; exit 1; }
loud() {
	FAILED=1
	printf '\n[bench-restore] !!!!!!!!!! %s\n\n' "$*" >&2
	echo "$*" >>"$RS/problems-$STAMP.txt"
}

[ -x "$BACKUPCTL" ] || die "no $BACKUPCTL: run 'make build'"
case $CONTENDERS in all | backupctl) ;; *) die "BENCH_RESTORE_CONTENDERS=$CONTENDERS: use all or backupctl" ;; esac
mkdir -p "$RS"
cp "$BACKUPCTL" "$RS/backupctl.under-test"
BACKUPCTL=$RS/backupctl.under-test
BACKUPCTL_VERSION=$("$BACKUPCTL" version 2>/dev/null | head -n1 || true)
# Our own servers, not those of .stack/env: the variables of the shared stack must not leak in.
unset BACKUP_S3_ENDPOINT BACKUP_S3_BUCKET BACKUP_DB_HOST BACKUP_DB_PORT BACKUP_DB_SOCKET BACKUP_TO
USER_NAME=bench
PASSWORD_FILE=$RS/password
umask 077
[ -s "$PASSWORD_FILE" ] || head -c 18 /dev/urandom | base64 | tr -dc 'a-zA-Z0-9' >"$PASSWORD_FILE"
umask 022
# backupctl reads the password from its environment twin, the stock clients from option files.
export BACKUP_DB_USER=$USER_NAME BACKUP_DB_PASSWORD
BACKUP_DB_PASSWORD=$(cat "$PASSWORD_FILE")

# --- servers ----------------------------------------------------------------------------------

STARTED=()
# server NAME PORT [OPTION...]: starts a private MariaDB in $RS/NAME and writes its client
# option file $RS/NAME.cnf (the password stays out of every client's argv).
server() {
	local name=$1 port=$2
	shift 2
	log "starting private MariaDB $name on port $port $*"
	go run ./internal/testenv/stackup mariadb "$RS/$name" "$port" "$USER_NAME" "$(cat "$PASSWORD_FILE")" "$@"
	STARTED+=("$RS/$name/pid")
	(umask 077; printf '[client]\nuser=%s\npassword=%s\nsocket=%s\n' "$USER_NAME" "$(cat "$PASSWORD_FILE")" "$RS/$name/sock" >"$RS/$name.cnf")
}
stop_servers() {
	local pidf pid
	for pidf in "${STARTED[@]}"; do
		pid=$(cat "$pidf" 2>/dev/null) || continue
		kill "$pid" 2>/dev/null || continue
		for _ in $(seq 1 120); do kill -0 "$pid" 2>/dev/null || break; sleep 0.5; done
	done
}
sql() { local name=$1; shift; mariadb --defaults-file="$RS/$name.cnf" -N -B "$@"; }

# --- data -------------------------------------------------------------------------------------

size_bytes() { numfmt --from=iec "$1" 2>/dev/null || die "size $1 is not a size such as 100M, 1G or 5G"; }

# gen_sql SIZE: sysbench's schema (id primary key, k INT with a secondary index, c CHAR(120),
# pad CHAR(60) of random digits) in 4 equal tables, about 190 bytes of SQL a row.
gen_sql() {
	local rows=$(($(size_bytes "$1") / 190 / 4)) t
	echo "SET SESSION sql_log_bin = 0; DROP DATABASE IF EXISTS $DB; CREATE DATABASE $DB; USE $DB;"
	for t in sbtest1 sbtest2 sbtest3 sbtest4; do
		echo "CREATE TABLE $t (id INT NOT NULL AUTO_INCREMENT, k INT NOT NULL DEFAULT 0,
			c CHAR(120) NOT NULL DEFAULT '', pad CHAR(60) NOT NULL DEFAULT '', PRIMARY KEY (id), KEY k_$t (k)) ENGINE=InnoDB;"
		local done=0 n
		while [ "$done" -lt "$rows" ]; do
			n=$((rows - done > 200000 ? 200000 : rows - done))
			echo "INSERT INTO $t (k, c, pad) SELECT FLOOR(1 + RAND() * $rows),
				CONCAT_WS('-', $(for _ in 1 2 3 4 5 6 7 8 9; do printf "LPAD(FLOOR(RAND()*1e11), 11, '0'),"; done) LPAD(FLOOR(RAND()*1e11), 11, '0')),
				CONCAT_WS('-', $(for _ in 1 2 3 4; do printf "LPAD(FLOOR(RAND()*1e11), 11, '0'),"; done) LPAD(FLOOR(RAND()*1e11), 11, '0'))
				FROM seq_1_to_$n;"
			done=$((done + n))
		done
	done
	echo "CREATE TABLE bench_marker (size VARCHAR(32) NOT NULL, spec INT NOT NULL);"
	echo "INSERT INTO bench_marker VALUES ('$1', $SPEC);"
}

# state SERVER: "table<TAB>rows<TAB>checksum" of every table of $DB, sorted, then each one's
# SHOW CREATE TABLE (its indexes, in their order, and its AUTO_INCREMENT among them).
state() {
	local s=$1 tables t counts="" list=""
	tables=$(sql "$s" -e "SELECT table_name FROM information_schema.tables WHERE table_schema = '$DB' ORDER BY 1")
	[ -n "$tables" ] || return 0
	for t in $tables; do
		counts+="${counts:+ UNION ALL }SELECT '$t', COUNT(*) FROM \`$DB\`.\`$t\`"
		list+="${list:+, }\`$DB\`.\`$t\`"
	done
	join -t $'\t' <(sql "$s" -e "$counts" | sort) <(sql "$s" -e "CHECKSUM TABLE $list" | sed "s/^$DB\.//" | sort)
	for t in $tables; do
		sql "$s" -e "SHOW CREATE TABLE \`$DB\`.\`$t\`"
	done
}

# prepare SIZE: the data on the source and its dumps by each tool, in $RS/SIZE/.
prepare() {
	local size=$1 d=$RS/$1 have free need
	# The source's and a target's copy, the dumps and a binary log: about 5 times the SQL.
	free=$(df -Pk "$RS" | awk 'NR==2 {print $4 * 1024}')
	need=$(($(size_bytes "$size") * 5))
	[ "$free" -gt "$need" ] || die "$size needs about $((need >> 30)) GiB free under $RS, there are $((free >> 30)): free space or lower BENCH_RESTORE_SIZES"
	# The dumps of an earlier run are reused when they were made of this size and generation;
	# the source's copy of the data is needed only to make them.
	if [ "$(cat "$d/spec" 2>/dev/null)" = "$size/$SPEC" ] && [ -s "$d/source.tsv" ] && [ -s "$d/our.id" ] &&
		{ [ "$CONTENDERS" = backupctl ] || { [ -s "$d/dump.sql.zst" ] && [ -f "$d/mydumper/metadata" ]; }; }; then
		log "$size: reusing the dumps in $d"
		return
	fi
	have=$(sql src -e "SELECT CONCAT(size, '/', spec) FROM $DB.bench_marker" 2>/dev/null || true)
	if [ "$have" != "$size/$SPEC" ]; then
		log "generating $size of sysbench-like data on the private source"
		rm -rf "$d"
		gen_sql "$size" | sql src
	fi
	mkdir -p "$d"
	state src >"$d/source.tsv"
	echo "$size/$SPEC" >"$d/spec"
	if [ ! -s "$d/our.id" ]; then
		log "$size: backupctl backup"
		rm -rf "$d/objects" && mkdir -p "$d/objects"
		"$BACKUPCTL" backup now --local -o json -q --database "$DB" --db-socket "$RS/src/sock" \
			--to "file://$d/objects" >"$d/backup.json" || die "backupctl backup failed"
		jq -r .id "$d/backup.json" >"$d/our.id"
	fi
	[ "$CONTENDERS" = backupctl ] && return
	if [ ! -s "$d/dump.sql.zst" ]; then
		log "$size: mariadb-dump | zstd -3"
		mariadb-dump --defaults-file="$RS/src.cnf" --single-transaction --quick --databases "$DB" | zstd -3 -q >"$d/dump.sql.zst.part"
		mv "$d/dump.sql.zst.part" "$d/dump.sql.zst"
	fi
	if [ ! -f "$d/mydumper/metadata" ]; then
		log "$size: mydumper -c"
		rm -rf "$d/mydumper"
		mydumper --defaults-file="$RS/src.cnf" -B "$DB" -t "$NPROC" -c -o "$d/mydumper" -v 1
	fi
	sql src -e "DROP DATABASE $DB" # the dumps hold it now; its space goes to the targets
}

# --- measuring ------------------------------------------------------------------------------

TICKS=$(getconf CLK_TCK)
server_ticks() { awk '{print $14 + $15}' "/proc/$(cat "$RS/$1/pid")/stat"; }

# quiesce waits, up to 5 minutes, until no target is still writing out an earlier run: its
# dirty pages flushed (the page cleaner at full speed meanwhile) and its purge done, so that
# one contender's aftermath, on either target, is not timed in the next one's run.
quiesce() {
	local t n pct=() i=0 waited=0
	for t in "${TARGETS[@]}"; do
		pct+=("$(sql "$t" -e "SELECT @@innodb_max_dirty_pages_pct")")
		sql "$t" -e "SET GLOBAL innodb_max_dirty_pages_pct = 0"
	done
	for _ in $(seq 1 300); do
		n=0
		for t in "${TARGETS[@]}"; do
			n=$((n + $(sql "$t" -e "SELECT (SELECT VARIABLE_VALUE FROM information_schema.GLOBAL_STATUS WHERE VARIABLE_NAME = 'INNODB_BUFFER_POOL_PAGES_DIRTY') +
				IFNULL((SELECT IF(COUNT > 1000, COUNT, 0) FROM information_schema.INNODB_METRICS WHERE NAME = 'trx_rseg_history_len'), 0)")))
		done
		[ "$n" -eq 0 ] && break
		sleep 1
		waited=$((waited + 1))
	done
	[ "$waited" -eq 0 ] || log "waited ${waited}s for the targets to write out earlier runs"
	[ "$n" -eq 0 ] || log "the targets still had $n dirty pages and old versions after 5 minutes: measuring anyway"
	for t in "${TARGETS[@]}"; do
		sql "$t" -e "SET GLOBAL innodb_max_dirty_pages_pct = ${pct[i]}"
		i=$((i + 1))
	done
}

# measure SIZE POOL NAME ROUND CMD...: one timed restore into target t$POOL, then its check.
measure() {
	local size=$1 pool=$2 name=$3 round=$4 tf=$RS/time.txt ef=$RS/last.stderr s0 s1 rc=0
	shift 4
	sql "t$pool" -e "DROP DATABASE IF EXISTS \`$DB\`; RESET MASTER"
	quiesce
	s0=$(server_ticks "t$pool")
	/usr/bin/time -f '%e %U %S %M' -o "$tf" timeout "$TIMEOUT" "$@" >"$RS/last.stdout" 2>"$ef" || rc=$?
	s1=$(server_ticks "t$pool")
	local wall user sys rss status=ok
	read -r wall user sys rss < <(tail -n1 "$tf")
	if [ "$rc" -ne 0 ]; then
		status=exit$rc
		loud "$size $pool $name round $round: exit $rc: $(grep -v '^\s*$' "$ef" | tail -n 3 | cut -c1-300 | tr '\n' ' ')"
	else
		state "t$pool" >"$RS/target.tsv"
		if ! diff -q "$RS/$size/source.tsv" "$RS/target.tsv" >/dev/null; then
			status=WRONG
			loud "$size $pool $name round $round: the restored $DB differs from the source:
$(diff "$RS/$size/source.tsv" "$RS/target.tsv" || true)"
		fi
	fi
	log "$size, buffer pool $pool, $name, round $round: $status, ${wall}s wall, $(awk "BEGIN{print $user+$sys}")s CPU, $((rss / 1024)) MiB"
	printf '%s\t%s\t%s\t%s\t%s\t%s\t%.2f\t%s\t%.2f\n' "$size" "$pool" "$name" "$round" "$status" "$wall" \
		"$(awk "BEGIN{print $user+$sys}")" "$rss" "$(awk "BEGIN{print ($s1-$s0)/$TICKS}")" >>"$RUNS"
}

restore_round() {
	local size=$1 pool=$2 r=$3 d=$RS/$1 t=$RS/t$2
	measure "$size" "$pool" "backupctl restore" "$r" "$BACKUPCTL" restore "$(cat "$d/our.id")" --local -o json -q \
		--db-socket "$t/sock" --to "file://$d/objects"
	[ "$CONTENDERS" = backupctl ] && return
	measure "$size" "$pool" "zstd -dc | mariadb" "$r" bash -c \
		"set -o pipefail; zstd -dc -q '$d/dump.sql.zst' | mariadb --defaults-file='$t.cnf'"
	measure "$size" "$pool" "myloader -t $NPROC" "$r" myloader --defaults-file="$t.cnf" -d "$d/mydumper" -t "$NPROC" -o -v 1
}

# --- report -----------------------------------------------------------------------------------

med() { # med SIZE POOL NAME COLUMN
	awk -F'\t' -v s="$1" -v p="$2" -v n="$3" -v c="$4" '$1==s && $2==p && $3==n && $5=="ok" {print $c}' "$RUNS" | sort -g |
		awk '{v[NR]=$1} END {if (NR==0) print ""; else if (NR%2) print v[(NR+1)/2]; else printf "%.2f\n", (v[NR/2]+v[NR/2+1])/2}'
}
ratio() { [ -n "$1" ] && [ -n "$2" ] && awk "BEGIN{printf \"%.2f×\", $1/$2}" || echo "–"; }

report() {
	local size pool name first_size w ref
	first_size=${SIZES%%,*}
	{
		echo "## make bench, restore series, $(date -u '+%Y-%m-%d %H:%M UTC')"
		echo
		echo "Machine: $NPROC CPUs, $(awk '/MemTotal/ {printf "%.1f GiB", $2/1048576}' /proc/meminfo) RAM; private MariaDB $(sql src -e 'SELECT VERSION()') servers"
		echo "on Unix sockets (binary log on, innodb_flush_log_at_trx_commit=1). Data: 4 sysbench tables per size."
		echo "Rounds: $ROUNDS, contenders alternating. Load average at start: $LOAD_START; at end: $(cut -d' ' -f1-3 /proc/loadavg)."
		echo "Under test: ${BACKUPCTL_VERSION:-an unversioned backupctl}."
		echo
		echo "| size | buffer pool | contender | runs ok | median wall s | median CPU s | peak RSS MiB | server CPU s | wall vs zstd -dc \\| mariadb | wall vs $first_size |"
		echo "| --- | --- | --- | --- | ---: | ---: | ---: | ---: | ---: | ---: |"
		while IFS=$'\t' read -r size pool name; do
			w=$(med "$size" "$pool" "$name" 6)
			ref=$(med "$size" "$pool" "zstd -dc | mariadb" 6)
			echo "| $size | $pool | ${name//|/\\|} | $(awk -F'\t' -v s="$size" -v p="$pool" -v n="$name" '$1==s && $2==p && $3==n {t++; if ($5=="ok") ok++} END {printf "%d/%d", ok, t}' "$RUNS") |" \
				"${w:-–} | $(med "$size" "$pool" "$name" 7) | $(awk -F'\t' -v s="$size" -v p="$pool" -v n="$name" '$1==s && $2==p && $3==n && $5=="ok" && $8>m {m=$8} END {if (m) printf "%.0f", m/1024}' "$RUNS") |" \
				"$(med "$size" "$pool" "$name" 9) | $(ratio "$w" "$ref") | $(ratio "$w" "$(med "$first_size" "$pool" "$name" 6)") |"
		done < <(awk -F'\t' -v OFS='\t' '!seen[$1 FS $2 FS $3]++ {print $1, $2, $3}' "$RUNS")
		echo
		echo "Wall and CPU (user+sys, a pipeline's summed over its processes) are medians over the runs"
		echo "that succeeded; peak RSS is the largest (a pipeline's: its largest process). Targets (issue 22):"
		echo "backupctl ≤ 0.6× \`zstd -dc | mariadb\` at every size and buffer pool, the largest size ≤ 5.5×"
		echo "the 1 GB time on the same target (for 5 GB against 1 GB), peak RSS ≤ 150 MiB."
		if [ -s "$RS/problems-$STAMP.txt" ]; then
			echo
			echo "**Problems in this run:**"
			echo
			sed 's/^/    /' "$RS/problems-$STAMP.txt"
		fi
	} >"$OUT"
	cat "$OUT"
}

main() {
	scripts/packages.sh bench
	trap stop_servers EXIT
	local port=$PORT pool size r
	server src "$port"
	IFS=, read -ra pools <<<"$POOLS"
	TARGETS=("${pools[@]/#/t}")
	IFS=, read -ra sizes <<<"$SIZES"
	for pool in "${pools[@]}"; do
		port=$((port + 1))
		server "t$pool" "$port" "--innodb-buffer-pool-size=$pool"
	done
	LOAD_START=$(cut -d' ' -f1-3 /proc/loadavg)
	: >"$RUNS"
	for size in "${sizes[@]}"; do
		prepare "$size"
		for ((r = 1; r <= ROUNDS; r++)); do
			for pool in "${pools[@]}"; do
				restore_round "$size" "$pool" "$r"
			done
		done
		sql "t${pools[0]}" -e "DROP DATABASE IF EXISTS \`$DB\`" || true
	done
	report
	log "results: $OUT (runs: $RUNS)"
	[ "$FAILED" = 0 ] || { log "some runs failed or gave a wrong result: see above"; exit 1; }
}

main "$@"
