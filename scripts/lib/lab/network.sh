# The lab's network: the bridge in its namespace, a veth to the host, the client and every node, each node's
# MAC kept as $lab/node-N.mac; and its removal (lan.sh does the work).
# Expects from scripts/lab: lab, lan, prefix, host_link, client, net, net6, host_ip, client_ip.
# shellcheck shell=bash disable=SC2154  # (those variables are assigned in scripts/lab)

# A veth from the bridge to NAMESPACE (eth0 there, or the host's link), with its addresses.
#   attach PORT NAMESPACE IPv4 IPv6-suffix
attach() { lan_attach "$lan" "$1" "$2" "$host_link" "$3" "$net6::$4"; }

network_up() {
  local nodes=$1
  lan_create "$lan" "$net"
  attach host host "$host_ip" 1
  attach client "$client" "$client_ip" 2
  for i in $(seq "$nodes"); do
    attach "n$i" "$(node_ns "$i")" "$(node_ip "$i")" "$(printf '%x' $((16 + i)))"
    ip -n "$(node_ns "$i")" -br link show eth0 | awk '{ print tolower($3) }' >"$lab/node-$i.mac"
  done
}

network_down() { lan_remove "$prefix" "$host_link"; }
