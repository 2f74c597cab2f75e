package monitor_test

import (
	"fmt"

	"github.com/goldenpath-dev/goldenpath/internal/monitor"
)

// Ten cycles of the memory suite, RSS read after each cycle's load has
// drained and the target has idled: first a target that keeps 16.2 KiB more
// every cycle, under a few hundred bytes of noise; then one whose memory only
// wanders.
func ExampleLeakVerdict() {
	noise := []float64{0, 300, -200, 100, -400, 250, -100, 350, -300, 50}
	var cycles, rss []float64
	for i := range 10 {
		cycles = append(cycles, float64(i))
		rss = append(rss, 50<<20+16.2*1024*float64(i)+noise[i])
	}
	v := monitor.LeakVerdict(cycles, rss, 0.01, 4<<10)
	fmt.Println(v.Leak)
	fmt.Println(v.Reason)

	flat := make([]float64, 10)
	for i := range flat {
		flat[i] = 50<<20 + noise[i]*8
	}
	fmt.Println(monitor.LeakVerdict(cycles, flat, 0.01, 4<<10).Reason)
	// Output:
	// true
	// memory grows 16.2 KiB/cycle [99% CI 16.1 KiB, 16.3 KiB], Mann-Kendall p=4.2e-05 over 10 cycles; floor 4 KiB/cycle; baseline 50 MiB, peak 50.1 MiB
	// no leak: no significant growth (p ≥ 0.01): memory trend -67 B/cycle [99% CI -800 B, 1.2 KiB], Mann-Kendall p=0.5 over 10 cycles; floor 4 KiB/cycle; baseline 50 MiB, peak 50 MiB
}
