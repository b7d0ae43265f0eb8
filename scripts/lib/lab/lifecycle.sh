# `scripts/lab up`, `down` and `env`: the whole lab made (and removed again when that fails or is
# interrupted), removed, and its kubeconfig printed.
# Expects from scripts/lab: lab, bin, lan, host_ip, client_ip, system_namespace (set here for the
# programs up starts); network.sh, objects.sh, processes.sh.
# shellcheck shell=bash disable=SC2154  # (those variables are assigned in scripts/lab)

up() {
  need_root
  local nodes=3
  while [ $# -gt 0 ]; do
    case "$1" in
      --nodes) nodes=${2:-}; shift; [ $# -gt 0 ] && shift ;;
      *) die "unknown option $1 (scripts/lab up [--nodes N])" ;;
    esac
  done
  [[ "$nodes" =~ ^[0-9]+$ ]] && [ "$nodes" -ge 1 ] && [ "$nodes" -le 20 ] || die "--nodes takes 1 to 20"
  local binary
  for binary in herald-speaker herald-controller; do
    [ -x "$bin/$binary" ] || die "no $bin/$binary: build first (swift build)"
  done
  for binary in ip arping tcpdump curl kubectl setpriv; do
    command -v "$binary" >/dev/null || die "no $binary: run scripts/install-deps"
  done
  down quiet
  # shellcheck disable=SC2034  # read by controller_start and speaker_start (processes.sh)
  system_namespace=herald-system
  # From here on, a failure or Ctrl-C removes whatever was made.
  trap 'status=$?; trap - EXIT; [ $status -eq 0 ] || { log "failed; removing the lab"; down quiet; }; exit $status' EXIT
  trap 'exit 130' INT TERM
  mkdir -p "$lab"
  echo "$nodes" >"$lab/nodes"
  log "network: bridge in $lan, client $client_ip, nodes $(node_ip 1)..$(node_ip "$nodes"), apiserver $host_ip"
  network_up "$nodes"
  log "control plane: etcd + kube-apiserver (scripts/dev-cluster)"
  cluster up >"$lab/dev-cluster.log" 2>&1 || { tail -5 "$lab/dev-cluster.log" >&2; die "the control plane did not start"; }
  objects_up "$nodes"
  head -c 32 /dev/urandom | base64 >"$lab/gossip.key"
  chmod 0600 "$lab/gossip.key"
  log "starting herald-controller and $nodes herald-speakers"
  controller_start
  for i in $(seq "$nodes"); do speaker_start "$i"; done
  for i in $(seq "$nodes"); do
    wait_until 30 "node-$i's speaker to be ready" speaker_ready "$i" || { tail -20 "$lab/speaker-$i.log" >&2; exit 1; }
  done
  trap - EXIT INT TERM
  log "up: $nodes nodes; scripts/lab status shows them, scripts/lab down removes everything"
  print_env
}

down() {
  local i
  if [ -d "$lab" ]; then
    for i in $(seq "$(node_count)"); do stop_process "$lab" "speaker-$i" KILL; done
    stop_process "$lab" controller KILL
    [ -d "$lab/cluster" ] && cluster down >/dev/null 2>&1 || true
  fi
  network_down
  rm -rf "$lab"
  [ "${1:-}" = quiet ] || log "down: every process, namespace and file of the lab is removed"
}

print_env() {
  [ -f "$lab/cluster/kubeconfig" ] || die "the lab is not up (scripts/lab up)"
  echo "export KUBECONFIG=$lab/cluster/kubeconfig HERALD_LAB_DIR=$lab"
}
