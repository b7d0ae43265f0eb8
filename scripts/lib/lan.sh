# The LAN the lab (scripts/lab) and the real cluster (scripts/cluster) build: a bridge in a namespace of its
# own, a veth from it to each node's namespace (eth0 there) and one to the caller's namespace. Source it after
# common.sh. Only TEST-NET addresses are given to it.

# A veth from the bridge br0 in LAN to NAMESPACE (eth0 there; "host": HOST_LINK in the caller's namespace),
# with its IPv4 address (a /24) and, when given, its IPv6 address (a /64, no DAD).
#   lan_attach LAN PORT NAMESPACE|host HOST_LINK IPv4 [IPv6]
lan_attach() {
  local lan=$1 port=$2 namespace=$3 host_link=$4 ip4=$5 ip6=${6:-}
  if [ "$namespace" = host ]; then
    ip -n "$lan" link add "$port" type veth peer name "$host_link" netns "$$"
    # ARP on this link is answered for this link's own address only, never for the machine's others.
    sysctl -qw "net.ipv4.conf.$host_link.arp_ignore=1"
    ip addr add "$ip4/24" dev "$host_link"
    [ -z "$ip6" ] || ip addr add "$ip6/64" dev "$host_link" nodad
    ip link set "$host_link" up
  else
    ip netns add "$namespace"
    ip -n "$namespace" link set lo up
    ip -n "$lan" link add "$port" type veth peer name eth0 netns "$namespace"
    ip -n "$namespace" addr add "$ip4/24" dev eth0
    [ -z "$ip6" ] || ip -n "$namespace" addr add "$ip6/64" dev eth0 nodad
    ip -n "$namespace" link set eth0 up
  fi
  ip -n "$lan" link set "$port" master br0 up
}

# The bridge's namespace LAN, refusing to start when this machine already uses NET.0/24 or another /24 the
# caller will use (an address on it, or a route other than the default route).
#   lan_create LAN NET [OTHER_NET…]   (e.g. 203.0.113 198.51.100)
lan_create() {
  local lan=$1 net
  shift
  for net in "$@"; do
    if ip -4 route show | grep -q "^$net\." || ip -4 -o addr show | grep -q " $net\."; then
      die "$net.0/24 is already in use on this machine (is the lab or the cluster up?); it is needed alone"
    fi
  done
  ip netns add "$lan"
  ip -n "$lan" link set lo up
  ip -n "$lan" link add br0 type bridge
  ip -n "$lan" link set br0 up
}

# Removes HOST_LINK and every namespace PREFIX-lan, PREFIX-client, PREFIX-nN, ending what still runs there
# first (a process left in a namespace, a killed run's speaker, keeps it alive).
#   lan_remove PREFIX HOST_LINK
lan_remove() {
  local prefix=$1 host_link=$2 namespace
  ip link del "$host_link" 2>/dev/null || true
  for namespace in $(ip netns list | awk '{ print $1 }' | grep -E "^$prefix-(lan|client|router|n[0-9]+)$" || true); do
    ip netns pids "$namespace" 2>/dev/null | xargs -r kill -9 2>/dev/null || true
    ip netns del "$namespace" 2>/dev/null || true
  done
}

# The node number of "node-2", "2" or "n2", among COUNT nodes.
#   lan_node_index COUNT NAME
lan_node_index() {
  local count=$1 index=${2#node-}
  index=${index#n}
  [[ "$index" =~ ^[0-9]+$ ]] && [ "$index" -ge 1 ] && [ "$index" -le "$count" ] || die "no node \"$2\" (there are $count)"
  echo "$index"
}

# The node (node-N) whose MAC, as kept in STATE/node-N.mac (STATE/node-N.IFACE.mac for its other links),
# answers CLIENT's ARP (for an IPv6 address: its Neighbour Solicitation, ndisc6) for IP; "unknown-MAC" for a MAC
# of no node; nothing (and failure) when nobody answers within a second.
#   lan_owner CLIENT STATE COUNT IP
lan_owner() {
  local client=$1 state=$2 count=$3 ip=$4 mac i file
  if [[ "$ip" == *:* ]]; then
    mac=$(ip netns exec "$client" ndisc6 -q -1 -r 1 -w 1000 "$ip" eth0 2>/dev/null | head -1 | tr 'A-F' 'a-f')
  else
    mac=$(ip netns exec "$client" arping -c 1 -w 1 -I eth0 "$ip" 2>/dev/null | sed -n 's/.*\[\([0-9A-Fa-f:]*\)\].*/\1/p' | head -1 | tr 'A-F' 'a-f')
  fi
  [ -n "$mac" ] || return 1
  for i in $(seq "$count"); do
    for file in "$state/node-$i.mac" "$state/node-$i".*.mac; do
      if [ -f "$file" ] && [ "$(cat "$file")" = "$mac" ]; then echo "node-$i"; return 0; fi
    done
  done
  echo "unknown-$mac"
}

# The tcpdump filter that captures IP's announcements and answers: ARP about it, or for an IPv6 address the
# Neighbour Advertisements (ICMPv6 type 136) about it.
#   lan_announcement_filter IP
lan_announcement_filter() {
  if [[ "$1" == *:* ]]; then echo "icmp6 and ip6[40] == 136"; else echo "arp and host $1"; fi
}

# From a `tcpdump -tt -e -v "$(lan_announcement_filter IP)"` capture: the time and MAC of the first gratuitous
# ARP for IP (a request with sender and target both IP, or a reply to everyone, not the answer to someone's
# request), or for an IPv6 address the first unsolicited Neighbour Advertisement with Override for it to all
# nodes, from a MAC other than OLD_MAC (empty: from any), as "TIME MAC".
#   lan_first_garp CAPTURE OLD_MAC IP
lan_first_garp() {
  if [[ "$3" == *:* ]]; then
    # tcpdump -v prints the advertisement's flags on its line: "… > ff02::1: … tgt is IP, Flags [override]".
    awk -v old="$2" -v ip="$3" '$2 != old && / > 33:33:00:00:00:01, / && / > ff02::1: / &&
      index($0, "neighbor advertisement") && index($0, "tgt is " ip ", Flags [override]") { print $1, $2; exit }' "$1"
  else
    awk -v old="$2" -v ip="$3" '$2 != old && ($0 ~ ("who-has " ip " tell " ip ",") || $0 ~ ("> ff:ff:ff:ff:ff:ff, .*Reply " ip " is-at")) { print $1, $2; exit }' "$1"
  fi
}

# The sums of the samples of metrics NAME… on the Herald program serving /metrics at ADDRESS (HOST:PORT), one
# line each, from one scrape (0 for a metric it has not, or when it does not answer).
#   herald_metrics ADDRESS NAME…
herald_metrics() {
  local address=$1
  shift
  curl -fsS --max-time 1 "http://$address/metrics" 2>/dev/null |
    awk -v names="$*" 'BEGIN { n = split(names, want, " ") }
      { for (k = 1; k <= n; k++) if ($1 == want[k] || index($1, want[k] "{") == 1) sum[k] += $NF }
      END { for (k = 1; k <= n; k++) print sum[k] + 0 }'
}
