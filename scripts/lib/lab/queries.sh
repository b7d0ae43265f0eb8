# What the lab reports: its status table, a Service's IP and ServiceL2Status node, the owner of an IP as the
# client sees it, the speakers' metrics, and `settle`, the wait until all of that is stable.
# Expects from scripts/lab: lab, client, system_namespace, metrics_port.
# shellcheck shell=bash disable=SC2154  # (those variables are assigned in scripts/lab)

# The sums of metrics' samples on node I's speaker, one line each, from one scrape (herald_metrics).
speaker_metrics() { herald_metrics "$(node_ip "$1"):$metrics_port" "${@:2}"; }
announced() { speaker_metrics "$1" herald_speaker_announced_ips; }
members() { speaker_metrics "$1" herald_gossip_live_members; }

status() {
  [ -d "$lab" ] || die "the lab is not up (scripts/lab up)"
  printf '%-8s %-14s %-18s %-9s %-6s %-8s %s\n' NODE IP MAC SPEAKER READY MEMBERS ANNOUNCED
  local i state ready
  for i in $(seq "$(node_count)"); do
    state=stopped ready=-
    if running "$lab" "speaker-$i"; then state="pid $(cat "$lab/speaker-$i.pid")"; speaker_ready "$i" && ready=yes || ready=no; fi
    printf '%-8s %-14s %-18s %-9s %-6s %-8s %s\n' "$(node_name "$i")" "$(node_ip "$i")" "$(cat "$lab/node-$i.mac")" "$state" "$ready" "$(members "$i")" "$(announced "$i")"
  done
  kctl get svc -A -o wide 2>/dev/null | awk 'NR == 1 || $3 == "LoadBalancer"'
}

# Splits [NS/]SERVICE into "NS SERVICE" (default namespace "default").
service_ref() { if [[ "$1" == */* ]]; then echo "${1%%/*} ${1#*/}"; else echo "default $1"; fi; }

ingress_ip() {
  local ns svc
  read -r ns svc <<<"$(service_ref "$1")"
  kctl get svc "$svc" -n "$ns" -o jsonpath='{.status.loadBalancer.ingress[0].ip}' 2>/dev/null | grep -E '^[0-9a-fA-F.:]+$'
}

status_node() {
  local ns svc
  read -r ns svc <<<"$(service_ref "$1")"
  kctl get servicel2statuses -n "$system_namespace" -l "metallb.io/service-name=$svc,metallb.io/service-namespace=$ns" \
    -o jsonpath='{.items[0].status.node}' 2>/dev/null | grep .
}

# Waits up to SECONDS for COMMAND to print something, and prints it.
wait_print() {
  local seconds=$1 what=$2 value
  shift 2
  wait_until "$seconds" "$what" "$@" || return 1
  value=$("$@") && echo "$value"
}

# The node (node-N) whose MAC answered the client's ARP for IP, or nothing.
owner() { lan_owner "$client" "$lab" "$(node_count)" "$1"; }

# Every running speaker is ready and sees every running speaker as a live member (so no rejoin is still to
# come and move IPs, as after a partition), and the speakers announce WANT IPs between them.
settled() {
  local want=$1 i total=0 n members live=()
  for i in $(seq "$(node_count)"); do running "$lab" "speaker-$i" && live+=("$i"); done
  for i in "${live[@]}"; do
    speaker_ready "$i" || return 1
    { read -r members; read -r n; } < <(speaker_metrics "$i" herald_gossip_live_members herald_speaker_announced_ips)
    [ "$members" -eq "${#live[@]}" ] || return 1
    total=$((total + n))
  done
  [ "$total" -eq "$want" ]
}

settle() {
  local limit=${1:-30} want streak=0
  want=$(kctl get svc -A -o jsonpath='{range .items[*]}{range .status.loadBalancer.ingress[*]}{.ip}{"\n"}{end}{end}' | sort -u | grep -c . || true)
  for _ in $(seq $((limit * 5))); do
    if settled "$want"; then streak=$((streak + 1)); [ $streak -ge 5 ] && return 0; else streak=0; fi
    sleep 0.2
  done
  die "not settled within ${limit}s (want $want announced IPs): $(status 2>&1 | head -25)"
}
