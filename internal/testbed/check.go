package testbed

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/goldenpath-dev/goldenpath/internal/journey"
	"github.com/goldenpath-dev/goldenpath/internal/profile"
)

// CheckProfile brings up s (a URL, or the embedded backend speaking the
// profile), walks one journey of s.Profile (the goldenpath built-in
// when nil) with every step and frame printed to w as it was matched,
// and returns the journey's failure: the first step that did not match,
// with the frame, secrets redacted.
func CheckProfile(ctx context.Context, s Spec, runTimeout time.Duration, w io.Writer) error {
	if s.Profile == nil {
		p, err := profile.Load("goldenpath")
		if err != nil {
			return err
		}
		s.Profile = &journey.ProfileSpec{Profile: p}
	}
	s.Register = 1
	bed, err := Up(ctx, s)
	if err != nil {
		return err
	}
	defer bed.Close()
	fmt.Fprintf(w, "profile %s against %s\n", s.Profile.Profile.Name, bed.URL)
	step := 0
	trace := func(what string, frame []byte) {
		step++
		if frame == nil {
			fmt.Fprintf(w, "%3d  %s\n", step, what)
			return
		}
		fmt.Fprintf(w, "%3d  %s\n       %s\n", step, what, clip(string(frame), 400))
	}
	res := journey.Run(ctx, bed.Target, bed.Accounts[0], journey.Options{Messages: 1, ConfigAccess: true, DBOps: true, RunTimeout: runTimeout, Trace: trace})
	var order []string
	byPhase := map[string][]time.Duration{}
	for _, ph := range res.Phases {
		if byPhase[ph.Name] == nil {
			order = append(order, ph.Name)
		}
		byPhase[ph.Name] = append(byPhase[ph.Name], ph.D)
	}
	for _, name := range order {
		ds := byPhase[name]
		if len(ds) == 1 {
			fmt.Fprintf(w, "     %-16s %s\n", name, ds[0].Round(10*time.Microsecond))
			continue
		}
		slices.Sort(ds)
		fmt.Fprintf(w, "     %-16s %d samples, median %s, max %s\n", name, len(ds), ds[len(ds)/2].Round(10*time.Microsecond), ds[len(ds)-1].Round(10*time.Microsecond))
	}
	for _, v := range res.Violations {
		fmt.Fprintf(w, "FINDING %s: %s\n", v.Kind, v.Detail)
		if v.Sample != "" {
			fmt.Fprintf(w, "       %s\n", v.Sample)
		}
	}
	switch {
	case res.Err != nil:
		msg := res.Err.Error()
		if res.Err.Sample != "" {
			msg += "\n  frame or reply: " + res.Err.Sample
		}
		return errors.New(msg)
	case !res.OK():
		return fmt.Errorf("the journey completed, but the oracle found %d problems (above)", len(res.Violations)+res.ViolationsDropped)
	}
	fmt.Fprintf(w, "OK: one journey walked as the profile says (%d frames, %d runs answered)\n", res.Frames, res.Runs)
	return nil
}

func clip(s string, n int) string {
	s = strings.TrimSpace(s)
	if len(s) > n {
		return s[:n] + "..."
	}
	return s
}

// CreateUsers registers n accounts on a URL target the way its profile
// says, under prefix (empty: a fresh one), and returns them.
func CreateUsers(ctx context.Context, url string, ps *journey.ProfileSpec, n int, prefix string) ([]journey.Account, error) {
	var topts []journey.TargetOption
	if ps != nil {
		topts = append(topts, journey.WithProfile(*ps))
	}
	t, err := journey.NewTarget(url, topts...)
	if err != nil {
		return nil, err
	}
	defer t.HTTP.CloseIdleConnections()
	if prefix == "" {
		prefix = FreshPrefix()
	}
	return Register(ctx, t, n, prefix)
}
