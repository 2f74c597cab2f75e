package monitor

import "github.com/goldenpath-dev/goldenpath/internal/trend"

// TheilSen is [trend.TheilSen], kept here until its last caller outside
// this package (the memory suite) imports package trend.
//
// Deprecated: use [trend.TheilSen].
func TheilSen(x, y []float64, confidence float64) (slope, intercept, lo, hi float64) {
	return trend.TheilSen(x, y, confidence)
}
