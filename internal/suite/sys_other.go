//go:build !unix

package suite

// fileLimit cannot be read here.
func fileLimit() (uint64, bool) { return 0, false }
