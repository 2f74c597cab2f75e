package goldenpath_test

import (
	"context"
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/goldenpath-dev/goldenpath"
	"github.com/goldenpath-dev/goldenpath/goldenpathtest"
)

// TestMain lets this test binary serve as the embedded reference backend.
func TestMain(m *testing.M) { goldenpathtest.Main(m) }

// Run the integrated suite for two seconds against the embedded reference
// backend and read its verdicts.
func ExampleRun() {
	res, err := goldenpath.Run(context.Background(), goldenpath.Config{
		Suites:   []string{"integrated"},
		Users:    4,
		Duration: 2 * time.Second,
	})
	if err != nil {
		fmt.Println("run:", err)
		return
	}
	c, _ := res.Check("integrated", "authentication_under_5_seconds")
	fmt.Println(c.Rule, c.Unit, c.Threshold)
	login, _ := res.Phase("login")
	fmt.Println("logins measured:", login.Count > 0)
	// Output:
	// login: p95 < 5s ms 5000
	// logins measured: true
}

// A Config out of range is an error that names the field, before
// anything starts.
func ExampleConfig_Validate() {
	cfg := goldenpath.DefaultConfig()
	cfg.Duration = 0
	fmt.Println(cfg.Validate())
	cfg = goldenpath.DefaultConfig()
	cfg.Out = "json=results.json"
	err := cfg.Validate()
	fmt.Println(err.(*goldenpath.ConfigError).Field)
	// Output:
	// goldenpath: Config.Duration: must be positive (got 0s)
	// Out
}

// DefaultConfig holds the goldenpath command's defaults.
func ExampleDefaultConfig() {
	cfg := goldenpath.DefaultConfig()
	fmt.Println(cfg.Suites, cfg.Users, cfg.Duration, cfg.MaxUsers == goldenpath.AutoMaxUsers)
	// Output:
	// [integrated load race memory regression] 10 10s true
}

// Write the four reports of a run into a directory.
func ExampleResults_WriteReports() {
	res, err := goldenpath.Run(context.Background(), goldenpath.Config{Suites: []string{"integrated"}, Users: 2, Duration: time.Second})
	if err != nil {
		fmt.Println("run:", err)
		return
	}
	dir, _ := os.MkdirTemp("", "goldenpath-example-")
	defer os.RemoveAll(dir)
	if err := res.WriteReports(dir); err != nil {
		fmt.Println(err)
		return
	}
	for _, f := range []string{goldenpath.ResultsFile, goldenpath.JUnitFile, goldenpath.MarkdownFile, goldenpath.HTMLFile} {
		_, err := os.Stat(dir + "/" + f)
		fmt.Println(f, err == nil)
	}
	// Output:
	// results.json true
	// junit.xml true
	// report.md true
	// report.html true
}
