#!/usr/bin/env bash
# Local Kubernetes cluster under .stack/: etcd from Debian; kube-apiserver,
# kube-controller-manager, kube-scheduler and the kubelet built from e2e/kube;
# containerd and runc from Debian as the node's runtime (see scripts/k8s-node.sh).
# Subcommands: build, images, up, down, test.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
MOD="$ROOT/e2e/kube"
BIN="$ROOT/.stack/bin"
K8S="$ROOT/.stack/k8s"
ENVD="$ROOT/.stack/env.d"
PKI="$K8S/pki"
LOGS="$K8S/logs"
RUN="$K8S/run"

# Ports: fixed and unusual so they do not clash with the other local servers.
ETCD_CLIENT_PORT=${K8S_ETCD_PORT:-12379}
ETCD_PEER_PORT=${K8S_ETCD_PEER_PORT:-12380}
APISERVER_PORT=${K8S_APISERVER_PORT:-16443}
KCM_PORT=${K8S_KCM_PORT:-16257}
SCHED_PORT=${K8S_SCHED_PORT:-16259}
KUBELET_PORT=${K8S_KUBELET_PORT:-16250}
NODE_NAME=${K8S_NODE_NAME:-backupctl-node}

LAUNCH=() # see start

CONTROL_PLANE=(kube-apiserver kube-controller-manager kube-scheduler kubectl kubelet)

# shellcheck source=scripts/k8s-node.sh
source "$ROOT/scripts/k8s-node.sh"

log() { printf '[k8s %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

# newer_than TARGET FILE...: true when TARGET exists and is newer than all FILEs.
newer_than() {
	local target=$1; shift
	[[ -e $target ]] || return 1
	local f
	for f in "$@"; do
		[[ $target -nt $f ]] || return 1
	done
}

# kube_ldflags: the version the binaries report (kubectl version, the node's kubeletVersion),
# taken from the k8s.io/kubernetes module that go.mod requires.
kube_ldflags() {
	local v major minor p=k8s.io/component-base/version
	v=$(cd "$MOD" && go list -m -f '{{.Version}}' k8s.io/kubernetes)
	major=${v#v}; major=${major%%.*}
	minor=${v#v"$major".}; minor=${minor%%.*}
	echo "-s -w -X $p.gitVersion=$v -X $p.gitMajor=$major -X $p.gitMinor=$minor -X $p.gitTreeState=clean -X $p.buildDate=1970-01-01T00:00:00Z"
}

cmd_build() {
	mkdir -p "$BIN"
	local stale=() b ldflags
	ldflags=$(kube_ldflags)
	# A change of version (or a binary built before versions were stamped) rebuilds them all.
	local same=1
	[[ $(cat "$BIN/.ldflags" 2>/dev/null) == "$ldflags" ]] || same=0
	for b in "${CONTROL_PLANE[@]}"; do
		((same)) && newer_than "$BIN/$b" "$MOD/go.sum" "$MOD/go.mod" || stale+=("k8s.io/kubernetes/cmd/$b")
	done
	if ((${#stale[@]})); then
		log "building ${stale[*]##*/} from k8s.io/kubernetes (cold: ~10 min on 2 cores; cached afterwards)"
		local t0=$SECONDS
		(cd "$MOD" && CGO_ENABLED=0 nice -n 10 go build -ldflags "$ldflags" -o "$BIN/" "${stale[@]}")
		echo "$ldflags" >"$BIN/.ldflags"
		touch "${CONTROL_PLANE[@]/#/$BIN/}"
		log "kubernetes binaries built in $((SECONDS - t0))s"
	else
		log "kubernetes binaries up to date in $BIN"
	fi
	local srcs
	mapfile -t srcs < <(find "$MOD/cmd" -name '*.go' ! -name '*_test.go')
	for b in ociimage gatewayfwd pause; do
		if ! newer_than "$BIN/$b" "$MOD/go.sum" "$MOD/go.mod" "${srcs[@]}"; then
			log "building $b"
			(cd "$MOD" && CGO_ENABLED=0 go build -ldflags '-s -w' -o "$BIN/$b" "./cmd/$b")
		fi
	done
}

# --- certificates -----------------------------------------------------------

# sign NAME SUBJ [EXT]: a key and a certificate signed by the local CA.
sign() {
	local name=$1 subj=$2 ext=${3:-}
	[[ -s $PKI/$name.crt ]] && return 0
	openssl genrsa -out "$PKI/$name.key" 2048 2>/dev/null
	openssl req -new -key "$PKI/$name.key" -subj "$subj" -out "$PKI/$name.csr" 2>/dev/null
	if [[ -n $ext ]]; then
		printf '%s\n' "$ext" >"$PKI/$name.ext"
		openssl x509 -req -in "$PKI/$name.csr" -CA "$PKI/ca.crt" -CAkey "$PKI/ca.key" -CAcreateserial \
			-days 3650 -extfile "$PKI/$name.ext" -out "$PKI/$name.crt" 2>/dev/null
	else
		openssl x509 -req -in "$PKI/$name.csr" -CA "$PKI/ca.crt" -CAkey "$PKI/ca.key" -CAcreateserial \
			-days 3650 -out "$PKI/$name.crt" 2>/dev/null
	fi
	rm -f "$PKI/$name.csr"
}

gen_pki() {
	mkdir -p "$PKI"
	chmod 700 "$PKI"
	if [[ ! -s $PKI/ca.crt ]]; then
		log "generating certificates in $PKI"
		openssl genrsa -out "$PKI/ca.key" 2048 2>/dev/null
		openssl req -x509 -new -key "$PKI/ca.key" -subj "/CN=backupctl-local-ca" -days 3650 -out "$PKI/ca.crt" 2>/dev/null
	fi
	local client='basicConstraints=CA:FALSE
keyUsage=critical,digitalSignature,keyEncipherment
extendedKeyUsage=clientAuth'
	sign apiserver "/CN=kube-apiserver" 'basicConstraints=CA:FALSE
keyUsage=critical,digitalSignature,keyEncipherment
extendedKeyUsage=serverAuth
subjectAltName=IP:127.0.0.1,IP:10.96.0.1,DNS:localhost,DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc,DNS:kubernetes.default.svc.cluster.local'
	sign admin "/O=system:masters/CN=kubernetes-admin" "$client"
	sign controller-manager "/CN=system:kube-controller-manager" "$client"
	sign scheduler "/CN=system:kube-scheduler" "$client"
	# The kubelet is a node as the Node authorizer knows it: group system:nodes, its node's name.
	sign kubelet "/O=system:nodes/CN=system:node:$NODE_NAME" "$client"
	sign kubelet-serving "/CN=$NODE_NAME" "basicConstraints=CA:FALSE
keyUsage=critical,digitalSignature,keyEncipherment
extendedKeyUsage=serverAuth
subjectAltName=IP:$NODE_IP,DNS:$NODE_NAME"
	sign apiserver-kubelet-client "/O=system:masters/CN=kube-apiserver-kubelet-client" "$client"
	if [[ ! -s $PKI/sa.key ]]; then
		openssl genrsa -out "$PKI/sa.key" 2048 2>/dev/null
		openssl rsa -in "$PKI/sa.key" -pubout -out "$PKI/sa.pub" 2>/dev/null
	fi
	local who
	for who in admin controller-manager scheduler kubelet; do
		write_kubeconfig "$K8S/$who.kubeconfig" "$who"
	done
}

write_kubeconfig() {
	local file=$1 who=$2
	cat >"$file" <<KC
apiVersion: v1
kind: Config
clusters:
- name: local
  cluster:
    server: https://127.0.0.1:$APISERVER_PORT
    certificate-authority: $PKI/ca.crt
users:
- name: $who
  user:
    client-certificate: $PKI/$who.crt
    client-key: $PKI/$who.key
contexts:
- name: local
  context:
    cluster: local
    user: $who
current-context: local
KC
}

# --- processes -------------------------------------------------------------

# alive NAME: the pid file names a live process running our binary.
alive() {
	local pidf=$RUN/$1.pid pid
	[[ -s $pidf ]] || return 1
	pid=$(<"$pidf")
	[[ -d /proc/$pid ]] || return 1
	# Guard against pid reuse: the process must be the binary we started.
	tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -q -- "$(binary_of "$1")"
}

binary_of() {
	case $1 in
	etcd) echo /usr/bin/etcd ;;
	containerd) echo /usr/bin/containerd ;;
	*) echo "$BIN/$1" ;;
	esac
}

# start NAME ARGS...: start binary NAME in its own session, logging to
# $LOGS/NAME.log, unless it already runs.
start() {
	local name=$1; shift
	if alive "$name"; then
		log "$name already running (pid $(<"$RUN/$name.pid"))"
		return 0
	fi
	log "starting $name (log: $LOGS/$name.log)"
	# LAUNCH: an optional command that execs the binary (into the node's mount namespace).
	setsid ${LAUNCH[@]+"${LAUNCH[@]}"} "$(binary_of "$name")" "$@" >>"$LOGS/$name.log" 2>&1 </dev/null &
	echo $! >"$RUN/$name.pid"
}

# wait_for WHAT SECONDS CMD...: retry CMD until it succeeds.
wait_for() {
	local what=$1 secs=$2; shift 2
	local deadline=$((SECONDS + secs))
	until "$@" >/dev/null 2>&1; do
		if ((SECONDS >= deadline)); then
			die "timed out after ${secs}s waiting for $what (logs in $LOGS)"
		fi
		sleep 1
	done
}

kubectl_admin() { "$BIN/kubectl" --kubeconfig "$K8S/admin.kubeconfig" --request-timeout=10s "$@"; }

apiserver_ready() { [[ $(kubectl_admin get --raw /readyz 2>/dev/null) == ok ]]; }

node_ready() {
	local out
	out=$(kubectl_admin get node "$NODE_NAME" -o jsonpath='{.status.conditions[?(@.type=="Ready")].status} {.spec.taints}') || return 1
	[[ $out == "True " ]] || return 1
	# The kubelet itself must answer, with the client certificate the API
	# server uses for logs (the Node object may be left from an earlier run).
	[[ $(curl -fsS --max-time 5 --cacert "$PKI/ca.crt" --cert "$PKI/apiserver-kubelet-client.crt" --key "$PKI/apiserver-kubelet-client.key" \
		"https://$NODE_IP:$KUBELET_PORT/healthz" 2>/dev/null) == ok ]]
}

default_sa() { kubectl_admin -n default get serviceaccount default; }

# oidc_discovery: the API server is an OpenID Connect issuer (https://127.0.0.1:PORT, the first
# --service-account-issuer, which signs new tokens); its discovery document and keys are readable
# without credentials, so that MinIO's STS can check a pod's projected service-account token.
oidc_discovery() {
	"$BIN/kubectl" --kubeconfig "$K8S/admin.kubeconfig" create clusterrolebinding backupctl-oidc-discovery \
		--clusterrole system:service-account-issuer-discovery --group system:unauthenticated \
		--dry-run=client -o yaml | "$BIN/kubectl" --kubeconfig "$K8S/admin.kubeconfig" apply -f - >/dev/null
}

write_env() {
	mkdir -p "$ENVD"
	cat >"$ENVD/k8s.env" <<ENV
# Written by scripts/k8s.sh: the local Kubernetes cluster (control plane, kubelet, containerd).
export KUBECONFIG=$K8S/admin.kubeconfig
export BACKUP_K8S_NODE=$NODE_NAME
export BACKUP_K8S_KUBECTL=$BIN/kubectl
export BACKUP_K8S_DUMPER_IMAGE=$DUMPER_IMAGE
export BACKUP_K8S_TEST_IMAGE=$SHELL_IMAGE
export BACKUP_K8S_MISSING_IMAGE=$REGISTRY/none:1
# Where pods reach MariaDB (both servers, each on its own port) and MinIO: the pod bridge's gateway.
export BACKUP_K8S_POD_DB_HOST=$GATEWAY
export BACKUP_K8S_POD_S3_ENDPOINT=http://$GATEWAY:$(s3_port)
# ... and the TLS MinIO (its certificate names the gateway too) and the Pushgateway.
export BACKUP_K8S_POD_S3_TLS_ENDPOINT=https://$GATEWAY:$(core_env BACKUP_TEST_MINIO_TLS_PORT)
export BACKUP_K8S_POD_PUSHGATEWAY=http://$GATEWAY:$(core_env BACKUP_TEST_PUSHGATEWAY_PORT)
# The node's logs (kubelet, containerd) and the kubelet's cgroup root, for tests that look inside.
export BACKUP_K8S_NODE_LOGS=$LOGS
export BACKUP_K8S_NODE_CGROUP=$CGROUP_ROOT
export BACKUP_K8S_OIDC_ISSUER=https://127.0.0.1:$APISERVER_PORT
export BACKUP_K8S_CA=$PKI/ca.crt
ENV
	regen_env
}

# regen_env: .stack/env is the concatenation of .stack/env.d/*.env.
regen_env() {
	local tmp=$ROOT/.stack/env.tmp.$$
	shopt -s nullglob
	local files=("$ENVD"/*.env)
	shopt -u nullglob
	if ((${#files[@]})); then cat "${files[@]}" >"$tmp"; else : >"$tmp"; fi
	mv "$tmp" "$ROOT/.stack/env"
}

cmd_up() {
	command -v etcd >/dev/null || die "etcd not found: apt-get install etcd-server"
	command -v openssl >/dev/null || die "openssl not found: apt-get install openssl"
	mkdir -p "$K8S" "$LOGS" "$RUN"
	if alive kube-apiserver && alive containerd && alive kubelet && alive gatewayfwd && apiserver_ready && node_ready; then
		log "already running: apiserver https://127.0.0.1:$APISERVER_PORT, node $NODE_NAME"
		write_env
		return 0
	fi
	gen_pki

	start etcd --name backupctl-k8s --data-dir "$K8S/etcd" \
		--listen-client-urls "http://127.0.0.1:$ETCD_CLIENT_PORT" \
		--advertise-client-urls "http://127.0.0.1:$ETCD_CLIENT_PORT" \
		--listen-peer-urls "http://127.0.0.1:$ETCD_PEER_PORT" \
		--initial-advertise-peer-urls "http://127.0.0.1:$ETCD_PEER_PORT" \
		--initial-cluster "backupctl-k8s=http://127.0.0.1:$ETCD_PEER_PORT" \
		--log-level warn
	wait_for etcd 60 curl -fsS "http://127.0.0.1:$ETCD_CLIENT_PORT/health"

	start kube-apiserver \
		--etcd-servers "http://127.0.0.1:$ETCD_CLIENT_PORT" \
		--bind-address 127.0.0.1 --advertise-address 127.0.0.1 --secure-port "$APISERVER_PORT" \
		--endpoint-reconciler-type none \
		--authorization-mode Node,RBAC --enable-admission-plugins NodeRestriction \
		--client-ca-file "$PKI/ca.crt" \
		--tls-cert-file "$PKI/apiserver.crt" --tls-private-key-file "$PKI/apiserver.key" \
		--service-account-key-file "$PKI/sa.pub" --service-account-signing-key-file "$PKI/sa.key" \
		--service-account-issuer "https://127.0.0.1:$APISERVER_PORT" \
		--service-account-issuer https://kubernetes.default.svc.cluster.local \
		--service-cluster-ip-range 10.96.0.0/16 \
		--kubelet-client-certificate "$PKI/apiserver-kubelet-client.crt" \
		--kubelet-client-key "$PKI/apiserver-kubelet-client.key" \
		--kubelet-preferred-address-types InternalIP \
		--allow-privileged=true --profiling=false --v=1
	wait_for "kube-apiserver /readyz" 120 apiserver_ready

	start kube-controller-manager \
		--kubeconfig "$K8S/controller-manager.kubeconfig" \
		--authentication-kubeconfig "$K8S/controller-manager.kubeconfig" \
		--authorization-kubeconfig "$K8S/controller-manager.kubeconfig" \
		--bind-address 127.0.0.1 --secure-port "$KCM_PORT" \
		--controllers job-controller,cronjob-controller,deployment-controller,replicaset-controller,ttl-after-finished-controller,garbage-collector-controller,node-lifecycle-controller,pod-garbage-collector-controller,namespace-controller,serviceaccount-controller,serviceaccount-token-controller,root-ca-certificate-publisher-controller \
		--use-service-account-credentials \
		--service-account-private-key-file "$PKI/sa.key" --root-ca-file "$PKI/ca.crt" \
		--leader-elect=false --profiling=false --v=1

	start kube-scheduler \
		--kubeconfig "$K8S/scheduler.kubeconfig" \
		--authentication-kubeconfig "$K8S/scheduler.kubeconfig" \
		--authorization-kubeconfig "$K8S/scheduler.kubeconfig" \
		--bind-address 127.0.0.1 --secure-port "$SCHED_PORT" \
		--leader-elect=false --profiling=false --v=1

	node_up
	wait_for "node $NODE_NAME Ready" 60 node_ready
	wait_for "default service account (controller-manager)" 90 default_sa
	oidc_discovery
	write_env
	log "up: KUBECONFIG=$K8S/admin.kubeconfig (source .stack/env)"
}

# stop NAME: stop the process its pid file names (TERM, then KILL after 15s).
stop() {
	local name=$1 pid i
	if alive "$name"; then
		pid=$(<"$RUN/$name.pid")
		log "stopping $name (pid $pid)"
		kill -TERM "$pid" 2>/dev/null || true
		for ((i = 0; i < 150; i++)); do
			[[ -d /proc/$pid ]] || break
			sleep 0.1
		done
		if [[ -d /proc/$pid ]]; then
			log "$name did not stop in 15s, killing it"
			kill -KILL "$pid" 2>/dev/null || true
		fi
	fi
	rm -f "$RUN/$name.pid"
}

cmd_down() {
	local name
	node_down
	for name in kube-scheduler kube-controller-manager kube-apiserver etcd; do
		stop "$name"
	done
	if [[ -e $ENVD/k8s.env ]]; then
		rm -f "$ENVD/k8s.env"
		regen_env
	fi
	log "down"
}

cmd_test() {
	[[ -s $ROOT/.stack/env ]] || die ".stack/env missing: run scripts/k8s.sh up (make up) first"
	set -a
	# shellcheck disable=SC1091
	source "$ROOT/.stack/env"
	set +a
	cd "$MOD"
	go test -count=1 -timeout 20m ./... "$@"
}

main() {
	local sub=${1:-}
	case $sub in
	build) cmd_build ;;
	images) cmd_images ;;
	node-ns) shift; node_ns "$@" ;;
	up) cmd_build; cmd_up ;;
	down) cmd_down ;;
	test) shift; cmd_test "$@" ;;
	*) echo "usage: $0 build|images|up|down|test" >&2; exit 2 ;;
	esac
}

main "$@"
