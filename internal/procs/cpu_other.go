//go:build !unix

package procs

import "time"

// ProcessCPU cannot be read here: Fit does nothing.
func ProcessCPU() (time.Duration, bool) { return 0, false }
