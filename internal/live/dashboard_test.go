package live

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// TestTakeSnapshot: the live page's figures are the metrics' own, and a
// percentile is estimated within its classic bucket.
func TestTakeSnapshot(t *testing.T) {
	m := NewMetrics(Info{Version: "test", Segment: "2/4", RunID: "nightly-7"})
	so := m.Scenario("integrated", "integrated")
	for i := range 40 {
		observe(so, result(i%10 != 0)) // 36 succeeded, 4 failed with two findings each
	}
	so.Load(7, 3)
	snap, err := TakeSnapshot(m.Gatherer())
	if err != nil {
		t.Fatal(err)
	}
	if snap.Run["run_id"] != "nightly-7" || snap.Run["segment"] != "2/4" {
		t.Errorf("snapshot run = %v; want run_id nightly-7, segment 2/4", snap.Run)
	}
	if len(snap.Scenarios) != 1 {
		t.Fatalf("snapshot has %d scenarios; want 1", len(snap.Scenarios))
	}
	s := snap.Scenarios[0]
	if s.Name != "integrated" || s.ActiveUsers != 7 || s.Dropped != 3 || s.Journeys["succeeded"] != 36 || s.Journeys["failed"] != 4 || s.Findings != 8 || s.Errors != 4 {
		t.Errorf("snapshot scenario = %+v; want integrated, 7 users, 3 dropped, 36 succeeded, 4 failed, 8 findings, 4 errors", s)
	}
	login := s.Phases["login"] // 20 ms each: in the bucket (10 ms, 25 ms]
	if login.Count != 40 || login.P95 <= 0.010 || login.P95 > 0.025 || login.P50 > login.P95 || login.P95 > login.P99 {
		t.Errorf("login = %+v; want 40 samples, p50 <= p95 <= p99, p95 in (0.010, 0.025]", login)
	}
	if _, err := json.Marshal(snap); err != nil {
		t.Errorf("the snapshot does not encode: %v", err)
	}
}

var polls = regexp.MustCompile(`data-polls="(\d+)" data-journeys="(\d+)"`)

// TestDashboardInChromium loads the live page from a live server in a
// real browser: its script polls the snapshot and fills the table and the
// charts.
func TestDashboardInChromium(t *testing.T) {
	bin := "/usr/bin/chromium"
	if _, err := os.Stat(bin); err != nil {
		if bin, err = exec.LookPath("chromium"); err != nil {
			t.Skip("chromium is not installed; .ci/run installs it with apt-get")
		}
	}
	m := NewMetrics(Info{Version: "test", Segment: "1/1"})
	so := m.Scenario("users_10_sustained", "load")
	for range 25 {
		observe(so, result(true))
	}
	so.Load(10, 0)
	srv, err := Listen("127.0.0.1:0", m.Gatherer())
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()

	resp, err := http.Get(srv.DashboardURL())
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.Contains(resp.Header.Get("Content-Type"), "text/html") || !bytes.Contains(body, []byte("live.json")) {
		t.Fatalf("GET / = %d %s; want the live page", resp.StatusCode, resp.Header.Get("Content-Type"))
	}

	home := t.TempDir()
	ctx, cancel := context.WithTimeout(t.Context(), 90*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
		"--disable-background-networking", "--disable-component-update", "--disable-sync",
		"--user-data-dir="+filepath.Join(home, "profile"), "--virtual-time-budget=3500", "--dump-dom", srv.DashboardURL())
	cmd.Env = append(os.Environ(), "HOME="+home, "XDG_CONFIG_HOME="+home, "XDG_CACHE_HOME="+home)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("chromium --dump-dom: %v\n%s", err, stderr.String())
	}
	dom := stdout.String()
	mm := polls.FindStringSubmatch(dom)
	if mm == nil || mm[1] == "0" || mm[1] == "1" || mm[2] != "25" {
		t.Fatalf("the page's body %q; want two polls or more, counting 25 journeys\n%.2000s", mm, dom)
	}
	for _, want := range []string{"<td>users_10_sustained</td><td>load</td><td>10</td><td>25</td>", "<polyline"} {
		if !strings.Contains(dom, want) {
			t.Errorf("the live page lacks %q\n%.3000s", want, dom)
		}
	}
}
