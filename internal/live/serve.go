package live

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// MetricsPath is where a [Server] serves the metrics.
const MetricsPath = "/metrics"

// ValidateAddr reports whether addr is a HOST:PORT to listen on (the
// host may be empty, for every interface; port 0 picks a free one).
func ValidateAddr(addr string) error {
	_, port, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("%q is not HOST:PORT (e.g. 127.0.0.1:9464, or :9464 for every interface): %w", addr, unwrapAddrError(err))
	}
	if n, err := strconv.ParseUint(port, 10, 16); err != nil || (n == 0 && port != "0") {
		return fmt.Errorf("%q is not HOST:PORT: the port must be a number from 0 to 65535 (0 picks a free one)", addr)
	}
	return nil
}

func unwrapAddrError(err error) error {
	var ae *net.AddrError
	if errors.As(err, &ae) {
		return errors.New(ae.Err)
	}
	return err
}

// A Server serves metrics over HTTP on [MetricsPath], in every exposition
// format client_golang offers: Prometheus protobuf (the only one that
// carries native histograms), OpenMetrics and Prometheus text, as the
// scraper's Accept header asks; and a live page of the run on
// [DashboardPath], which polls a [Snapshot] on [SnapshotPath] once a
// second, as k6's web dashboard does.
type Server struct {
	srv  *http.Server
	ln   net.Listener
	done chan struct{}
}

// Listen starts serving g's metrics on addr (see [ValidateAddr]); the
// returned error says when addr is not one to listen on. Close stops it.
func Listen(addr string, g prometheus.Gatherer) (*Server, error) {
	if err := ValidateAddr(addr); err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("cannot listen on %q: %w", addr, err)
	}
	mux := http.NewServeMux()
	mux.Handle(MetricsPath, promhttp.HandlerFor(g, promhttp.HandlerOpts{
		EnableOpenMetrics:   true,
		ErrorHandling:       promhttp.ContinueOnError, // a failing collector must not hide the run's series
		MaxRequestsInFlight: 4,
		Timeout:             10 * time.Second,
	}))
	dashboardHandlers(mux, g) // the live page on /, its data on /live.json
	s := &Server{
		srv:  &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second, IdleTimeout: time.Minute},
		ln:   ln,
		done: make(chan struct{}),
	}
	go func() {
		defer close(s.done)
		_ = s.srv.Serve(ln) // http.ErrServerClosed after Close
	}()
	return s, nil
}

// Addr is the address the server listens on (with the port chosen when
// addr's was 0).
func (s *Server) Addr() net.Addr { return s.ln.Addr() }

// URL is the metrics' URL, http://ADDR/metrics.
func (s *Server) URL() string { return "http://" + s.ln.Addr().String() + MetricsPath }

// DashboardURL is the live page's URL, http://ADDR/.
func (s *Server) DashboardURL() string { return "http://" + s.ln.Addr().String() + DashboardPath }

// Close stops the server: scrapes in flight get a second to finish. It
// returns once the serving goroutine has ended.
func (s *Server) Close() error {
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	err := s.srv.Shutdown(ctx)
	if err != nil {
		err = s.srv.Close()
	}
	<-s.done
	return err
}
