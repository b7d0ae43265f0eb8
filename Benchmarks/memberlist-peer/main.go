// memberlist-peer: one hashicorp/memberlist member (Debian's golang-github-hashicorp-memberlist-dev, the
// library MetalLB uses) with its LAN defaults, printing membership changes in the JSON-line format of
// `herald-speaker gossip`, so scripts/bench-gossip-net measures the real memberlist beside Herald in one run.
// Built by scripts/bench-gossip-net in GOPATH mode against Debian's packaged sources; benchmark use only.
package main

import (
	"encoding/base64"
	"encoding/hex"
	"flag"
	"fmt"
	"io"
	"log"
	"net"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/hashicorp/memberlist"
)

var output sync.Mutex

func emit(line string) {
	output.Lock()
	defer output.Unlock()
	fmt.Println(line)
}

func change(node *memberlist.Node, status string) {
	emit(fmt.Sprintf(`{"time_ms": %d, "member": %q, "status": %q, "incarnation": 0, "address": "%s:%d"}`,
		time.Now().UnixMilli(), node.Name, status, node.Addr, node.Port))
}

type events struct{}

func (events) NotifyJoin(node *memberlist.Node) { change(node, "alive") }
func (events) NotifyUpdate(node *memberlist.Node) {}
// NotifyLeave is called for dead and left members alike; memberlist 0.2.2 hands the delegate a Node whose
// State field is not kept up to date, so both print as "dead" (the benchmark knows which member left).
func (events) NotifyLeave(node *memberlist.Node) { change(node, "dead") }

func readKey(path string) []byte {
	data, err := os.ReadFile(path)
	if err != nil {
		log.Fatalf("secret file: %v", err)
	}
	for _, line := range strings.Split(string(data), "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		if key, err := hex.DecodeString(line); err == nil && len(key) == 32 {
			return key
		}
		if key, err := base64.StdEncoding.DecodeString(line); err == nil && len(key) == 32 {
			return key
		}
		log.Fatalf("secret file: %q is neither 64 hex digits nor base64 of 32 bytes", line)
	}
	log.Fatalf("secret file: no key")
	return nil
}

func main() {
	name := flag.String("name", "", "member name")
	bind := flag.String("bind", "127.0.0.1:7946", "IP:port")
	peers := flag.String("peers", "", "comma-separated IP:port")
	secretFile := flag.String("secret-file", "", "key file (first key line is used)")
	flag.Parse()
	host, portText, err := net.SplitHostPort(*bind)
	if err != nil {
		log.Fatalf("--bind: %v", err)
	}
	port, _ := strconv.Atoi(portText)
	config := memberlist.DefaultLANConfig()
	config.Name = *name
	config.BindAddr, config.BindPort = host, port
	config.AdvertiseAddr, config.AdvertisePort = host, port
	config.Events = events{}
	config.LogOutput = io.Discard
	if *secretFile != "" {
		config.SecretKey = readKey(*secretFile)
	}
	list, err := memberlist.Create(config)
	if err != nil {
		log.Fatalf("create: %v", err)
	}
	emit(fmt.Sprintf(`{"ready": "%s:%d"}`, host, port))
	if *peers != "" {
		// Retry the join like Herald does, so start order does not matter.
		for attempt := 0; attempt < 60; attempt++ {
			if _, err := list.Join(strings.Split(*peers, ",")); err == nil {
				break
			}
			time.Sleep(500 * time.Millisecond)
		}
	}
	signals := make(chan os.Signal, 1)
	signal.Notify(signals, syscall.SIGTERM, syscall.SIGINT)
	<-signals
	list.Leave(time.Second)
	list.Shutdown()
}
