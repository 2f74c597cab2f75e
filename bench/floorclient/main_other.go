//go:build !linux

// Command floorclient is Linux's only (epoll): see main_linux.go.
package main

import (
	"fmt"
	"os"
)

func main() {
	fmt.Fprintln(os.Stderr, "floorclient: Linux only (it is written on epoll); use bench/plainclient here")
	os.Exit(2)
}
