// Package gotest shows goldenpath in a Go test: its test file imports only
// the public packages, runs the integrated suite for a few seconds against
// the embedded reference backend, and asserts on the results.
//
//	go test ./examples/gotest
package gotest
