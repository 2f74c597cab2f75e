// Package monitor watches the target of a load test — never goldenpath
// itself — and judges its memory with trend statistics.
//
// A [Monitor] takes one [Sample] a second ([DefaultInterval]) from its
// sources and keeps them as a time series for the reports. Two sources come
// with the package:
//
//   - [ProcSource] reads a process by its PID from Linux's /proc: resident
//     set size (RSS), proportional set size (PSS, where smaps_rollup exists),
//     the RSS high-water mark, CPU time, threads and open file descriptors.
//     Use it for a target goldenpath started as a child process.
//   - [MetricsSource] scrapes a Prometheus text endpoint (/metrics) and keeps
//     a few process, Go runtime and goldenpath series, such as
//     process_resident_memory_bytes, go_goroutines and
//     goldenpath_active_connections ([DefaultMetrics]). Use it for any target
//     that exposes them, local or remote.
//
// Both read at the same moments, into one [Sample]. [FieldResident] is the
// target's resident memory from whichever has it — RSS from /proc, else
// process_resident_memory_bytes from /metrics — so that a target reached by
// URL is measured like a child process; a sample with neither has no
// resident memory ([Sample.Resident] reports false), never 0.
//
// Anything else that implements [Source], or a [SourceFunc], can be sampled
// too. [Monitor.Run] samples until its context ends; [Monitor.SampleNow]
// takes one sample at once, as the memory suite does at every cycle boundary.
//
// # What the memory figures mean
//
// The monitor measures what is there. It never asks the target to collect
// garbage or to return memory to the operating system, so the figures are
// those a user of the target would see. That has a consequence: after a
// burst of load, RSS may still include heap the Go runtime has freed but not
// yet returned to the OS (the scavenger returns it over minutes), and
// allocator caches that will be reused. A single before/after pair of RSS
// readings therefore says little about a leak. Leak verdicts are drawn from
// the trend over many cycles of burst, drain, idle and sample: memory that is
// only retained for reuse reaches a plateau, memory that leaks keeps growing
// with every cycle.
//
// PSS divides shared pages among the processes that share them, so it is a
// fairer figure than RSS for a process that maps shared libraries; it is read
// from /proc/PID/smaps_rollup (Linux 4.14 and later) and is reported as
// missing ([Sample].HasPSS false) where that file cannot be read. HWM is the
// kernel's high-water mark of RSS since the process started.
//
// # Leaks
//
// [LeakVerdict] combines two trend statistics of package trend, the
// Mann-Kendall test and the Theil-Sen slope with Sen's confidence
// interval: memory leaks when the one-sided Mann-Kendall
// p-value is below alpha (0.01 in the memory suite) and the lower confidence
// bound of the slope is above a growth floor, so that allocator noise and a
// slow warm-up never count as a leak. Every [Verdict] carries its figures:
// slope and interval, p-value, number of cycles, baseline and peak.
//
// # Linux only
//
// [ProcSource] reads /proc directly and works only on Linux; elsewhere its
// reads fail. CPU time is converted from clock ticks with USER_HZ, which
// Linux fixes at 100 ticks a second for user space on every architecture
// goldenpath runs on. [MetricsSource] and the statistics work everywhere.
package monitor
