// Package trend holds the trend statistics goldenpath judges series with:
// [MannKendall] tests a series for a monotonic trend without assuming any
// distribution of its values, and [TheilSen] fits a line whose slope is
// the median of all pairwise slopes, with Sen's confidence interval. Both
// use only the order of the values (and the pairwise slopes), so a few
// wild values do not move them.
//
// The memory suite's leak verdict (package monitor) and the HTML report's
// memory chart (package report) both use them. The package imports only
// the standard library.
package trend
