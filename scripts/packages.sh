#!/usr/bin/env bash
# The one place the project installs system packages (with apt-get), by what a target needs:
#   cc     the C compiler and static libc: the binaries compress with the zstd library through cgo
#          (make build, make lint)
#   stack  the MariaDB server and client, and the tools of scripts/stack.sh and scripts/k8s.sh
#          (etcd, and containerd, runc, the CNI plugins and a static busybox for the node)
#          (make up)
#   bench  what scripts/bench.sh compares with and measures by
# Only what is missing is installed; nothing runs when everything is there.
set -euo pipefail

# want TEST PACKAGE: PACKAGE is needed when TEST fails.
missing=()
want() { eval "$1" >/dev/null 2>&1 || missing+=("$2"); }
has() { command -v "$1"; }

for set in "$@"; do
	case $set in
	cc)
		want 'has gcc' gcc
		want 'has gcc && [ "$(gcc -print-file-name=libc.a)" != libc.a ]' libc6-dev
		;;
	stack)
		want 'has mariadbd' mariadb-server
		want 'has mariadb' mariadb-client
		want 'has zstd' zstd
		want 'has curl' curl
		want 'has openssl' openssl
		want 'has etcd' etcd-server
		# the local node (scripts/k8s-node.sh): runtime, CNI plugins, the tests' shell image
		want 'has containerd && has ctr' containerd
		want 'has runc' runc
		want '[ -x /usr/lib/cni/bridge ] && [ -x /usr/lib/cni/host-local ]' containernetworking-plugins
		want 'dpkg -s busybox-static' busybox-static
		want 'has ip' iproute2
		want 'has age' age # the stock decryption path of encrypted backups (e2e and dump tests)
		;;
	bench)
		want '[ -x /usr/bin/time ]' time
		want 'has mydumper' mydumper
		want 'has jq' jq
		want 'has zstd' zstd
		want 'has mariadb-dump' mariadb-client
		;;
	*)
		echo "usage: $0 cc|stack|bench..." >&2
		exit 2
		;;
	esac
done

if [ ${#missing[@]} -gt 0 ]; then
	printf '[packages] installing %s with apt-get\n' "${missing[*]}" >&2
	apt-get update -qq
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
fi
