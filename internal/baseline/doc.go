// Package baseline stores what a target's performance was (a [Baseline])
// and says, with statistics, whether it has changed since ([Compare]).
//
// # Rounds
//
// One measurement is not enough to call a change: a shared machine makes
// every figure wobble. The regression suite therefore measures in rounds
// (by default [DefaultRounds]): each round is a short scenario of its own,
// named [RoundName] (steady load) and [BurstName] (a burst of simultaneous
// users), and every metric of the [Catalog] is read from each round
// separately by [RoundValues]. A metric's values over the rounds are its
// sample.
//
// # Baselines
//
// A [Baseline] is a versioned JSON file ([Schema]) holding, for every metric,
// its value in each round, every phase's latencies over all rounds as a
// merged HdrHistogram, the target's memory, the error counts, the settings
// the rounds ran with (which must match for a comparison to mean anything)
// and the environment that measured them (goldenpath's version and commit,
// the target's version when it reports one, the CPU count, the Go version,
// the date). [New] builds one from the round scenarios of a run, [Save]
// writes it and [Load] reads it back, or builds one from the results.json
// of a run that carried rounds.
//
// # Comparison
//
// [Compare] tests each metric's old sample against its new one with the
// Mann-Whitney U test (golang.org/x/perf/benchmath, AssumeNothing: no
// assumption about the distribution). A change is flagged only when it is
// both statistically significant (p <= alpha, 0.01 by default) and beyond
// its threshold ([Thresholds]: latency +20%, response time +50%, memory and
// CPU +30%, error rate +5 points, throughput -20%); every other change is
// shown as "~". Each metric knows which way is worse, so an improvement is
// never called a regression. [WriteTable] prints the comparison as
// benchstat does.
package baseline
