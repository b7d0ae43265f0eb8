# The lab's programs: a herald-speaker in each node's namespace and the herald-controller beside the apiserver,
# started as the manifests run them (daemon, from common.sh: $lab/NAME.pid and $lab/NAME.log), and a speaker's
# readiness.
# Expects from scripts/lab: lab, bin, system_namespace, gossip_port, metrics_port.
# shellcheck shell=bash disable=SC2154  # (those variables are assigned in scripts/lab)

speaker_start() {
  local i=$1 peers=() j
  running "$lab" "speaker-$i" && return 0
  for j in $(seq "$(node_count)"); do [ "$j" -ne "$i" ] && peers+=("$(node_ip "$j"):$gossip_port"); done
  local joined
  joined=$(IFS=,; echo "${peers[*]:-}")
  # As the DaemonSet runs it: the namespace from POD_NAMESPACE (the downward API), no --namespace; root with
  # no capability but CAP_NET_RAW and no privilege escalation (capabilities: {drop: [ALL], add: [NET_RAW]}).
  daemon "$lab" "speaker-$i" ip netns exec "$(node_ns "$i")" env POD_NAMESPACE="$system_namespace" \
    setpriv --no-new-privs --inh-caps=-all --bounding-set=-all,+net_raw -- "$bin/herald-speaker" run \
    --kubeconfig "$lab/herald-speaker.kubeconfig" --node-name "$(node_name "$i")" \
    --gossip-bind "$(node_ip "$i"):$gossip_port" --peers "$joined" --peer-selector "" \
    --secret-file "$lab/gossip.key" --interfaces "${HERALD_LAB_INTERFACES:-eth0}" --metrics-bind-address "$(node_ip "$i"):$metrics_port" \
    --log-level "${HERALD_LAB_LOG_LEVEL:-info}"
}

speaker_ready() { curl -fsS --max-time 1 "http://$(node_ip "$1"):$metrics_port/readyz" >/dev/null 2>&1; }

controller_start() {
  running "$lab" controller && return 0
  # JSON logs here, text from the speakers: both formats run in every lab test. No capability at all, as in
  # the Deployment (it runs as uid 65534 there; root here, so it can read the lab's files).
  daemon "$lab" controller env POD_NAMESPACE="$system_namespace" \
    setpriv --no-new-privs --inh-caps=-all --bounding-set=-all -- "$bin/herald-controller" \
    --kubeconfig "$lab/herald-controller.kubeconfig" --metrics-bind-address "127.0.0.1:$((metrics_port + 10000))" \
    --log-level "${HERALD_LAB_LOG_LEVEL:-info}" --log-format json
}
