// Package results is the model of one goldenpath run's findings: the
// verdicts of its checks, the scenarios it ran with their raw
// measurements, and what a reader needs to judge them. It is what
// results.json holds, versioned as [Schema] and documented field by field
// in docs/results-schema.md.
//
// The model is plain data: the suites fill it, the report writers read
// it, and `goldenpath merge` rebuilds it from the results of several
// segments. It imports only the standard library and the mergeable
// measurements of package metrics, so any part of goldenpath can use it.
//
// # Checks
//
// A [Check] is one named verdict. A check that compares a figure with a
// limit carries its [Rule] (metric, statistic, operator, limit, unit), the
// figure it observed and how many measurements that figure summarises, as
// numbers: a reader never parses the evidence sentence for them.
//
// # Findings
//
// A [Sample] is one piece of evidence of a scenario. The users it
// concerns are fields ([User]), not words in its text.
//
// # Versions
//
// [ReadJSON] reads the current schema and every earlier one it knows
// ([SchemaV1]), upgrading an older file into the current model; [WriteJSON]
// writes the current schema.
package results
