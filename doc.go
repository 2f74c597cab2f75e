// Package goldenpath proves whether a real-time AI agent backend keeps its
// promises under load. It drives virtual users along the golden path — log
// in, open a WebSocket, ask an agent, watch its events stream, read the
// answer — and judges every phase against its SLA, with evidence.
//
// [Run] is the whole of a test: it brings the target up (the embedded
// reference backend as a child process when [Config.Target] is empty),
// registers test users, runs the suites and returns their verdicts as
// [Results]. The goldenpath command is a thin client of it: its flags fill a
// [Config], and its exit code is what the results say.
//
// # Suites
//
// [Suites] lists them: integrated (every phase against its SLA, as
// percentiles), load (5, 10 and 15 users, a burst, a capacity search),
// race (handshake, factory, config, isolation, cleanup, database and
// ordering races, judged on every frame), memory (the target's memory over
// cycles of load) and regression (this build against a stored baseline).
//
// # In a Go test
//
// Package [github.com/goldenpath-dev/goldenpath/goldenpathtest] runs a
// Config from a test and fails it with the check table; its Main lets the
// test binary serve as the embedded reference backend.
//
// # Results
//
// Every [Check] carries its suite and name, a [Status], the evidence in a
// sentence, and, for threshold checks, its rule and the observed figure
// with its unit. A check that has no evidence is skipped, never passed.
// [Results.WriteReports] writes results.json (docs/results-schema.md),
// junit.xml, report.md and report.html.
package goldenpath
