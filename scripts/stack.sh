#!/usr/bin/env bash
# Starts and stops the local MariaDB servers and MinIO that the tests and the demo use.
# Everything lives under .stack/ (git-ignored); processes are stopped by the pid we recorded.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
STACK=$ROOT/.stack
MINIO_VERSION=v0.0.0-20260212201848-7aac2a2c5b7c
SRC_PORT=${BACKUP_TEST_SRC_PORT:-13306}
DST_PORT=${BACKUP_TEST_DST_PORT:-13307}
MINIO_PORT=${BACKUP_TEST_MINIO_PORT:-19000}
DB_USER=backupctl
DB_PASSWORD=backupctl-db-pw
MINIO_USER=backupctl-minio
MINIO_PASSWORD=backupctl-minio-pw
BUCKET=backups
PUSHGATEWAY_VERSION=v1.11.0
PUSHGATEWAY_PORT=${BACKUP_TEST_PUSHGATEWAY_PORT:-19091}

log() { printf '[stack] %s\n' "$*" >&2; }

alive() { [ -f "$1" ] && kill -0 "$(cat "$1")" 2>/dev/null; }

minio_bin() {
	local gobin
	gobin=$(go env GOPATH)/bin
	if [ ! -x "$gobin/minio" ]; then
		log "building MinIO $MINIO_VERSION with go install (about 5 minutes, once)"
		(cd /tmp && GOFLAGS= go install "github.com/minio/minio@$MINIO_VERSION")
	fi
	echo "$gobin/minio"
}

# The servers are started by the Go code that starts the tests' private ones, with the same
# settings (internal/testenv: MariaDBServer, MinIOServer); see internal/testenv/stackup.
stackup() { (cd "$ROOT" && go run ./internal/testenv/stackup "$@"); }

# mariadb_up NAME PORT
mariadb_up() { stackup mariadb "$STACK/$1" "$2" "$DB_USER" "$DB_PASSWORD"; }

minio_up() {
	stackup minio "$STACK/minio" "$MINIO_PORT" "$MINIO_USER" "$MINIO_PASSWORD" "$(minio_bin)"
	# Create the bucket (200 when new, 409 when it exists already).
	local code
	code=$(curl -s -o /dev/null -w '%{http_code}' -X PUT --aws-sigv4 "aws:amz:us-east-1:s3" \
		--user "$MINIO_USER:$MINIO_PASSWORD" "http://127.0.0.1:$MINIO_PORT/$BUCKET")
	case $code in 200 | 409) ;; *) log "creating bucket $BUCKET failed: HTTP $code"; exit 1 ;; esac
}

# pushgateway_bin builds the Pushgateway once, in a module of its own (`go install ...@version`
# fails here: the proxy refuses the module's version list).
pushgateway_bin() {
	local bin tmp
	bin=$(go env GOPATH)/bin/pushgateway-$PUSHGATEWAY_VERSION
	if [ ! -x "$bin" ]; then
		log "building the Pushgateway $PUSHGATEWAY_VERSION (about 10 s, once)"
		tmp=$(mktemp -d)
		(cd "$tmp" && go mod init pushgateway-build >/dev/null 2>&1 &&
			GOFLAGS= go get "github.com/prometheus/pushgateway@$PUSHGATEWAY_VERSION" &&
			GOFLAGS= go build -o "$bin" github.com/prometheus/pushgateway)
		rm -rf "$tmp"
	fi
	echo "$bin"
}

# pushgateway_up starts the Pushgateway (state under .stack/pushgateway) unless it runs already,
# and writes its address to .stack/env.
pushgateway_up() {
	local dir=$STACK/pushgateway bin
	bin=$(pushgateway_bin)
	mkdir -p "$dir"
	if ! alive "$dir/pid"; then
		setsid "$bin" --web.listen-address="127.0.0.1:$PUSHGATEWAY_PORT" >"$dir/log" 2>&1 </dev/null &
		echo $! >"$dir/pid"
		for _ in $(seq 1 100); do
			curl -sf "http://127.0.0.1:$PUSHGATEWAY_PORT/-/ready" >/dev/null && break
			alive "$dir/pid" || { log "the Pushgateway did not start: see $dir/log"; exit 1; }
			sleep 0.1
		done
	fi
	mkdir -p "$STACK/env.d"
	cat >"$STACK/env.d/20-pushgateway.env" <<ENV
# Written by scripts/stack.sh: the Pushgateway the metrics tests push to.
export BACKUP_TEST_PUSHGATEWAY=http://127.0.0.1:$PUSHGATEWAY_PORT
export BACKUP_TEST_PUSHGATEWAY_PID_FILE=$dir/pid
ENV
	regen_env
}

pushgateway_down() {
	stop_pid pushgateway "$STACK/pushgateway/pid"
	rm -f "$STACK/env.d/20-pushgateway.env"
	regen_env
}

write_env() {
	mkdir -p "$STACK/env.d"
	cat >"$STACK/env.d/10-core.env" <<ENV
# Written by scripts/stack.sh: the local servers for tests and the demo.
export BACKUP_DB_HOST=127.0.0.1
export BACKUP_DB_PORT=$SRC_PORT
export BACKUP_TEST_SRC_SOCKET=$STACK/mariadb-src/sock
export BACKUP_DB_USER=$DB_USER
export BACKUP_DB_PASSWORD=$DB_PASSWORD
export BACKUP_TEST_DST_HOST=127.0.0.1
export BACKUP_TEST_DST_PORT=$DST_PORT
export BACKUP_TEST_DST_SOCKET=$STACK/mariadb-dst/sock
export BACKUP_TEST_ROOT_SOCKET=$STACK/mariadb-src/sock
export BACKUP_S3_ENDPOINT=http://127.0.0.1:$MINIO_PORT
export BACKUP_S3_BUCKET=$BUCKET
export BACKUP_S3_REGION=us-east-1
export AWS_ACCESS_KEY_ID=$MINIO_USER
export AWS_SECRET_ACCESS_KEY=$MINIO_PASSWORD
export BACKUP_TEST_MINIO_PID_FILE=$STACK/minio/pid
export BACKUP_TEST_MINIO_DATA=$STACK/minio/data
export BACKUP_TEST_DATASETS=$(cd "$ROOT/.." && pwd)/shared/datasets
ENV
	regen_env
}

regen_env() {
	cat "$STACK"/env.d/*.env >"$STACK/env" 2>/dev/null || : >"$STACK/env"
}

stop_pid() {
	local name=$1 pidfile=$2 pid
	if alive "$pidfile"; then
		pid=$(cat "$pidfile")
		log "stopping $name (pid $pid)"
		kill "$pid" 2>/dev/null || true
		for _ in $(seq 1 60); do kill -0 "$pid" 2>/dev/null || break; sleep 0.5; done
		kill -9 "$pid" 2>/dev/null || true
	fi
	rm -f "$pidfile"
}

case ${1:-} in
up)
	scripts/packages.sh stack
	mkdir -p "$STACK"
	mariadb_up mariadb-src "$SRC_PORT"
	mariadb_up mariadb-dst "$DST_PORT"
	minio_up
	write_env
	pushgateway_up
	log "ready: source MariaDB :$SRC_PORT, restore target :$DST_PORT, MinIO :$MINIO_PORT; source .stack/env"
	;;
down)
	stop_pid mariadb-src "$STACK/mariadb-src/pid"
	stop_pid mariadb-dst "$STACK/mariadb-dst/pid"
	stop_pid minio "$STACK/minio/pid"
	rm -f "$STACK/env.d/10-core.env"
	regen_env
	pushgateway_down
	;;
minio-bin) minio_bin ;;
pushgateway-up) pushgateway_up ;;
pushgateway-down) pushgateway_down ;;
*)
	echo "usage: $0 up|down|pushgateway-up|pushgateway-down" >&2
	exit 2
	;;
esac
