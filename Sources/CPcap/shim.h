// libpcap, for compiling filter expressions into classic BPF (pcap_compile on a dead handle) and for captures.
#include <pcap/pcap.h>
