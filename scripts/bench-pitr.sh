#!/usr/bin/env bash
# Point-in-time recovery figures for `make bench` (see docs/BENCH.md): the binlog archiver's lag
# behind the server under a load of small transactions, its peak RSS, and the replay of the
# archived segments by `backupctl restore --to-latest` against `mariadb-binlog seg... | mariadb`
# on the same segments. Knobs (environment):
#   BENCH_PITR_DURATION=30s   how long the load writes
#   BENCH_PITR_WRITERS=16     connections writing autocommit INSERTs at once
#   BENCH_PITR_INTERVAL=1s    the archiver's --segment-interval (the lag is about half of it)
# Both replays are checked: the target's CHECKSUM TABLE must equal the source's.
set -euo pipefail
export LC_ALL=C
cd "$(dirname "$0")/.."
ROOT=$(pwd)
BENCH=$ROOT/.bench/pitr
DURATION=${BENCH_PITR_DURATION:-30s}
WRITERS=${BENCH_PITR_WRITERS:-16}
INTERVAL=${BENCH_PITR_INTERVAL:-1s}
STAMP=$(date -u +%Y%m%dT%H%M%SZ)
DB=benchpitr
log() { printf '[bench-pitr] %s\n' "$*" >&2; }
die() { log "$*"; exit 1; }

[ -f .stack/env ] || die "no .stack/env: start the servers with 'make up'"
set -a
# shellcheck disable=SC1091
source .stack/env
set +a
[ -x bin/backupctl ] && [ -x bin/dumper ] || die "no bin/backupctl or bin/dumper: run 'make build'"
rm -rf "$BENCH" && mkdir -p "$BENCH/segs"
cp bin/backupctl bin/dumper "$BENCH/"
go build -o "$BENCH/pitrload" ./internal/bench/cmd/pitrload
export BACKUP_S3_PREFIX=bench-pitr-$STAMP # an archive of its own
SRC=(mariadb -h "$BACKUP_DB_HOST" -P "$BACKUP_DB_PORT" -u "$BACKUP_DB_USER" "-p$BACKUP_DB_PASSWORD" -N -B)
DST=(mariadb -h "$BACKUP_TEST_DST_HOST" -P "$BACKUP_TEST_DST_PORT" -u "$BACKUP_DB_USER" "-p$BACKUP_DB_PASSWORD" -N -B)
checksum() { "$@" -e "CHECKSUM TABLE $DB.t" | cut -f2; }

"${SRC[@]}" -e "DROP DATABASE IF EXISTS $DB; CREATE DATABASE $DB; CREATE TABLE $DB.t (id BIGINT AUTO_INCREMENT PRIMARY KEY, w INT, v VARCHAR(64))"
ARCHIVE=$("${SRC[@]}" -e "SELECT CONCAT(@@hostname, ':', @@port)")
BASE=$("$BENCH/backupctl" backup now --local -d "$DB" -o json -q)
BASE_ID=$(printf '%s' "$BASE" | sed -n 's/.*"id": *"\([^"]*\)".*/\1/p' | head -n1)
BASE_GTID=$(printf '%s' "$BASE" | sed -n 's/.*"gtid": *"\([^"]*\)".*/\1/p' | head -n1)
[ -n "$BASE_ID" ] && [ -n "$BASE_GTID" ] || die "base backup: no id or GTID in: $BASE"
log "base backup $BASE_ID at $BASE_GTID; archiving $ARCHIVE with --segment-interval $INTERVAL"

"$BENCH/dumper" binlog archive --segment-interval "$INTERVAL" --log-format json 2>"$BENCH/archiver.log" &
ARCHIVER=$!
trap 'kill "$ARCHIVER" 2>/dev/null || true' EXIT
sleep 2
kill -0 "$ARCHIVER" || die "the archiver did not start: $(tail -n 3 "$BENCH/archiver.log")"
log "writing small transactions for $DURATION with $WRITERS connections"
LOAD=$("$BENCH/pitrload" load -db "$DB" -archive "$ARCHIVE" -writers "$WRITERS" -duration "$DURATION")
RSS_KB=$(awk '/^VmHWM/ {print $2}' "/proc/$ARCHIVER/status")
kill -TERM "$ARCHIVER"
wait "$ARCHIVER" || die "the archiver failed: $(tail -n 3 "$BENCH/archiver.log")"
trap - EXIT
log "load: $LOAD; archiver peak RSS $((RSS_KB / 1024)) MiB"
WANT=$(checksum "${SRC[@]}")

"${DST[@]}" -e "DROP DATABASE IF EXISTS $DB"
T0=$(date +%s.%N)
BACKUP_DB_HOST=$BACKUP_TEST_DST_HOST BACKUP_DB_PORT=$BACKUP_TEST_DST_PORT \
	"$BENCH/backupctl" restore --local --to-latest --replay-lock none -q -o json >"$BENCH/ours.json"
T1=$(date +%s.%N)
OURS=$(echo "$T1 - $T0" | bc)
[ "$(checksum "${DST[@]}")" = "$WANT" ] || die "backupctl's replay differs from the source"

"${DST[@]}" -e "DROP DATABASE IF EXISTS $DB"
BACKUP_DB_HOST=$BACKUP_TEST_DST_HOST BACKUP_DB_PORT=$BACKUP_TEST_DST_PORT \
	"$BENCH/backupctl" restore --local "$BASE_ID" -q >/dev/null
"$BENCH/pitrload" fetch -archive "$ARCHIVE" -dir "$BENCH/segs"
T0=$(date +%s.%N)
mariadb-binlog --start-position="$BASE_GTID" --database="$DB" "$BENCH"/segs/*.binlog | "${DST[@]}"
T1=$(date +%s.%N)
STOCK=$(echo "$T1 - $T0" | bc)
[ "$(checksum "${DST[@]}")" = "$WANT" ] || die "the stock replay differs from the source"

SEGS=$(find "$BENCH/segs" -name '*.binlog' | wc -l)
BYTES=$(du -cb "$BENCH"/segs/*.binlog | tail -n1 | cut -f1)
cat <<RESULTS | tee "$BENCH/results-$STAMP.md"
PITR bench $STAMP ($(nproc) cores; archiver --segment-interval $INTERVAL, $WRITERS writers for $DURATION)
- load and lag: $LOAD (seconds from COMMIT to the segment's index entry)
- archiver peak RSS: $((RSS_KB / 1024)) MiB
- replay of $SEGS segments ($((BYTES / 1024 / 1024)) MiB of binlog): backupctl restore --to-latest ${OURS}s (base restore, segment checks and replay), mariadb-binlog | mariadb ${STOCK}s (replay only): $(echo "scale=2; $OURS / $STOCK" | bc)x
RESULTS
"${SRC[@]}" -e "DROP DATABASE $DB"
"${DST[@]}" -e "DROP DATABASE $DB"
