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

# The bridge's port for a node's interface: n2 for node-2's eth0, n2-eth1 for a link added with link_add.
#   node_port INDEX INTERFACE
node_port() { if [ "$2" = eth0 ]; then echo "n$1"; else echo "n$1-$2"; fi; }

# A second (third…) link from the bridge into node INDEX, named INTERFACE there, with no address: a link an
# L2Advertisement's `interfaces` can name apart from eth0, where gossip runs. Its MAC is kept as
# $lab/node-INDEX.INTERFACE.mac (lan_owner knows it as the node's).
#   link_add INDEX INTERFACE
link_add() {
  local i=$1 name=$2 port
  port=$(node_port "$i" "$name")
  [ "$name" != eth0 ] && [ ${#port} -le 15 ] || die "link add: \"$name\" must not be eth0 and must be short"
  # ARP for the node's own address is answered on eth0 only: with two links on one bridge the kernel would
  # answer on both, and a peer that learnt the other link's MAC would lose gossip with it when its carrier goes.
  ip netns exec "$(node_ns "$i")" sysctl -qw net.ipv4.conf.all.arp_ignore=1
  ip -n "$lan" link add "$port" type veth peer name "$name" netns "$(node_ns "$i")"
  ip -n "$(node_ns "$i")" link set "$name" up
  ip -n "$lan" link set "$port" master br0 up
  ip -n "$(node_ns "$i")" -br link show "$name" | awk '{ print tolower($3) }' >"$lab/node-$i.$name.mac"
}

# The MAC of node INDEX's INTERFACE (eth0 or one link_add made).
#   link_mac INDEX INTERFACE
link_mac() { if [ "$2" = eth0 ]; then cat "$lab/node-$1.mac"; else cat "$lab/node-$1.$2.mac" 2>/dev/null; fi; }

link_del() {
  ip -n "$lan" link del "$(node_port "$1" "$2")" 2>/dev/null || true
  rm -f "$lab/node-$1.$2.mac"
}

# The bridge's end of node INDEX's INTERFACE down or up: the node's link loses its carrier (NO-CARRIER, as a
# pulled cable or a failed switch port) or gets it back; the node's own side stays up.
#   link_carrier INDEX INTERFACE off|on
link_carrier() {
  case "$3" in
    off) ip -n "$lan" link set "$(node_port "$1" "$2")" down ;;
    on) ip -n "$lan" link set "$(node_port "$1" "$2")" up ;;
    *) die "scripts/lab link carrier NODE INTERFACE off|on" ;;
  esac
}
