#!/usr/bin/env bash
# Captures the golden frames the codec tests decode: real traffic of the Linux kernel, recorded in a
# throw-away network namespace pair (nothing touches the root namespace). Run as root; rewrites
# packages/testkit/fixtures/*.pcap. The tests only read the files, so this runs by hand, not in CI.
set -euo pipefail
out=$(cd "$(dirname "$0")/../packages/testkit/fixtures" && pwd)
a=usfix-a-$$ b=usfix-b-$$
cleanup() { ip netns del "$a" 2>/dev/null || true; ip netns del "$b" 2>/dev/null || true; }
trap cleanup EXIT
ip netns add "$a"; ip netns add "$b"
ip -n "$a" link add veth0 type veth peer name veth1 netns "$b"
for ns in "$a" "$b"; do ip -n "$ns" link set lo up; done
ip -n "$a" addr add 10.9.0.1/24 dev veth0; ip -n "$b" addr add 10.9.0.2/24 dev veth1
# Offloads off, so the capture holds the checksums that go on a real wire.
ip netns exec "$a" ethtool -K veth0 tx off rx off tso off gso off gro off >/dev/null 2>&1 || true
ip netns exec "$b" ethtool -K veth1 tx off rx off tso off gso off gro off >/dev/null 2>&1 || true
ip -n "$a" link set veth0 up; ip -n "$b" link set veth1 up
# (This kernel has no 8021q module, so VLAN-tagged frames are not captured; their tests build them.)
sleep 1

cap() { # cap <file> <filter> -- command...: capture on veth0 of $a while the command runs
  local file=$1 filter=$2; shift 3
  ip netns exec "$a" tcpdump -q -U -i veth0 -w "$out/$file" "$filter" 2>/dev/null & local pid=$!
  sleep 1; "$@" || true; sleep 1; kill "$pid"; wait "$pid" 2>/dev/null || true
}

# ARP request/reply (padded to 60 bytes by nothing: the kernel sends 42-byte frames on veth), then ping.
cap arp-ping.pcap "arp or icmp" -- ip netns exec "$a" ping -c 2 -i 0.2 10.9.0.2
# A fragmented echo (3000 bytes of payload over a 1500 MTU) and its fragmented reply.
cap icmp-fragments.pcap "icmp or (ip[6:2] & 0x3fff != 0)" -- ip netns exec "$a" ping -c 1 -s 3000 10.9.0.2
# Destination unreachable (port) quoting a UDP datagram, and time exceeded is not produced on a link; port unreachable is.
cap icmp-unreachable.pcap "icmp" -- ip netns exec "$a" bash -c 'echo hi > /dev/udp/10.9.0.2/9; sleep 0.5'
# A whole TCP connection: SYN with MSS/SACK-perm/timestamps/window scale, data both ways, FIN.
ip netns exec "$b" bash -c 'printf "hello from b\n" | nc -l -N 10.9.0.2 7777 > /dev/null' & srv=$!
sleep 0.5
cap tcp-session.pcap "tcp port 7777" -- ip netns exec "$a" bash -c 'printf "hello from a, a little longer.\n" | nc -N 10.9.0.2 7777 >/dev/null'
wait "$srv" 2>/dev/null || true
# A RST for a closed port.
cap tcp-rst.pcap "tcp port 7778" -- ip netns exec "$a" bash -c 'nc -z -w 1 10.9.0.2 7778'
ls -l "$out"
