package server_test

import (
	"bytes"
	"fmt"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/goldenpath-dev/goldenpath/internal/protocol"
)

// The benchmarks load a backend that runs in a child process, over real
// loopback TCP, so the figures are the server's and its memory is measured
// apart from the load generator's. Figures are in docs/benchmarks.md;
// scripts/bench-backend.sh reproduces them.

var completed = []byte(`"type":"agent_completed"`)

// runUntilCompleted sends one user_message and reads frames until the
// run's agent_completed; any other terminal or error frame is an error.
func runUntilCompleted(ws *websocket.Conn, mid, content string) error {
	msg := fmt.Sprintf(`{"type":"user_message","payload":{"message_id":%q,"content":%q}}`, mid, content)
	if err := ws.WriteMessage(websocket.TextMessage, []byte(msg)); err != nil {
		return err
	}
	for {
		_ = ws.SetReadDeadline(time.Now().Add(30 * time.Second))
		_, b, err := ws.ReadMessage()
		if err != nil {
			return err
		}
		if bytes.Contains(b, completed) {
			return nil
		}
		if bytes.Contains(b, []byte(`"type":"agent_error"`)) || bytes.Contains(b, []byte(`"type":"error_message"`)) {
			return fmt.Errorf("run failed: %.200s", b)
		}
	}
}

func dialWS(url, token string) (*websocket.Conn, error) {
	d := websocket.Dialer{HandshakeTimeout: 30 * time.Second, ReadBufferSize: 1024, WriteBufferSize: 1024}
	ws, _, err := d.Dial("ws"+strings.TrimPrefix(url, "http")+protocol.PathWS, http.Header{"Authorization": {"Bearer " + token}})
	if err != nil {
		return nil, err
	}
	_ = ws.SetReadDeadline(time.Now().Add(30 * time.Second))
	if _, b, err := ws.ReadMessage(); err != nil || !bytes.Contains(b, []byte(protocol.EventConnectionEstablished)) {
		ws.Close()
		return nil, fmt.Errorf("no connection_established: %v %.100s", err, b)
	}
	return ws, nil
}

// BenchmarkRunsOnOpenConnections: request -> five events -> answer
// committed, zero think time, on 64 connections opened beforehand.
func BenchmarkRunsOnOpenConnections(b *testing.B) {
	srv := startChild(b, 4, 0)
	const conns = 64
	u := srv.newUser()
	wss := make([]*websocket.Conn, conns)
	for i := range wss {
		ws, err := dialWS(srv.url, u.token)
		if err != nil {
			b.Fatal(err)
		}
		defer ws.Close()
		wss[i] = ws
	}
	var next atomic.Int64
	var failures atomic.Int64
	b.ResetTimer()
	start := time.Now()
	var wg sync.WaitGroup
	for i, ws := range wss {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for n := next.Add(1); n <= int64(b.N); n = next.Add(1) {
				if err := runUntilCompleted(ws, "m-"+strconv.Itoa(i)+"-"+strconv.FormatInt(n, 10), "bench"); err != nil {
					failures.Add(1)
					b.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "runs/s")
	b.ReportMetric(float64(failures.Load()), "errors")
}

// BenchmarkConnectRequestClose: dial with a valid token, wait for
// connection_established, run once, close; 32 clients at a time.
func BenchmarkConnectRequestClose(b *testing.B) {
	srv := startChild(b, 4, 0)
	u := srv.newUser()
	var next, failures atomic.Int64
	b.ResetTimer()
	start := time.Now()
	var wg sync.WaitGroup
	for range 32 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for n := next.Add(1); n <= int64(b.N); n = next.Add(1) {
				ws, err := dialWS(srv.url, u.token)
				if err == nil {
					err = runUntilCompleted(ws, "m-"+strconv.FormatInt(n, 10), "cycle")
					_ = ws.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(1000, ""), time.Now().Add(time.Second))
					ws.Close()
				}
				if err != nil {
					failures.Add(1)
					b.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "cycles/s")
	b.ReportMetric(float64(failures.Load()), "errors")
}

// BenchmarkLogin: logins per second against the bcrypt cost.
func BenchmarkLogin(b *testing.B) {
	for _, cost := range []int{4, 8, 10, 12} {
		b.Run("cost="+strconv.Itoa(cost), func(b *testing.B) {
			srv := startChild(b, cost, 0)
			u := srv.newUser()
			body := fmt.Sprintf(`{"email":%q,"password":%q}`, u.email, u.password)
			b.ResetTimer()
			start := time.Now()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					resp, err := srv.hc.Post(srv.url+protocol.PathLogin, "application/json", strings.NewReader(body))
					if err != nil {
						b.Error(err)
						return
					}
					resp.Body.Close()
					if resp.StatusCode != 200 {
						b.Errorf("login = %d", resp.StatusCode)
						return
					}
				}
			})
			b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "logins/s")
		})
	}
}

var metricLine = regexp.MustCompile(`(?m)^(process_resident_memory_bytes|go_memstats_heap_inuse_bytes|go_memstats_stack_inuse_bytes|go_goroutines) ([0-9.e+]+)$`)

func (h *harness) memory() map[string]float64 {
	out := map[string]float64{}
	for _, m := range metricLine.FindAllSubmatch(h.do("GET", protocol.PathMetrics, "", nil).body, -1) {
		v, _ := strconv.ParseFloat(string(m[2]), 64)
		out[string(m[1])] = v
	}
	return out
}

// BenchmarkIdleConnectionMemory: the server's memory per idle connection,
// from its own /metrics, with 2,000 connections open and idle. b.N is not
// used: one measurement per run.
func BenchmarkIdleConnectionMemory(b *testing.B) {
	const n = 2000
	srv := startChild(b, 4, 0)
	u := srv.newUser()
	// Warm the server (buffers, pools) with a few connections first.
	for range 8 {
		ws, err := dialWS(srv.url, u.token)
		if err != nil {
			b.Fatal(err)
		}
		ws.Close()
	}
	time.Sleep(200 * time.Millisecond)
	before := srv.memory()
	wss := make([]*websocket.Conn, 0, n)
	defer func() {
		for _, ws := range wss {
			ws.Close()
		}
	}()
	for range n {
		ws, err := dialWS(srv.url, u.token)
		if err != nil {
			b.Fatal(err)
		}
		wss = append(wss, ws)
	}
	time.Sleep(500 * time.Millisecond)
	after := srv.memory()
	per := func(k string) float64 { return (after[k] - before[k]) / n }
	b.ReportMetric(per("process_resident_memory_bytes"), "RSS-B/conn")
	b.ReportMetric(per("go_memstats_heap_inuse_bytes")+per("go_memstats_stack_inuse_bytes"), "heap+stack-B/conn")
	b.ReportMetric(per("go_goroutines"), "goroutines/conn")
	for range b.N {
	}
}

// BenchmarkTenThousandStreams: 10,000 connections open at once, each
// streaming one run (think 2 s so that all of them overlap); any error
// fails the benchmark.
func BenchmarkTenThousandStreams(b *testing.B) {
	const n = 10000
	srv := startChild(b, 4, 2000)
	u := srv.newUser()
	wss := make([]*websocket.Conn, n)
	var wg sync.WaitGroup
	sem := make(chan struct{}, 64)
	var dialErrs atomic.Int64
	for i := range wss {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			ws, err := dialWS(srv.url, u.token)
			if err != nil {
				dialErrs.Add(1)
				return
			}
			wss[i] = ws
		}()
	}
	wg.Wait()
	if dialErrs.Load() > 0 {
		b.Fatalf("%d of %d connections failed to open", dialErrs.Load(), n)
	}
	defer func() {
		for _, ws := range wss {
			ws.Close()
		}
	}()
	b.ResetTimer()
	start := time.Now()
	var failures atomic.Int64
	peak := srv.memory()
	for i, ws := range wss {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := runUntilCompleted(ws, "m-"+strconv.Itoa(i), "stream"); err != nil {
				if failures.Add(1) <= 3 {
					b.Error(err)
				}
			}
		}()
	}
	time.Sleep(time.Second) // mid-run: every run is streaming
	mid := srv.memory()
	wg.Wait()
	b.ReportMetric(float64(n), "streams")
	b.ReportMetric(float64(failures.Load()), "errors")
	b.ReportMetric(time.Since(start).Seconds(), "s-all-done")
	b.ReportMetric(mid["process_resident_memory_bytes"]/(1<<20), "server-RSS-MiB")
	b.ReportMetric(mid["go_goroutines"]-peak["go_goroutines"], "run-goroutines")
	for range b.N {
	}
}
