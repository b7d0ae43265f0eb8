# What every piece of the lab (scripts/lab) uses: each node's number, name, address and namespace, kubectl and
# scripts/dev-cluster on the lab's control plane (dual-stack: its Services may take IPv4 and IPv6), a command in a namespace, the root check.
# Expects from scripts/lab: lab, net, prefix, host_ip, api_port, etcd_port; common.sh and lan.sh sourced.
# shellcheck shell=bash disable=SC2154  # (those variables are assigned in scripts/lab)

node_ip() { echo "$net.$((10 + $1))"; }
node_name() { echo "node-$1"; }
node_ns() { echo "$prefix-n$1"; }
node_count() { cat "$lab/nodes" 2>/dev/null || echo 0; }

node_index() { lan_node_index "$(node_count)" "$1"; }

cluster() {
  HERALD_DEV_CLUSTER_DIR="$lab/cluster" HERALD_APISERVER_ADDRESS="$host_ip" HERALD_APISERVER_PORT="$api_port" \
    HERALD_ETCD_PORT="$etcd_port" HERALD_SERVICE_CIDR="198.51.100.0/24,2001:db8:5e::/112" scripts/dev-cluster "$@"
}

kctl() { kubectl --kubeconfig "$lab/cluster/kubeconfig" "$@"; }

in_ns() { local namespace=$1; shift; ip netns exec "$namespace" "$@"; }

need_root() { [ "$(id -u)" -eq 0 ] || die "the lab needs root (network namespaces and raw sockets): run it with sudo"; }
