# Faults injected with nftables: a partition between nodes on the bridge (and its heal), and loss of gossip
# datagrams at every node.
# Expects from scripts/lab: lan, gossip_port.
# shellcheck shell=bash disable=SC2154  # (those variables are assigned in scripts/lab)

partition() {
  local match=""
  if [ "${1:-}" = --gossip-only ]; then match="meta l4proto { udp, tcp } th dport $gossip_port"; shift; fi
  [ $# -ge 1 ] || die "scripts/lab partition [--gossip-only] NODE…"
  local side=() rest=() i
  for node in "$@"; do side+=("\"n$(node_index "$node")\""); done
  for i in $(seq "$(node_count)"); do
    [[ " ${side[*]} " == *" \"n$i\" "* ]] || rest+=("\"n$i\"")
  done
  [ ${#rest[@]} -gt 0 ] || die "a partition needs nodes on both sides"
  heal
  local left right
  left=$(IFS=,; echo "${side[*]}") right=$(IFS=,; echo "${rest[*]}")
  in_ns "$lan" nft -f - <<EOF
table bridge herald_lab_partition {
  chain forward {
    type filter hook forward priority 0; policy accept;
    iifname { $left } oifname { $right } $match drop
    iifname { $right } oifname { $left } $match drop
  }
}
EOF
}

heal() { in_ns "$lan" nft delete table bridge herald_lab_partition 2>/dev/null || true; }

loss() {
  local percent=${1:-}
  [[ "$percent" =~ ^[0-9]+$ ]] && [ "$percent" -le 100 ] || die "scripts/lab loss PERCENT (0 to 100)"
  local i
  for i in $(seq "$(node_count)"); do
    in_ns "$(node_ns "$i")" nft delete table inet herald_lab_loss 2>/dev/null || true
    [ "$percent" -eq 0 ] && continue
    in_ns "$(node_ns "$i")" nft -f - <<EOF
table inet herald_lab_loss {
  chain input { type filter hook input priority 0; policy accept; udp dport $gossip_port numgen random mod 100 < $percent drop; }
}
EOF
  done
}
