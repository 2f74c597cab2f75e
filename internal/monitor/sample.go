package monitor

import (
	"context"
	"time"
)

// A Sample is what the sources of a [Monitor] read at one moment.
//
// A sample read by a [ProcSource] has HasProc set and its process fields
// filled in; one read by a [MetricsSource] has Metrics. When a source fails,
// its fields stay zero and Err says why; the other sources' fields are still
// there.
type Sample struct {
	// T is when the sample was taken (the monitor's clock when reading began).
	T time.Time
	// RSS, PSS and HWM are the resident set size, the proportional set size
	// and the high-water mark of RSS, in bytes. PSS is 0 when HasPSS is false.
	RSS, PSS, HWM int64
	// CPUSeconds is the user and system CPU time the process has used.
	CPUSeconds float64
	// Threads and FDs count the process's threads and open file descriptors.
	Threads, FDs int
	// HasProc reports whether RSS, HWM, CPUSeconds, Threads and FDs were read.
	HasProc bool
	// HasPSS reports whether PSS was read; it is false where
	// /proc/PID/smaps_rollup is missing or unreadable.
	HasPSS bool
	// Metrics holds the series a MetricsSource scraped, by name (summed over
	// label sets) and by name{labels}. It is shared with the monitor's series:
	// treat it as read-only.
	Metrics map[string]float64
	// Gone reports that the watched process has exited (see [ErrGone]).
	Gone bool
	// Err is the error text of every source that failed, joined by "; ", or
	// empty.
	Err string
}

// A Field names one figure of a [Sample]: one of the Field constants, or
// any other string, which names a key of Sample.Metrics, such as
// Field("go_goroutines").
type Field string

// The fields of a Sample that a [ProcSource] reads.
const (
	FieldRSS        Field = "rss"
	FieldPSS        Field = "pss"
	FieldHWM        Field = "hwm"
	FieldCPUSeconds Field = "cpu_seconds"
	FieldThreads    Field = "threads"
	FieldFDs        Field = "fds"
)

// FieldResident is the target's resident memory in bytes, whichever source
// read it: RSS from /proc when a [ProcSource] read the sample, else
// [MetricResident] from a [MetricsSource]. It is the one figure of memory
// the suites judge, so that a target reached by URL is measured at the
// same moments, by the same rules, as a child process; see
// [Sample.Resident].
const FieldResident Field = "resident"

// MetricResident is the Prometheus series of a process's resident memory in
// bytes, which the Go and most other client libraries export.
const MetricResident = "process_resident_memory_bytes"

// The sources of [Sample.Resident].
const (
	ResidentFromProc    = "/proc"
	ResidentFromMetrics = "/metrics " + MetricResident
)

// Resident returns the resident memory of the sample in bytes and where it
// was read: RSS from /proc ([ResidentFromProc]) when the sample has it,
// else the sample's [MetricResident] ([ResidentFromMetrics]). ok is false
// when the sample has neither — a failed read is missing, never 0.
func (s Sample) Resident() (bytes float64, from string, ok bool) {
	if s.HasProc {
		return float64(s.RSS), ResidentFromProc, true
	}
	if v, ok := s.Metrics[MetricResident]; ok {
		return v, ResidentFromMetrics, true
	}
	return 0, "", false
}

// Value returns the figure f of s, and whether s has it.
func (s Sample) Value(f Field) (float64, bool) {
	switch f {
	case FieldRSS:
		return float64(s.RSS), s.HasProc
	case FieldPSS:
		return float64(s.PSS), s.HasPSS
	case FieldHWM:
		return float64(s.HWM), s.HasProc
	case FieldCPUSeconds:
		return s.CPUSeconds, s.HasProc
	case FieldThreads:
		return float64(s.Threads), s.HasProc
	case FieldFDs:
		return float64(s.FDs), s.HasProc
	case FieldResident:
		v, _, ok := s.Resident()
		return v, ok
	}
	v, ok := s.Metrics[string(f)]
	return v, ok
}

// PeakOf returns the sample of samples with the highest value of f (the
// earliest, if several share it), and false if none has f.
func PeakOf(samples []Sample, f Field) (Sample, bool) {
	var peak Sample
	found := false
	for _, s := range samples {
		v, ok := s.Value(f)
		if !ok {
			continue
		}
		if p, _ := peak.Value(f); !found || v > p {
			peak, found = s, true
		}
	}
	return peak, found
}

// A Source reads one kind of measurement of the target into a sample.
type Source interface {
	// Read fills in the fields of s that the source measures and leaves the
	// others alone. It may be called from several goroutines at once.
	Read(ctx context.Context, s *Sample) error
}

// SourceFunc adapts a function to a [Source].
type SourceFunc func(ctx context.Context, s *Sample) error

// Read calls f(ctx, s).
func (f SourceFunc) Read(ctx context.Context, s *Sample) error { return f(ctx, s) }
