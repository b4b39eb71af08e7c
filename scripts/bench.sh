#!/usr/bin/env bash
# `make bench`: backupctl against mariadb-dump, gzip, zstd and mydumper on one generated data set.
# See docs/BENCH.md. Knobs (environment):
#   BENCH_SIZE=1G        approximate size of the data as SQL (50M, 100M, 1G, 5G, ...)
#   BENCH_ROUNDS=3       rounds; each round runs every contender once, in turn
#   BENCH_PHASES=dump,restore
#   BENCH_KEEP=0         1 keeps the last dump files and backups under .bench/ and in the bucket
#   BENCH_BACKUPCTL=bin/backupctl   the binary under test
#   BENCH_TIMEOUT=30m    a run that takes longer is stopped and counted as failed (exit 124)
#   BENCH_CONTENDERS=all all, or backupctl: only our backup and restore (the 5 GB memory check)
# Every run is checked: our backup must say verified and carry the source's row counts; every
# restore (ours and the others') must give the source's COUNT(*) and CHECKSUM TABLE for every
# table. A mismatch or a failed run makes the script exit 1, after writing the results.
set -euo pipefail
export LC_ALL=C # sort and join agree
cd "$(dirname "$0")/.."
ROOT=$(pwd)
BENCH=$ROOT/.bench
SIZE=${BENCH_SIZE:-1G}
ROUNDS=${BENCH_ROUNDS:-3}
PHASES=${BENCH_PHASES:-dump,restore}
KEEP=${BENCH_KEEP:-0}
TIMEOUT=${BENCH_TIMEOUT:-30m}
CONTENDERS=${BENCH_CONTENDERS:-all}
DB=bench
SPEC=1 # bump when the generated data changes, so old data is regenerated
NPROC=$(nproc)
STAMP=$(date -u +%Y%m%dT%H%M%SZ)
OUT=$BENCH/results-$STAMP.md
RUNS=$BENCH/runs-$STAMP.tsv
FAILED=0

log() { printf '[bench] %s\n' "$*" >&2; }
die() { log "$*"; exit 1; }
loud() { # a wrong result: never let it scroll by
	FAILED=1
	printf '\n[bench] !!!!!!!!!! %s\n\n' "$*" >&2
	echo "$*" >>"$BENCH/problems-$STAMP.txt"
}

[ -f .stack/env ] || die "no .stack/env: start the servers with 'make up' (or run 'make bench')"
set -a
# shellcheck disable=SC1091
source .stack/env
set +a
BACKUPCTL=${BENCH_BACKUPCTL:-bin/backupctl}
[ -x "$BACKUPCTL" ] || die "no $BACKUPCTL: run 'make build' (or 'make bench')"
mkdir -p "$BENCH"
# Measure a copy: a `make build` elsewhere during the bench must not swap the binary mid-run.
cp "$BACKUPCTL" "$BENCH/backupctl.under-test"
BACKUPCTL=$BENCH/backupctl.under-test
BACKUPCTL_VERSION=$("$BACKUPCTL" version 2>/dev/null | head -n1 || true)
export BACKUP_S3_PREFIX=bench # keep the bench's backups out of everyone else's `list`
SRC_SOCK=$BACKUP_TEST_SRC_SOCKET
DST_SOCK=$BACKUP_TEST_DST_SOCKET
SRC_PID=$(cat .stack/mariadb-src/pid)
DST_PID=$(cat .stack/mariadb-dst/pid)

need_packages() { scripts/packages.sh bench; }

# size_bytes 1G -> 1073741824
size_bytes() {
	local s=${1^^} n
	n=${s%[KMGT]}
	[[ $n =~ ^[0-9]+$ ]] || die "BENCH_SIZE=$1 is not a size such as 100M, 1G or 5G"
	case $s in
	*K) echo $((n << 10)) ;; *M) echo $((n << 20)) ;; *G) echo $((n << 30)) ;; *T) echo $((n << 40)) ;;
	*) echo "$n" ;;
	esac
}

# Client option files: the password never appears in argv (ps). .bench/ is git-ignored.
write_cnf() {
	mkdir -p "$BENCH"
	umask 077
	local name sock
	for name in src dst; do
		sock=$SRC_SOCK
		[ $name = dst ] && sock=$DST_SOCK
		printf '[client]\nuser=%s\npassword=%s\nsocket=%s\n' "$BACKUP_DB_USER" "$BACKUP_DB_PASSWORD" "$sock" >"$BENCH/$name.cnf"
	done
	umask 022
}
src_sql() { mariadb --defaults-file="$BENCH/src.cnf" -N --batch "$@"; }
dst_sql() { mariadb --defaults-file="$BENCH/dst.cnf" -N --batch "$@"; }

# --- data ----------------------------------------------------------------------------------

# The data set is 8 units of SQL: sysbench-like sbtest1..4 (one unit each), sbtest_skew with
# three times their rows and a skewed k, and wide_rows with about 4 KB of text and blob per row.
SB_ROW_BYTES=220   # one sbtest row as extended-INSERT SQL
WIDE_ROW_BYTES=4000
plan_rows() {
	local unit=$(($(size_bytes "$SIZE") / 8))
	SB_ROWS=$((unit / SB_ROW_BYTES))
	SKEW_ROWS=$((3 * SB_ROWS))
	WIDE_ROWS=$((unit / WIDE_ROW_BYTES))
	[ "$SB_ROWS" -ge 1000 ] || die "BENCH_SIZE=$SIZE is too small; use at least 2M"
}

# sysbench's c is ten groups of 11 digits joined by '-', pad five such groups.
digits() { local i out=""; for ((i = 0; i < $1; i++)); do out+="${out:+, }LPAD(FLOOR(RAND()*100000000000), 11, '0')"; done; echo "CONCAT_WS('-', $out)"; }

# insert_batches TABLE ROWS BATCH SELECT-LIST  (the select list may use seq for 1..batch)
insert_batches() {
	local table=$1 rows=$2 batch=$3 cols=$4 list=$5 done=0 n
	while [ "$done" -lt "$rows" ]; do
		n=$((rows - done < batch ? rows - done : batch))
		echo "INSERT INTO $table ($cols) SELECT $list FROM seq_1_to_$n;"
		done=$((done + n))
	done
}

gen_sql() {
	local c pad t
	c=$(digits 10)
	pad=$(digits 5)
	echo "SET SESSION sql_log_bin = 0;" # 1 GB of generated rows need not go to the binlog
	echo "DROP DATABASE IF EXISTS $DB; CREATE DATABASE $DB CHARACTER SET utf8mb4; USE $DB;"
	for t in sbtest1 sbtest2 sbtest3 sbtest4 sbtest_skew; do
		local rows=$SB_ROWS k="FLOOR(1 + RAND() * $SB_ROWS)"
		if [ $t = sbtest_skew ]; then
			rows=$SKEW_ROWS
			k="FLOOR(1 + POW(RAND(), 4) * $SKEW_ROWS)" # most k values near 1
		fi
		echo "CREATE TABLE $t (id INT NOT NULL AUTO_INCREMENT, k INT NOT NULL DEFAULT 0,
			c CHAR(120) NOT NULL DEFAULT '', pad CHAR(60) NOT NULL DEFAULT '', PRIMARY KEY (id)) ENGINE=InnoDB;"
		insert_batches $t "$rows" 100000 "k, c, pad" "$k, $c, $pad"
		echo "ALTER TABLE $t ADD INDEX k_$t (k);"
	done
	echo "CREATE TABLE wide_rows (id INT NOT NULL AUTO_INCREMENT PRIMARY KEY, created DATETIME(6) NOT NULL,
		title VARCHAR(200) NOT NULL, body MEDIUMTEXT NOT NULL, data BLOB NOT NULL, note TEXT NULL) ENGINE=InnoDB;"
	insert_batches wide_rows "$WIDE_ROWS" 10000 "created, title, body, data, note" \
		"TIMESTAMP'2024-01-01 00:00:00' + INTERVAL seq * 1000003 MICROSECOND, CONCAT('row ', seq, ' ', SHA2(RAND(), 224)),
		CONCAT(TO_BASE64(RANDOM_BYTES(1024)), TO_BASE64(RANDOM_BYTES(1024))), RANDOM_BYTES(1024), IF(seq % 7 = 0, NULL, '')"
	# Written last: a generation that was interrupted has no marker and is redone.
	echo "CREATE TABLE bench_marker (size VARCHAR(32) NOT NULL, spec INT NOT NULL, generated_at DATETIME NOT NULL);"
	echo "INSERT INTO bench_marker VALUES ('$SIZE', $SPEC, NOW());"
}

generate() {
	local have
	have=$(src_sql -e "SELECT CONCAT(size, '/', spec) FROM $DB.bench_marker" 2>/dev/null || true)
	if [ "$have" = "$SIZE/$SPEC" ]; then
		log "data set $DB ($SIZE) is already on the source server"
		return
	fi
	log "generating $DB on the source: 4 x $SB_ROWS + $SKEW_ROWS sbtest rows, $WIDE_ROWS wide rows (BENCH_SIZE=$SIZE)"
	local t0=$SECONDS
	gen_sql | src_sql
	log "generated in $((SECONDS - t0)) s"
}

# state SERVER: "table<TAB>rows<TAB>checksum" for every base table of $DB, sorted by table.
state() {
	local sql=${1}_sql tables t counts="" list=""
	tables=$($sql -e "SELECT table_name FROM information_schema.tables
		WHERE table_schema = '$DB' AND table_type = 'BASE TABLE' ORDER BY table_name")
	[ -n "$tables" ] || return 0
	for t in $tables; do
		counts+="${counts:+ UNION ALL }SELECT '$t', COUNT(*) FROM \`$DB\`.\`$t\`"
		list+="${list:+, }\`$DB\`.\`$t\`"
	done
	join -t $'\t' <($sql -e "$counts" | sort) <($sql -e "CHECKSUM TABLE $list" | sed "s/^$DB\.//" | sort)
}

# --- measuring ------------------------------------------------------------------------------

# measure PHASE NAME ROUND CMD...: runs CMD under /usr/bin/time and appends a line to $RUNS:
# phase name round status wall cpu maxrss_kib. For a pipeline CMD is `bash -c '...'`: wait4
# then sums user+sys over every process of the pipeline and gives the largest single RSS.
# Sets RC and LAST_ERR.
measure() {
	local phase=$1 name=$2 round=$3 tf=$BENCH/time.txt slug
	slug=$(slug "$name")
	local ef=$BENCH/$slug.stderr
	shift 3
	RC=0
	# The server's CPU too (source for dumps, target for restores): a client can be cheap
	# by leaving the work to the server. Other users of the server add to it.
	local spid=$SRC_PID s0 s1
	[ "$phase" = restore ] && spid=$DST_PID
	s0=$(server_ticks "$spid")
	/usr/bin/time -f '%e %U %S %M' -o "$tf" timeout "$TIMEOUT" "$@" 2>"$ef" >"$BENCH/$slug.stdout" || RC=$?
	s1=$(server_ticks "$spid")
	local wall user sys rss
	read -r wall user sys rss < <(tail -n1 "$tf")
	local status=ok
	LAST_ERR=""
	if [ "$RC" -ne 0 ]; then
		status="exit$RC"
		LAST_ERR=$({ grep -v '^\s*$' "$ef" || true; } | tail -n 3 | cut -c1-300 | tr '\n' ' ')
		log "$name round $round FAILED (exit $RC): $LAST_ERR"
		echo "$name round $round: exit $RC: $LAST_ERR" >>"$BENCH/failures-$STAMP.txt"
	else
		log "$name round $round: ${wall}s wall, $(awk "BEGIN{print $user+$sys}")s CPU, $((rss / 1024)) MiB"
	fi
	printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$phase" "$name" "$round" "$status" "$wall" \
		"$(awk "BEGIN{printf \"%.2f\", $user+$sys}")" "$rss" "$(awk "BEGIN{printf \"%.2f\", ($s1-$s0)/$TICKS}")" >>"$RUNS"
}

TICKS=$(getconf CLK_TCK)
server_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; } # utime + stime of mariadbd

slug() { printf '%s' "$1" | tr -cs 'a-zA-Z0-9' '_'; }

# mark_bad PHASE NAME ROUND: a run that finished but is wrong.
mark_bad() {
	awk -F'\t' -v OFS='\t' -v p="$1" -v n="$2" -v r="$3" \
		'$1==p && $2==n && $3==r {$4="WRONG"} {print}' "$RUNS" >"$RUNS.tmp" && mv "$RUNS.tmp" "$RUNS"
}

note_size() { printf '%s\t%s\n' "$1" "$2" >>"$BENCH/sizes-$STAMP.tsv"; }

# --- dumps ------------------------------------------------------------------------------------

OUR_ID=""
dump_ours() {
	local r=$1 out id verified rows
	measure dump "backupctl backup" "$r" "$BACKUPCTL" backup now --local -o json -q \
		--database "$DB" --db-socket "$SRC_SOCK"
	[ "$RC" -eq 0 ] || return 0
	out=$BENCH/$(slug "backupctl backup").stdout
	id=$(jq -r .id "$out")
	verified=$(jq -r .verified "$out")
	rows=$(jq -r .rows "$out")
	note_size "backupctl backup" "$(jq -r .size "$out")"
	if [ "$verified" != true ]; then
		loud "backupctl backup round $r: exit 0 but verified=$verified ($(tr -d '\n' <"$out"))"
		mark_bad dump "backupctl backup" "$r"
	fi
	local want got
	want=$(cut -f1,2 "$BENCH/source.tsv" | sed "s/^/$DB./")
	got=$("$BENCH/benchtool" rows "$id" | sort)
	if [ "$want" != "$got" ]; then
		loud "backupctl backup round $r ($id): per-table rows in the manifest differ from the source:
$(diff <(echo "$want") <(echo "$got") || true)"
		mark_bad dump "backupctl backup" "$r"
	fi
	local total
	total=$(awk -F'\t' '{r+=$2} END {print r}' "$BENCH/source.tsv")
	if [ "$rows" != "$total" ]; then
		loud "backupctl backup round $r ($id): rows=$rows in the result, the source has $total"
		mark_bad dump "backupctl backup" "$r"
	fi
	# Keep one backup for the restore phase.
	if [ -n "$OUR_ID" ]; then "$BENCH/benchtool" delete "$OUR_ID"; fi
	OUR_ID=$id
}

MDUMP="mariadb-dump --defaults-file=$BENCH/src.cnf --single-transaction --quick --databases $DB"
dump_zstd() {
	measure dump "mariadb-dump | zstd -3" "$1" bash -c "set -o pipefail; $MDUMP | zstd -3 -q >'$BENCH/dump.sql.zst'"
	[ "$RC" -ne 0 ] || note_size "mariadb-dump | zstd -3" "$(stat -c %s "$BENCH/dump.sql.zst")"
}
dump_gzip() {
	measure dump "mariadb-dump | gzip -6" "$1" bash -c "set -o pipefail; $MDUMP | gzip -6 >'$BENCH/dump.sql.gz'"
	[ "$RC" -ne 0 ] || note_size "mariadb-dump | gzip -6" "$(stat -c %s "$BENCH/dump.sql.gz")"
	rm -f "$BENCH/dump.sql.gz"
}
dump_mydumper() {
	rm -rf "$BENCH/mydumper"
	measure dump "mydumper -c -t $NPROC" "$1" mydumper --defaults-file="$BENCH/src.cnf" -B "$DB" \
		-t "$NPROC" -c -o "$BENCH/mydumper" -v 1
	[ "$RC" -ne 0 ] || note_size "mydumper -c -t $NPROC" "$(du -sb "$BENCH/mydumper" | cut -f1)"
}
dump_floor() {
	local sel="" t
	for t in $(cut -f1 "$BENCH/source.tsv"); do sel+="SELECT * FROM \`$t\`; "; done
	measure dump "SELECT floor (mariadb --quick)" "$1" bash -c \
		"mariadb --defaults-file='$BENCH/src.cnf' --quick --batch --raw -N $DB -e '$sel' >/dev/null"
}

dump_floor_go() {
	local name="SELECT floor (Go database/sql)" total
	measure dump "$name" "$1" "$BENCH/benchtool" select "$SRC_SOCK" "$DB"
	[ "$RC" -eq 0 ] || return 0
	total=$(awk -F'\t' '{r+=$2} END {print r}' "$BENCH/source.tsv")
	if [ "$(awk -F'\t' '$1=="rows" {print $2}' "$BENCH/$(slug "$name").stdout")" != "$total" ]; then
		loud "$name round $1: did not read the source's $total rows: $(tr '\n' ' ' <"$BENCH/$(slug "$name").stdout")"
		mark_bad dump "$name" "$1"
	fi
}

# --- restores ---------------------------------------------------------------------------------

# check_restore NAME ROUND: the target's $DB must equal the source's, table for table.
check_restore() {
	state dst >"$BENCH/target.tsv"
	if ! diff -q "$BENCH/source.tsv" "$BENCH/target.tsv" >/dev/null; then
		loud "$1 round $2: the restored $DB differs from the source (table, rows, checksum; < source, > target):
$(diff "$BENCH/source.tsv" "$BENCH/target.tsv" || true)"
		mark_bad restore "$1" "$2"
	fi
}
clean_target() { dst_sql -e "DROP DATABASE IF EXISTS \`$DB\`"; }

restore_ours() {
	local name=$1 r=$2
	shift 2
	if [ -z "$OUR_ID" ]; then
		log "$name round $r: skipped, no backup of ours to restore (the backup failed or did not run)"
		printf 'restore\t%s\t%s\tskipped\t\t\t\t\n' "$name" "$r" >>"$RUNS"
		return
	fi
	clean_target
	measure restore "$name" "$r" "$BACKUPCTL" restore "$OUR_ID" --local -o json -q --db-socket "$DST_SOCK" "$@"
	[ "$RC" -ne 0 ] || check_restore "$name" "$r"
}
restore_zstd() {
	local name="zstd -dc | mariadb"
	[ -f "$BENCH/dump.sql.zst" ] || { printf 'restore\t%s\t%s\tskipped\t\t\t\t\n' "$name" "$1" >>"$RUNS"; return; }
	clean_target
	measure restore "$name" "$1" bash -c "set -o pipefail; zstd -dc -q '$BENCH/dump.sql.zst' | mariadb --defaults-file='$BENCH/dst.cnf'"
	[ "$RC" -ne 0 ] || check_restore "$name" "$1"
}
restore_myloader() {
	local name="myloader -t $NPROC"
	[ -d "$BENCH/mydumper" ] || { printf 'restore\t%s\t%s\tskipped\t\t\t\t\n' "$name" "$1" >>"$RUNS"; return; }
	clean_target
	measure restore "$name" "$1" myloader --defaults-file="$BENCH/dst.cnf" -d "$BENCH/mydumper" -t "$NPROC" -o -v 1
	[ "$RC" -ne 0 ] || check_restore "$name" "$1"
}

# --- report -----------------------------------------------------------------------------------

# report: the Markdown table of medians (CPU and wall) and the largest RSS over the runs.
report() {
	local mem ver load_end ref_dump ref_restore floor floor_go
	mem=$(awk '/MemTotal/ {printf "%.1f GiB", $2/1048576}' /proc/meminfo)
	ver=$(src_sql -e "SELECT VERSION()")
	load_end=$(cut -d' ' -f1-3 /proc/loadavg)
	med() { # med PHASE NAME COLUMN: median of the column over the ok runs
		awk -F'\t' -v p="$1" -v n="$2" -v c="$3" '$1==p && $2==n && $4=="ok" {print $c}' "$RUNS" | sort -g |
			awk '{v[NR]=$1} END {if (NR==0) print ""; else if (NR%2) print v[(NR+1)/2]; else printf "%.2f\n", (v[NR/2]+v[NR/2+1])/2}'
	}
	maxrss() { awk -F'\t' -v p="$1" -v n="$2" '$1==p && $2==n && $4=="ok" && $7>m {m=$7} END {if (m) printf "%.0f", m/1024}' "$RUNS"; }
	runs() { awk -F'\t' -v p="$1" -v n="$2" '$1==p && $2==n {t++; if ($4=="ok") ok++; else bad=bad (bad?",":"") $4} END {printf "%d/%d%s", ok, t, bad ? " (" bad ")" : ""}' "$RUNS"; }
	ratio() { [ -n "$1" ] && [ -n "$2" ] && awk "BEGIN{printf \"%.2f×\", $1/$2}" || echo "–"; }
	size_of() { awk -F'\t' -v n="$1" '$1==n {s=$2} END {if (s) printf "%.0f", s/1048576}' "$BENCH/sizes-$STAMP.tsv" 2>/dev/null; }
	ref_dump=$(med dump "mariadb-dump | zstd -3" 5)
	ref_restore=$(med restore "zstd -dc | mariadb" 5)
	floor=$(med dump "SELECT floor (mariadb --quick)" 5)
	floor_go=$(med dump "SELECT floor (Go database/sql)" 5)
	{
		echo "## make bench, $(date -u '+%Y-%m-%d %H:%M UTC')"
		echo
		echo "Machine: $NPROC CPUs ($(awk -F': ' '/model name/ {print $2; exit}' /proc/cpuinfo)), $mem RAM; MariaDB $ver on a Unix socket;"
		echo "MinIO on the same machine. Data: BENCH_SIZE=$SIZE, database \`$DB\`, $(awk -F'\t' '{r+=$2} END {print r}' "$BENCH/source.tsv") rows in"
		echo "$(wc -l <"$BENCH/source.tsv") tables, $(src_sql -e "SELECT ROUND(SUM(data_length+index_length)/1048576) FROM information_schema.tables WHERE table_schema='$DB'") MiB in InnoDB. Rounds: $ROUNDS, contenders alternating within each round."
		echo "Load average at start: $LOAD_START; at end: $load_end. Under test: ${BACKUPCTL_VERSION:-an unversioned backupctl}."
		echo
		echo "| contender | runs ok | median wall s | median CPU s | peak RSS MiB | server CPU s | output MiB | wall vs reference | wall vs SELECT floor (client / Go) |"
		echo "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"
		local phase name w ref
		while IFS=$'\t' read -r phase name; do
			w=$(med "$phase" "$name" 5)
			ref=$ref_dump
			[ "$phase" = restore ] && ref=$ref_restore
			local vs_floor="–"
			[[ $name == backupctl* && $phase == dump ]] && vs_floor="$(ratio "$w" "$floor") / $(ratio "$w" "$floor_go")"
			echo "| $phase: ${name//|/\\|} | $(runs "$phase" "$name") | ${w:-–} | $(med "$phase" "$name" 6) | $(maxrss "$phase" "$name") | $(med "$phase" "$name" 8) | $(size_of "$name") | $(ratio "$w" "$ref") | $vs_floor |"
		done < <(awk -F'\t' -v OFS='\t' '!seen[$1 FS $2]++ {print $1, $2}' "$RUNS")
		echo
		echo "Wall and CPU (user+sys) are medians over the runs that succeeded; peak RSS is the largest over"
		echo "them. For a pipeline, CPU is summed over its processes and RSS is that of its largest process."
		echo "References: dumps against \`mariadb-dump --single-transaction --quick | zstd -3 > file\`, restores"
		echo "against \`zstd -dc | mariadb\`. backupctl backup includes the upload to MinIO and the read-back"
		echo "verification; backupctl restore reads from MinIO. Targets (issue 7): backup ≤ 1.0× and ≤ 1.3× the"
		echo "floor; restore ≤ 0.6×; backup peak RSS ≤ 150 MiB."
		if [ -s "$BENCH/problems-$STAMP.txt" ]; then
			echo
			echo "**Problems in this run:**"
			echo
			sed 's/^/    /' "$BENCH/problems-$STAMP.txt"
		fi
		if [ -s "$BENCH/failures-$STAMP.txt" ]; then
			echo
			echo "**Failed runs** (the last lines of their stderr):"
			echo
			sed 's/^/    /' "$BENCH/failures-$STAMP.txt"
		fi
	} >"$OUT"
	cat "$OUT"
}

cleanup() {
	if [ "$KEEP" != 1 ]; then
		rm -rf "$BENCH/mydumper" "$BENCH/dump.sql.zst" "$BENCH/dump.sql.gz"
		if [ -n "$OUR_ID" ] && [ -x "$BENCH/benchtool" ]; then "$BENCH/benchtool" delete "$OUR_ID" || true; fi
	fi
	[ -f "$BENCH/dst.cnf" ] && clean_target 2>/dev/null || true
}

# shellcheck source=scripts/bench-age.sh
source scripts/bench-age.sh # encrypted backup and restore: dump_age, restore_age, age_report

main() {
	case $CONTENDERS in all | backupctl) ;; *) die "BENCH_CONTENDERS=$CONTENDERS: use all or backupctl" ;; esac
	need_packages
	write_cnf
	plan_rows
	log "building the bench helper"
	go build -o "$BENCH/benchtool" ./internal/bench/cmd/benchtool
	trap cleanup EXIT
	generate
	log "reading the source's row counts and checksums"
	state src >"$BENCH/source.tsv"
	[ -s "$BENCH/source.tsv" ] || die "no tables in $DB on the source"
	LOAD_START=$(cut -d' ' -f1-3 /proc/loadavg)
	local free
	free=$(df -Pk "$BENCH" | awk 'NR==2 {print $4 * 1024}')
	[ "$free" -gt $(($(size_bytes "$SIZE") * 2)) ] || log "warning: only $((free >> 20)) MiB free under .bench/"
	: >"$RUNS"
	local r
	if [[ ,$PHASES, == *,dump,* ]]; then
		log "warm-up read (not measured)"
		dump_floor 0 && sed -i '$d' "$RUNS"
		for ((r = 1; r <= ROUNDS; r++)); do
			log "dump round $r of $ROUNDS"
			dump_ours "$r"
			dump_age "$r"
			[ "$CONTENDERS" = backupctl ] && continue
			dump_zstd "$r"
			dump_gzip "$r"
			dump_mydumper "$r"
			dump_floor "$r"
			dump_floor_go "$r"
		done
	fi
	if [[ ,$PHASES, == *,restore,* ]]; then
		for ((r = 1; r <= ROUNDS; r++)); do
			log "restore round $r of $ROUNDS"
			restore_ours "backupctl restore" "$r"
			restore_ours "backupctl restore --no-verify-first" "$r" --no-verify-first
			restore_age "$r"
			[ "$CONTENDERS" = backupctl ] && continue
			restore_zstd "$r"
			restore_myloader "$r"
		done
	fi
	report
	age_report
	scripts/bench-pitr.sh || { FAILED=1; loud "the PITR bench failed (scripts/bench-pitr.sh)"; }
	mkdir -p "$BENCH"
	log "results: $OUT (runs: $RUNS)"
	if grep -qP '\t(exit[0-9]+|WRONG)\t' "$RUNS" || [ "$FAILED" = 1 ]; then
		log "some runs failed or gave a wrong result: see above"
		exit 1
	fi
}

main "$@"
