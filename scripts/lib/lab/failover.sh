# `scripts/lab failover IP [--graceful | --carrier IFACE]`: the owner's speaker stopped (or the carrier of its
# link IFACE taken away; the caller gives it back: `scripts/lab link carrier NODE IFACE on`) and the hand-over
# measured from the client (tcpdump, ip monitor, ARP or NDP probes), for an IPv4 or an IPv6 address; prints one
# line of key=value pairs.
# Expects from scripts/lab: lab, client, client_ip, client_ip6; queries.sh (owner).
# shellcheck shell=bash disable=SC2154  # (those variables are assigned in scripts/lab)

# Seconds (with fraction) since the epoch of an `ip -ts monitor` stamp such as [2026-11-25T18:30:01.123456].
stamp_seconds() { date -d "$(echo "$1" | tr -d '[]' | tr 'T' ' ')" +%s.%N; }

failover() {
  local ip=${1:-} graceful=false carrier=false link=eth0
  [ -n "$ip" ] || die "scripts/lab failover IP [--graceful | --carrier IFACE]"
  case "${2:-}" in
    --graceful) graceful=true ;;
    --carrier) carrier=true link=${3:-}; [ -n "$link" ] || die "scripts/lab failover IP --carrier IFACE" ;;
    "") ;;
    *) die "scripts/lab failover IP [--graceful | --carrier IFACE]" ;;
  esac
  local old i old_mac
  old=$(owner "$ip") || die "nobody answers ARP for $ip"
  i=$(node_index "$old")
  old_mac=$(link_mac "$i" "$link") || die "$old has no link $link (scripts/lab link add)"
  # The client talks to the IP once, so it has a neighbour entry to move.
  local source=$client_ip verbose=()
  if [[ "$ip" == *:* ]]; then source=$client_ip6 verbose=(-v); fi
  in_ns "$client" ping -c 1 -W 1 "$ip" >/dev/null 2>&1 || true
  local capture="$lab/failover-capture.txt" neighbours="$lab/failover-neigh.txt" probes="$lab/failover-arping.txt"
  rm -f "$capture" "$neighbours" "$probes"
  in_ns "$client" timeout 20 tcpdump -i eth0 -nn -tt -l -e "${verbose[@]}" "$(lan_announcement_filter "$ip")" \
    >"$capture" 2>"$capture.err" &
  local tcpdump_pid=$!
  in_ns "$client" timeout 20 ip -ts monitor neigh >"$neighbours" 2>/dev/null &
  local monitor_pid=$!
  wait_until 5 "tcpdump to listen" grep -q "listening on" "$capture.err"
  local arping_pid=""
  if $graceful; then
    # A broadcast probe every 10 ms for 4 s: every answer comes from whoever owns the IP at that moment.
    in_ns "$client" scripts/lib/neighbour-probe eth0 "$source" "$ip" 400 10 >"$probes" 2>&1 &
    arping_pid=$!
    sleep 0.5  # probes before the hand-over, so the count covers it from both sides
  fi
  local t0
  t0=$(date +%s.%N)
  if $graceful; then
    kill -TERM "$(cat "$lab/speaker-$i.pid")"
  elif $carrier; then
    link_carrier "$i" "$link" off
  else
    kill -KILL "$(cat "$lab/speaker-$i.pid")"
  fi
  # The first gratuitous ARP (sender and target both the IP), or unsolicited advertisement, from another MAC.
  local garp=""
  for _ in $(seq 100); do  # bounded: 10 s
    garp=$(lan_first_garp "$capture" "$old_mac" "$ip")
    [ -n "$garp" ] && break
    sleep 0.1
  done
  local moved=""
  for _ in $(seq 50); do  # bounded: 5 s more for the neighbour entry
    moved=$(awk -v ip="$ip" -v old="$old_mac" '$2 == ip && /lladdr/ { for (f = 1; f < NF; f++) if ($f == "lladdr" && $(f + 1) != old) { print $1; exit } }' "$neighbours")
    [ -n "$moved" ] && break
    sleep 0.1
  done
  [ -n "$arping_pid" ] && wait "$arping_pid" 2>/dev/null || true
  kill "$tcpdump_pid" "$monitor_pid" 2>/dev/null || true
  wait "$tcpdump_pid" "$monitor_pid" 2>/dev/null || true
  local new_mac="" new="" garp_ms="" neigh_ms="" probed=""
  if [ -n "$garp" ]; then
    new_mac=${garp#* }
    garp_ms=$(awk -v a="$t0" -v b="${garp%% *}" 'BEGIN { printf "%.1f", (b - a) * 1000 }')
    for j in $(seq "$(node_count)"); do [ "$(link_mac "$j" "$link")" = "$new_mac" ] && new=$(node_name "$j"); done
  fi
  [ -n "$moved" ] && neigh_ms=$(awk -v a="$t0" -v b="$(stamp_seconds "$moved")" 'BEGIN { printf "%.1f", (b - a) * 1000 }')
  $graceful && probed=" $(tail -1 "$probes")"
  echo "old=$old old_mac=$old_mac new=${new:-none} new_mac=${new_mac:-none} garp_ms=${garp_ms:-none} neigh_ms=${neigh_ms:-none}$probed"
  [ -n "$garp" ]
}
