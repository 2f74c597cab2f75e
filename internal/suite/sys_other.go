//go:build !unix

package suite

import "time"

// processCPU cannot be read here.
func processCPU() (time.Duration, bool) { return 0, false }

// fileLimit cannot be read here.
func fileLimit() (uint64, bool) { return 0, false }
