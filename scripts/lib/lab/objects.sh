# The Kubernetes objects the lab writes: the base installation from manifests/, the Node objects, a kubeconfig
# with a ServiceAccount's token for each program, and the EndpointSlices of `scripts/lab endpoints`.
# Expects from scripts/lab: lab, system_namespace.
# shellcheck shell=bash disable=SC2154  # (those variables are assigned in scripts/lab)

# What an installation applies first: the namespace, MetalLB's CRDs and Herald's RBAC, from manifests/.
base_apply() { kctl apply -f manifests/namespace.yaml -f manifests/crds -f manifests/rbac >/dev/null; }

objects_up() {
  local nodes=$1 i account
  base_apply
  kctl wait --for condition=established --timeout 60s crd/ipaddresspools.metallb.io crd/l2advertisements.metallb.io \
    crd/servicel2statuses.metallb.io crd/configurationstates.metallb.io crd/bgppeers.metallb.io \
    crd/bgpadvertisements.metallb.io crd/communities.metallb.io crd/servicebgpstatuses.metallb.io >/dev/null
  # The whole kustomize base, Deployment and DaemonSet included, is accepted by this server as it stands
  # (server-side dry run: admission and schema checks, nothing created; no kubelet would run the pods).
  kctl apply -k manifests --dry-run=server >"$lab/manifests-dry-run.txt" 2>&1 ||
    { cat "$lab/manifests-dry-run.txt" >&2; die "the server refuses manifests/ (kubectl apply -k manifests --dry-run=server)"; }
  # The controller and the speakers run with their ServiceAccounts' tokens, not as admin: every lab test is
  # also a test that the RBAC in manifests/rbac grants what the code uses.
  for account in herald-controller herald-speaker; do service_account_kubeconfig "$account"; done
  for i in $(seq "$nodes"); do
    kctl apply -f - >/dev/null <<EOF
apiVersion: v1
kind: Node
metadata:
  name: $(node_name "$i")
  labels: {kubernetes.io/hostname: $(node_name "$i"), lab.herald.dev/index: "$i"}
EOF
    # The addresses a kubelet reports: BGP takes its router ID and next hops from them.
    kctl patch node "$(node_name "$i")" --subresource=status --type=merge -p "{\"status\":{\"addresses\":[
      {\"type\":\"InternalIP\",\"address\":\"$(node_ip "$i")\"},
      {\"type\":\"InternalIP\",\"address\":\"$net6::$(printf '%x' $((16 + i)))\"}]}}" >/dev/null
  done
}

# $lab/ACCOUNT.kubeconfig: the lab's server and CA with a token of the ServiceAccount $system_namespace/ACCOUNT
# (TokenRequest; no controller-manager runs here to make token Secrets).
service_account_kubeconfig() {
  local account=$1 token server ca
  token=$(kctl create token -n "$system_namespace" "$account" --duration 24h) || die "no token for $account"
  server=$(kctl config view --raw --minify -o jsonpath='{.clusters[0].cluster.server}')
  ca=$(kctl config view --raw --minify -o jsonpath='{.clusters[0].cluster.certificate-authority-data}')
  (
    umask 077
    cat >"$lab/$account.kubeconfig" <<EOF
apiVersion: v1
kind: Config
clusters:
- name: lab
  cluster: {server: "$server", certificate-authority-data: "$ca"}
users:
- name: $account
  user: {token: "$token"}
contexts:
- name: $account
  context: {cluster: lab, user: $account}
current-context: $account
EOF
  )
}

endpoints() {
  local service=$1 namespace=default
  shift
  if [[ "$service" == */* ]]; then namespace=${service%%/*}; service=${service#*/}; fi
  local list="" n=0 node
  for node in "$@"; do
    n=$((n + 1))
    local i
    i=$(node_index "$node")
    # 198.51.100.0/24 stands for pod IPs; v1beta1 (the local 1.20 server) keeps the node in topology.
    list+="
- addresses: [\"198.51.100.$((100 + n))\"]
  conditions: {ready: true}
  topology: {kubernetes.io/hostname: $(node_name "$i")}"
  done
  [ -n "$list" ] || list=" []"
  kctl apply -f - >/dev/null <<EOF
apiVersion: discovery.k8s.io/v1beta1
kind: EndpointSlice
metadata:
  name: $service-lab
  namespace: $namespace
  labels: {kubernetes.io/service-name: $service, lab.herald.dev/made-by: lab}
addressType: IPv4
ports: [{name: http, port: 8080, protocol: TCP}]
endpoints:$list
EOF
}
