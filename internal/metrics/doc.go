// Package metrics holds the load side's measurements: latency histograms per
// phase, counters, and a per-second time series, all of which merge without
// loss across goroutines, segments and processes.
//
// Latencies are never kept one by one. Each one lands in a [Histogram], an
// HdrHistogram that tracks nanosecond values from [LowestTrackable] (1 µs) to
// [HighestTrackable] (1 h) at [SignificantFigures] (3) significant decimal
// digits, so every quantile is within 0.1% of the true value. Values outside
// that range are clamped to it and counted in [Histogram.Clamped].
//
// # Sets
//
// A [Set] is what a load run records into: named histograms (one per phase of
// a journey, such as "login" or "first_event") and named counters. It is safe
// for use by thousands of goroutines at once; each name has its own lock, so
// recorders of different phases never wait for each other.
//
// [Set.Snapshot] takes a deep copy that marshals to JSON:
//
//	{
//	  "histograms": {"login": "HISTFAAAA...", ...},
//	  "counters": {"errors": 3, ...},
//	  "series_start": "2025-01-02T15:04:05Z",
//	  "series": [{"second": 0, "counters": {...}, "latency": {"journey": {...}}, "gauges": {...}}, ...]
//	}
//
// Histograms are written in the HdrHistogram V2 compressed base64 encoding, so
// other HDR tools (HistogramLogAnalyzer, the Java and C libraries) read them
// as they are; their values are nanoseconds.
//
// # Merging
//
// [Set.Merge] adds a snapshot into a set, and [Snapshot.Merge] one snapshot
// into another. Merging is lossless: a set that
// merged the snapshots of several sets holds exactly the bucket counts, and so
// the same quantiles, as one set that recorded every value itself. A segment
// of a test run by another process is merged the same way. Histograms of a
// different range or precision cannot be merged without loss, so Merge
// rejects them with an error that wraps [ErrIncompatible].
//
// # Series
//
// Every set also keeps a per-second series for plots. Its buckets are
// wall-clock seconds: bucket 0 is the second that contains the set's start
// time ([WithSeries], default the time of [NewSet]), and a value recorded at
// time t lands in the bucket of the second that contains t. A snapshot stores
// the start second as SeriesStart and numbers its points from there, so
// merging aligns buckets on absolute time: processes that start in different
// seconds still add their values to the right second, and the merged series
// starts at the earliest start.
//
// Each bucket holds the counters added in that second, the highest reading
// of each gauge ([Set.Gauge], [Set.Poll]: the users in a journey, say) and,
// for the few
// histograms named by [WithSeriesHistograms], a small histogram at
// [SeriesSignificantFigures] (2) significant digits from which the point's
// p50, p95 and p99 come. Points carry those histograms encoded, so series
// merge without loss too. Merged gauges add up second by second: the sets
// merged ran side by side, as the segments of one test do.
//
// The series is bounded: a set adds to it only for [DefaultSeriesLimit]
// (24 h) after its start, or the limit set by [WithSeriesLimit]. Values
// recorded later still count in the histograms and counters, but not in the
// series, and the snapshot says so in SeriesTruncated. Merge never drops
// series data.
package metrics
