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
# Tests never reach the link-local instance metadata address: a closed loopback port instead.
export BACKUP_S3_METADATA_ENDPOINT=http://127.0.0.1:1
# The ports of the TLS MinIO and the Pushgateway, which the local node forwards to its pods too.
export BACKUP_TEST_MINIO_TLS_PORT=$MINIO_TLS_PORT
export BACKUP_TEST_PUSHGATEWAY_PORT=$PUSHGATEWAY_PORT
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

# The second MinIO, for cloud storage tests: TLS with a CA of the stack's own (.stack/ca), the
# built-in single-key KMS (SSE-S3, SSE-KMS), a bucket with object lock, and the local API server
# as its OpenID Connect provider for AssumeRoleWithWebIdentity (when k8s.sh has started it).
MINIO_TLS_PORT=${BACKUP_TEST_MINIO_TLS_PORT:-19443}
MINIO_TLS=$STACK/minio-tls
LOCK_BUCKET=backups-locked
KMS_KEY=backupctl-kms
OIDC_AUDIENCE=backupctl-minio
OIDC_DENIED_AUDIENCE=backupctl-minio-denied

stack_ca() {
	local ca=$STACK/ca
	[ -f "$ca/ca.crt" ] && return
	mkdir -p "$ca"
	openssl req -x509 -newkey rsa:2048 -nodes -days 3650 -subj "/CN=backupctl stack CA" \
		-keyout "$ca/ca.key" -out "$ca/ca.crt" 2>/dev/null
}

# minio_tls_certs: the server certificate is valid for 127.0.0.1 and, once scripts/k8s.sh has
# started the local node, for the pod bridge's gateway where pods reach this MinIO (made again
# when the gateway changed).
minio_tls_certs() {
	local certs=$MINIO_TLS/certs san='IP:127.0.0.1,DNS:localhost' pod
	mkdir -p "$certs/CAs"
	cp "$STACK/ca/ca.crt" "$certs/CAs/stack-ca.crt"
	[ -f "$STACK/k8s/pki/ca.crt" ] && cp "$STACK/k8s/pki/ca.crt" "$certs/CAs/k8s-ca.crt"
	if [ -f "$STACK/env.d/k8s.env" ]; then
		pod=$(sed -n 's/^export BACKUP_K8S_POD_S3_TLS_ENDPOINT=https:\/\/\([^:]*\):.*/\1/p' "$STACK/env.d/k8s.env")
		[ -n "$pod" ] && san+=",IP:$pod"
	fi
	[ -f "$certs/public.crt" ] && openssl x509 -in "$certs/public.crt" -noout -ext subjectAltName 2>/dev/null |
		tr -d ' ' | grep -qx "${san//IP:/IPAddress:}" && return
	openssl req -newkey rsa:2048 -nodes -subj "/CN=127.0.0.1" -keyout "$certs/private.key" -out "$certs/server.csr" 2>/dev/null
	openssl x509 -req -in "$certs/server.csr" -CA "$STACK/ca/ca.crt" -CAkey "$STACK/ca/ca.key" -CAcreateserial \
		-days 825 -out "$certs/public.crt" \
		-extfile <(printf 'subjectAltName=%s\nextendedKeyUsage=serverAuth\n' "$san") 2>/dev/null
	rm -f "$certs/server.csr"
}

# role_arn AUDIENCE: the role ARN MinIO derives for an OpenID provider with a role policy
# (arn:minio:iam:REGION::role/ and the base64url SHA-1 of the client id).
role_arn() {
	printf 'arn:minio:iam:us-east-1::role/%s' \
		"$(printf '%s' "$1" | openssl sha1 -binary | base64 | tr '+/' '-_' | tr -d '=')"
}

# minio_tls_admin METHOD PATH [CURL-ARGS...]: a request signed with the root user; prints the HTTP code.
minio_tls_admin() {
	local method=$1 path=$2
	shift 2
	curl -s -o /dev/null -w '%{http_code}' -X "$method" --cacert "$STACK/ca/ca.crt" \
		--aws-sigv4 "aws:amz:us-east-1:s3" --user "$MINIO_USER:$MINIO_PASSWORD" "$@" \
		"https://127.0.0.1:$MINIO_TLS_PORT$path"
}

minio_tls_up() {
	mkdir -p "$MINIO_TLS"
	stack_ca
	minio_tls_certs
	[ -f "$MINIO_TLS/kms.key" ] || printf '%s:%s' "$KMS_KEY" "$(openssl rand -base64 32)" >"$MINIO_TLS/kms.key"
	local settings=(MINIO_SITE_REGION=us-east-1 "MINIO_KMS_SECRET_KEY=$(cat "$MINIO_TLS/kms.key")")
	local issuer=${BACKUP_K8S_OIDC_ISSUER:-}
	if [ -z "$issuer" ] && [ -f "$STACK/env.d/k8s.env" ]; then
		issuer=$(sed -n 's/^export BACKUP_K8S_OIDC_ISSUER=//p' "$STACK/env.d/k8s.env")
	fi
	if [ -n "$issuer" ]; then
		# Two providers on the same issuer, told apart by the token's audience: one whose role
		# may use the buckets, one whose role may use nothing (for the access-denied tests).
		settings+=("MINIO_IDENTITY_OPENID_CONFIG_URL=$issuer/.well-known/openid-configuration"
			"MINIO_IDENTITY_OPENID_CLIENT_ID=$OIDC_AUDIENCE"
			"MINIO_IDENTITY_OPENID_ROLE_POLICY=backupctl-backups"
			"MINIO_IDENTITY_OPENID_CONFIG_URL_DENIED=$issuer/.well-known/openid-configuration"
			"MINIO_IDENTITY_OPENID_CLIENT_ID_DENIED=$OIDC_DENIED_AUDIENCE"
			"MINIO_IDENTITY_OPENID_ROLE_POLICY_DENIED=backupctl-nothing")
	else
		log "no Kubernetes OpenID issuer (run scripts/k8s.sh up first): minio-tls starts without web identity"
	fi
	stackup minio "$MINIO_TLS" "$MINIO_TLS_PORT" "$MINIO_USER" "$MINIO_PASSWORD" "$(minio_bin)" "$MINIO_TLS/certs" "${settings[@]}"
	local code b
	for b in "$LOCK_BUCKET" "$BUCKET"; do
		local lock=()
		[ "$b" = "$LOCK_BUCKET" ] && lock=(-H "x-amz-bucket-object-lock-enabled: true")
		code=$(minio_tls_admin PUT "/$b" "${lock[@]}")
		case $code in 200 | 409) ;; *) log "creating bucket $b on minio-tls failed: HTTP $code"; exit 1 ;; esac
	done
	minio_tls_policy backupctl-backups \
		'{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["s3:*"],"Resource":["arn:aws:s3:::'"$LOCK_BUCKET"'","arn:aws:s3:::'"$LOCK_BUCKET"'/*","arn:aws:s3:::'"$BUCKET"'","arn:aws:s3:::'"$BUCKET"'/*"]}]}'
	minio_tls_policy backupctl-nothing \
		'{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["s3:GetObject"],"Resource":["arn:aws:s3:::no-such-bucket/*"]}]}'
	write_tls_env
	log "ready: minio-tls https://127.0.0.1:$MINIO_TLS_PORT (buckets $BUCKET, $LOCK_BUCKET with object lock)"
}

minio_tls_policy() {
	local code sum
	# The admin API wants the body's SHA-256 signed, which curl does not add by itself.
	sum=$(printf '%s' "$2" | sha256sum | cut -d' ' -f1)
	code=$(minio_tls_admin PUT "/minio/admin/v3/add-canned-policy?name=$1" -H "x-amz-content-sha256: $sum" --data-binary "$2")
	[ "$code" = 200 ] || { log "creating policy $1 on minio-tls failed: HTTP $code"; exit 1; }
}

write_tls_env() {
	mkdir -p "$STACK/env.d"
	local STACK
	STACK=$(cd "$ROOT/.stack" && pwd -P) # the real directory, whichever worktree ran this
	cat >"$STACK/env.d/20-minio-tls.env" <<ENV
# Written by scripts/stack.sh minio-tls-up: the MinIO with TLS, KMS, object lock and web identity.
export BACKUP_TEST_MINIO_TLS_ENDPOINT=https://127.0.0.1:$MINIO_TLS_PORT
export BACKUP_TEST_MINIO_TLS_CA=$STACK/ca/ca.crt
export BACKUP_TEST_MINIO_TLS_USER=$MINIO_USER
export BACKUP_TEST_MINIO_TLS_PASSWORD=$MINIO_PASSWORD
export BACKUP_TEST_MINIO_TLS_BUCKET=$BUCKET
export BACKUP_TEST_MINIO_TLS_LOCK_BUCKET=$LOCK_BUCKET
export BACKUP_TEST_MINIO_TLS_KMS_KEY=$KMS_KEY
export BACKUP_TEST_MINIO_TLS_AUDIENCE=$OIDC_AUDIENCE
export BACKUP_TEST_MINIO_TLS_ROLE_ARN=$(role_arn "$OIDC_AUDIENCE")
export BACKUP_TEST_MINIO_TLS_DENIED_AUDIENCE=$OIDC_DENIED_AUDIENCE
export BACKUP_TEST_MINIO_TLS_DENIED_ROLE_ARN=$(role_arn "$OIDC_DENIED_AUDIENCE")
export BACKUP_TEST_MINIO_TLS_PID_FILE=$STACK/minio-tls/pid
export BACKUP_S3_METADATA_ENDPOINT=http://127.0.0.1:1
ENV
	regen_env
}

minio_tls_down() {
	stop_pid minio-tls "$MINIO_TLS/pid"
	rm -f "$STACK/env.d/20-minio-tls.env"
	regen_env
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
	minio_tls_down
	pushgateway_down
	;;
minio-bin) minio_bin ;;
minio-tls-up) minio_tls_up ;;
minio-tls-down) minio_tls_down ;;
pushgateway-up) pushgateway_up ;;
pushgateway-down) pushgateway_down ;;
*)
	echo "usage: $0 up|down|minio-tls-up|minio-tls-down|pushgateway-up|pushgateway-down|minio-bin" >&2
	exit 2
	;;
esac
