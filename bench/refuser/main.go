// Command refuser is a yardstick target for scripts/bench-backoff.sh: an
// HTTP server that is ready (GET /readyz and /healthz answer 200) and
// answers every other request with one status (501 by default), counting
// the requests it got by method and path. It prints its URL on the first
// line of stdout and, when interrupted (SIGINT, SIGTERM), the counts as
// "COUNT METHOD PATH" lines. It is not part of goldenpath.
package main

import (
	"flag"
	"fmt"
	"log"
	"net"
	"net/http"
	"os"
	"os/signal"
	"sort"
	"sync"
	"syscall"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:0", "address to listen on (loopback only)")
	status := flag.Int("status", http.StatusNotImplemented, "status of every answer but /readyz and /healthz")
	flag.Parse()
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		log.Fatalf("refuser: %v", err)
	}
	var mu sync.Mutex
	counts := map[string]int{}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/readyz" || r.URL.Path == "/healthz" {
			w.WriteHeader(http.StatusOK)
			return
		}
		mu.Lock()
		counts[r.Method+" "+r.URL.Path]++
		mu.Unlock()
		http.Error(w, http.StatusText(*status), *status)
	})}
	fmt.Printf("http://%s\n", ln.Addr())
	go func() { _ = srv.Serve(ln) }()
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGINT, syscall.SIGTERM)
	<-sig
	_ = srv.Close()
	mu.Lock()
	defer mu.Unlock()
	keys := make([]string, 0, len(counts))
	for k := range counts {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		fmt.Printf("%d %s\n", counts[k], k)
	}
}
