# shellcheck shell=bash
# The local node, sourced by scripts/k8s.sh: containerd and runc (Debian packages) and the
# kubelet (built from e2e/kube), with the pods on a bridge of their own. Everything they keep
# lives under .stack/k8s/node; what a node must create on the host (the bridge, the pods'
# cgroups and network namespaces) is removed by `down`.
#
# This machine is a VM with cgroup v1, no systemd, and without CAP_SYS_RESOURCE:
# - containerd and the kubelet share a mount namespace of their own (unshare -m, private
#   propagation). In it /run, /var/log and /var/lib are directories under .stack/k8s/node (the
#   runtime's sockets, netns files, CNI cache and container log links land there), and the few
#   sysctl files the kubelet checks (protectKernelDefaults) or the bridge plugin writes
#   (ip_forward) are bind-mounted copies: the host's kernel settings never change.
# - containerd's CRI restricts oom_score_adj (runc fails without CAP_SYS_RESOURCE otherwise).
# - The pods' network is a bridge with host-local addresses and no routes beyond the subnet;
#   gatewayfwd makes MariaDB, both MinIOs and the Pushgateway (on loopback) reachable at the
#   bridge's gateway address.

NODE_DIR=$K8S/node
POD_SUBNET=${K8S_POD_SUBNET:-10.213.0.0/24}
GATEWAY=${POD_SUBNET%.*}.1
BRIDGE=${K8S_BRIDGE:-bkctl0}
# A registry name on loopback where nothing listens: an image that was not imported fails to
# pull here and never leaves the machine.
REGISTRY=127.0.0.1:5999
DUMPER_IMAGE=$REGISTRY/backupctl/dumper:dev
PAUSE_IMAGE=$REGISTRY/backupctl/pause:dev
SHELL_IMAGE=$REGISTRY/backupctl/testshell:dev
CONTAINERD_SOCK=$RUN/containerd.sock
CGROUP_ROOT=/backupctl-node-$KUBELET_PORT
# The sysctls the kubelet checks under protectKernelDefaults, and ip_forward, which the bridge
# plugin sets for a gateway: copies with these values stand in for them in the node's namespace.
NODE_SYSCTLS=(vm/overcommit_memory=1 vm/panic_on_oom=0 kernel/panic=10 kernel/panic_on_oops=1
	kernel/keys/root_maxkeys=1000000 kernel/keys/root_maxbytes=25000000 net/ipv4/ip_forward=1)

# node_ip: the machine's own address (the default route's interface), never loopback: the
# kubelet refuses a loopback node IP and the API server reaches the kubelet there.
node_ip() {
	local dev
	dev=$(ip -4 route show default 2>/dev/null | awk '{for (i = 1; i < NF; i++) if ($i == "dev") { print $(i + 1); exit }}')
	[[ -n $dev ]] && ip -4 -o addr show dev "$dev" scope global | awk '{sub(/\/.*/, "", $4); print $4; exit}'
}
NODE_IP=${K8S_NODE_IP:-$(node_ip)}

# node_ns CMD...: inside a fresh mount namespace (unshare -m), put the node's directories and
# sysctl copies in place, then exec CMD. scripts/k8s.sh runs it as `node-ns`.
node_ns() {
	local kv f
	mkdir -p "$NODE_DIR/sysctl" "$NODE_DIR/run" "$NODE_DIR/log" "$NODE_DIR/lib"
	for kv in "${NODE_SYSCTLS[@]}"; do
		f=${kv%%=*}
		f=$NODE_DIR/sysctl/${f//\//.}
		echo "${kv#*=}" >"$f"
		mount --bind "$f" "/proc/sys/${kv%%=*}"
	done
	mount --bind "$NODE_DIR/run" /run
	mount --bind "$NODE_DIR/log" /var/log
	mount --bind "$NODE_DIR/lib" /var/lib
	exec "$@"
}

# node_ctr ARGS...: ctr in the node's namespace, on its containerd, in the CRI's namespace.
node_ctr() {
	nsenter -t "$(<"$RUN/containerd.pid")" -m -- ctr --address "$CONTAINERD_SOCK" -n k8s.io "$@"
}

# core_env VAR: a value from the env of scripts/stack.sh (MariaDB and MinIO ports).
core_env() {
	local f=$ROOT/.stack/env.d/10-core.env
	[[ -s $f ]] || die "$f missing: run scripts/stack.sh up (make up) first"
	(set +u; source "$f"; echo "${!1}")
}
s3_port() { local e; e=$(core_env BACKUP_S3_ENDPOINT); echo "${e##*:}"; }
# pod_ports: the loopback ports gatewayfwd forwards from the gateway: both MariaDB servers, both
# MinIOs, the Pushgateway, and K8S_POD_FORWARD_PORTS.
pod_ports() {
	echo "$(core_env BACKUP_DB_PORT) $(core_env BACKUP_TEST_DST_PORT) $(s3_port)" \
		"$(core_env BACKUP_TEST_MINIO_TLS_PORT) $(core_env BACKUP_TEST_PUSHGATEWAY_PORT) ${K8S_POD_FORWARD_PORTS:-}"
}

node_configs() {
	mkdir -p "$NODE_DIR/cni/net.d" "$NODE_DIR/cni/ipam" "$NODE_DIR/pod-logs" "$NODE_DIR/kubelet" "$NODE_DIR/volume-plugins"
	cat >"$NODE_DIR/containerd.toml" <<TOML
version = 2
root = "$NODE_DIR/containerd/root"
state = "$NODE_DIR/containerd/state"
# Plugins that would touch the host (/opt) or that this machine lacks.
disabled_plugins = ["io.containerd.internal.v1.opt", "io.containerd.snapshotter.v1.aufs", "io.containerd.snapshotter.v1.btrfs",
  "io.containerd.snapshotter.v1.zfs", "io.containerd.snapshotter.v1.devmapper", "io.containerd.tracing.processor.v1.otlp"]
[grpc]
  address = "$CONTAINERD_SOCK"
[ttrpc]
  address = "$CONTAINERD_SOCK.ttrpc"
[metrics]
  address = ""
[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = "$PAUSE_IMAGE"
  restrict_oom_score_adj = true
  disable_apparmor = true
  stream_server_address = "127.0.0.1"
  stream_server_port = "0"
  [plugins."io.containerd.grpc.v1.cri".containerd]
    snapshotter = "overlayfs"
    default_runtime_name = "runc"
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
        SystemdCgroup = false
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = "/usr/lib/cni"
    conf_dir = "$NODE_DIR/cni/net.d"
    max_conf_num = 1
TOML
	cat >"$NODE_DIR/cni/net.d/10-backupctl.conflist" <<JSON
{
  "cniVersion": "1.0.0",
  "name": "backupctl",
  "plugins": [{
    "type": "bridge", "bridge": "$BRIDGE", "isGateway": true, "ipMasq": false, "hairpinMode": false,
    "ipam": {"type": "host-local", "ranges": [[{"subnet": "$POD_SUBNET", "gateway": "$GATEWAY"}]], "dataDir": "$NODE_DIR/cni/ipam"}
  }]
}
JSON
	cat >"$NODE_DIR/kubelet.yaml" <<YAML
apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
address: $NODE_IP
port: $KUBELET_PORT
readOnlyPort: 0
healthzPort: 0
tlsCertFile: $PKI/kubelet-serving.crt
tlsPrivateKeyFile: $PKI/kubelet-serving.key
authentication:
  anonymous: {enabled: false}
  webhook: {enabled: false}
  x509: {clientCAFile: $PKI/ca.crt}
authorization: {mode: AlwaysAllow}
containerRuntimeEndpoint: unix://$CONTAINERD_SOCK
imageServiceEndpoint: unix://$CONTAINERD_SOCK
# cgroup v1 without systemd: the kubelet 1.35+ refuses v1 unless told.
failCgroupV1: false
cgroupDriver: cgroupfs
cgroupRoot: $CGROUP_ROOT
failSwapOn: false
# Check the kernel settings instead of changing them (they are copies in the node's namespace).
protectKernelDefaults: true
makeIPTablesUtilChains: false
hairpinMode: none
podLogsDir: $NODE_DIR/pod-logs
volumePluginDir: $NODE_DIR/volume-plugins
resolvConf: ""
serializeImagePulls: false
# The images are imported, never pulled again: never collect them; evict only when really full
# (a fixed size: 1% of a large shared disk is gigabytes), and say so again soon after.
imageGCHighThresholdPercent: 100
imageGCLowThresholdPercent: 99
evictionHard: {memory.available: "100Mi", nodefs.available: "500Mi", imagefs.available: "500Mi", nodefs.inodesFree: "1%"}
evictionPressureTransitionPeriod: 30s
YAML
}

# bridge_up: the pods' bridge with the gateway address, made before the first pod so that
# gatewayfwd can listen there at once (the bridge plugin finds it ready).
bridge_up() {
	ip link show "$BRIDGE" >/dev/null 2>&1 || ip link add name "$BRIDGE" type bridge
	ip addr replace "$GATEWAY/${POD_SUBNET#*/}" dev "$BRIDGE"
	ip link set "$BRIDGE" up
}

# cgroups_up: the kubelet's cgroup root must exist in every hierarchy (cpuset with the root's
# CPUs and memory nodes, which a new v1 cpuset cgroup does not inherit).
cgroups_up() {
	local d
	for d in /sys/fs/cgroup/*/; do
		[[ -L ${d%/} ]] && continue
		mkdir -p "$d${CGROUP_ROOT#/}"
	done
	if [[ -d /sys/fs/cgroup/cpuset$CGROUP_ROOT ]]; then
		cp /sys/fs/cgroup/cpuset/cpuset.cpus "/sys/fs/cgroup/cpuset$CGROUP_ROOT/cpuset.cpus"
		cp /sys/fs/cgroup/cpuset/cpuset.mems "/sys/fs/cgroup/cpuset$CGROUP_ROOT/cpuset.mems"
	fi
}

# cmd_images: build the dumper (make build), pause and shell images as OCI archives and import
# them into the node's containerd.
cmd_images() {
	alive containerd || die "containerd is not running: scripts/k8s.sh up (make up)"
	local img=$NODE_DIR/images t0=$SECONDS
	mkdir -p "$img"
	make --no-print-directory -C "$ROOT" build >&2
	"$BIN/ociimage" -name "$DUMPER_IMAGE" -out "$img/dumper.tar" dumper "$ROOT/bin"
	"$BIN/ociimage" -name "$PAUSE_IMAGE" -out "$img/pause.tar" pause "$BIN/pause"
	"$BIN/ociimage" -name "$SHELL_IMAGE" -out "$img/testshell.tar" shell /bin/busybox
	local f
	for f in dumper pause testshell; do
		node_ctr images import --no-unpack=false "$img/$f.tar" >/dev/null
	done
	log "images imported in $((SECONDS - t0))s: $(node_ctr images ls -q | grep -c "^$REGISTRY/") from $REGISTRY"
}

node_up() {
	local c
	for c in containerd runc unshare nsenter ip; do
		command -v "$c" >/dev/null || die "$c not found: scripts/packages.sh stack"
	done
	[[ -x /usr/lib/cni/bridge && -x /bin/busybox ]] || die "CNI plugins or busybox missing: scripts/packages.sh stack"
	[[ -n $NODE_IP ]] || die "no address on the default route's interface for the node: set K8S_NODE_IP"
	node_configs
	bridge_up
	cgroups_up
	# shellcheck disable=SC2046
	start gatewayfwd -listen "$GATEWAY" $(pod_ports)
	if ! alive containerd; then
		rm -rf "$NODE_DIR/run" # runtime state of a node that stopped: like /run after a reboot
		LAUNCH=(unshare -m --propagation private "$ROOT/scripts/k8s.sh" node-ns)
		start containerd --config "$NODE_DIR/containerd.toml"
		LAUNCH=()
	fi
	wait_for containerd 60 node_ctr version
	cmd_images
	LAUNCH=(nsenter -t "$(<"$RUN/containerd.pid")" -m --)
	start kubelet --config "$NODE_DIR/kubelet.yaml" --kubeconfig "$K8S/kubelet.kubeconfig" \
		--hostname-override "$NODE_NAME" --node-ip "$NODE_IP" \
		--root-dir "$NODE_DIR/kubelet" --cert-dir "$NODE_DIR/kubelet/pki" --v=1
	LAUNCH=()
}

# node_down: the kubelet, then every container and shim containerd started (by the pids
# containerd recorded: shims outlive containerd), containerd, the forwarder, the bridge and the
# kubelet's cgroups.
node_down() {
	stop kubelet
	local tasks=$NODE_DIR/containerd/state/io.containerd.runtime.v2.task f pid
	shopt -s nullglob
	for f in "$tasks"/*/*/init.pid; do
		pid=$(<"$f")
		grep -qs "$CGROUP_ROOT/" "/proc/$pid/cgroup" && kill -KILL "$pid" 2>/dev/null || true
	done
	for f in "$tasks"/*/*/shim.pid; do
		pid=$(<"$f")
		tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -q containerd-shim && kill -TERM "$pid" 2>/dev/null || true
	done
	shopt -u nullglob
	stop containerd
	stop gatewayfwd
	if ip link show "$BRIDGE" >/dev/null 2>&1; then
		ip link del "$BRIDGE"
	fi
	find /sys/fs/cgroup/*/"${CGROUP_ROOT#/}" -depth -type d -exec rmdir {} + 2>/dev/null || true
}
