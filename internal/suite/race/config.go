package race

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"sort"
	"sync"
	"time"

	"github.com/anishathalye/porcupine"

	"github.com/goldenpath-dev/goldenpath/internal/journey"
	"github.com/goldenpath-dev/goldenpath/internal/metrics"
	"github.com/goldenpath-dev/goldenpath/internal/protocol"
	"github.com/goldenpath-dev/goldenpath/internal/results"
	"github.com/goldenpath-dev/goldenpath/internal/suite"
)

// Config race: readers hammer GET /api/v1/config while one writer replaces
// the values through the admin call. The writer keeps configKeys registers
// in the values, changing one of them to a fresh number per update; every
// read must be a whole snapshot (its checksum matches its values), versions
// never step back for a reader, and the history of reads and writes of each
// register must be linearizable (checked with porcupine, one partition per
// register, within a time limit; Unknown is inconclusive, never a pass).
const (
	configKeys      = 4
	configReaders   = 4
	configLinLimit  = 10 * time.Second
	configKeyPrefix = "gp_race_"
	// configReadsPerReader bounds the history (reads x registers).
	configReadsPerReader = 1500
)

type regInput struct {
	write bool
	key   int
	value int64
}

type regOutput struct{ value int64 }

var registerModel = porcupine.Model{
	Partition: func(h []porcupine.Operation) [][]porcupine.Operation {
		parts := make([][]porcupine.Operation, configKeys)
		for _, op := range h {
			k := op.Input.(regInput).key
			parts[k] = append(parts[k], op)
		}
		return parts
	},
	Init: func() any { return int64(0) },
	Step: func(state, input, output any) (bool, any) {
		in := input.(regInput)
		if in.write {
			return true, in.value
		}
		return output.(regOutput).value == state.(int64), state
	},
	DescribeOperation: func(input, output any) string {
		in := input.(regInput)
		if in.write {
			return fmt.Sprintf("write(k%d, %d)", in.key, in.value)
		}
		return fmt.Sprintf("read(k%d) -> %d", in.key, output.(regOutput).value)
	},
}

func raceConfig(ctx context.Context, e *suite.Env) (results.Scenario, bool, error) {
	start := time.Now()
	set := metrics.NewSet()
	skip := func(why string) (results.Scenario, bool, error) {
		set.Add(cSkipped, 1)
		return manual(scRaceConfig, 0, set, start, []results.Sample{{Kind: "skipped", Detail: why}}), false, nil
	}
	if e.AdminToken == "" {
		return skip("skipped: no admin token for the target (--admin-token), so the config cannot be changed while it is read")
	}
	// A target that offers the config but fails to serve it is no
	// evidence: the check fails, saying why.
	failed := func(why string) (results.Scenario, bool, error) {
		set.Add(cConfigFailed, 1)
		return manual(scRaceConfig, 0, set, start, []results.Sample{{Kind: "config_error", Detail: why}}), ctx.Err() != nil, nil
	}
	us, err := journey.Login(ctx, e.Target, e.Account(0))
	if err != nil {
		return failed("cannot log in to read the config: " + err.Error())
	}
	var orig protocol.ConfigSnapshot
	if code, _, err := e.Target.JSON(ctx, "GET", protocol.PathConfig, us.Token, nil, &orig); err != nil {
		if code == http.StatusNotFound {
			return skip("skipped: the target has no config endpoint: " + err.Error())
		}
		return failed("GET /api/v1/config failed: " + err.Error())
	}
	base := map[string]any{}
	dec := json.NewDecoder(bytes.NewReader(orig.Values))
	dec.UseNumber()
	if err := dec.Decode(&base); err != nil {
		return failed("config values are not an object: " + err.Error())
	}
	defer func() { // put the original values back
		_, _, _ = e.Target.JSON(context.WithoutCancel(ctx), "PUT", protocol.PathAdminConfig, e.AdminToken, map[string]any{"values": json.RawMessage(orig.Values)}, nil)
	}()

	dur := min(e.Duration, 3*time.Second)
	rctx, cancel := context.WithTimeout(ctx, dur)
	defer cancel()
	t0 := time.Now()
	now := func() int64 { return int64(time.Since(t0)) }
	var mu sync.Mutex
	var ops []porcupine.Operation
	record := func(op porcupine.Operation) {
		mu.Lock()
		ops = append(ops, op)
		mu.Unlock()
	}
	var ev evidence
	sample := ev.add
	var wg sync.WaitGroup
	// The writer. It first sets every register to 0 (the model's initial
	// state) before the readers start; a write whose outcome is unknown (an
	// error, a timeout) stays in the history as pending forever, as Jepsen
	// records indeterminate operations, so a read that saw it is legal.
	values := func(regs []int64) map[string]any {
		vals := map[string]any{}
		for k, v := range base {
			vals[k] = v
		}
		for i, v := range regs {
			vals[fmt.Sprintf("%s%d", configKeyPrefix, i)] = v
		}
		return vals
	}
	if _, _, err := e.Target.JSON(ctx, "PUT", protocol.PathAdminConfig, e.AdminToken, map[string]any{"values": values(make([]int64, configKeys))}, nil); err != nil {
		return skip("skipped: the admin config update failed: " + err.Error())
	}
	wg.Add(1)
	go func() {
		defer wg.Done()
		cur := make([]int64, configKeys)
		for seq := int64(1); rctx.Err() == nil; seq++ {
			k := int(seq % configKeys)
			next := append([]int64(nil), cur...)
			next[k] = seq
			call := now()
			_, _, err := e.Target.JSON(ctx, "PUT", protocol.PathAdminConfig, e.AdminToken, map[string]any{"values": values(next)}, nil)
			ret := now()
			set.Add(results.CounterOperations, 1)
			if err != nil {
				sample(results.Sample{Kind: "config_write_error", Detail: err.Error()})
				ret = math.MaxInt64 // indeterminate: it may have happened
			} else {
				set.Add(cConfigWrites, 1)
			}
			for i := range configKeys {
				record(porcupine.Operation{ClientId: 0, Input: regInput{write: true, key: i, value: next[i]}, Call: call, Output: regOutput{}, Return: ret})
			}
			if err != nil {
				return // later writes would race the indeterminate one
			}
			cur = next
		}
	}()
	// The readers.
	for r := range configReaders {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var lastVersion int64
			// Bounded: the history stays small enough for porcupine to
			// decide quickly and in little memory.
			for n := 0; rctx.Err() == nil && n < configReadsPerReader; n++ {
				var snap protocol.ConfigSnapshot
				call := now()
				_, _, err := e.Target.JSON(rctx, "GET", protocol.PathConfig, us.Token, nil, &snap)
				ret := now()
				set.Add(results.CounterOperations, 1)
				if err != nil {
					continue
				}
				set.Add(cConfigReads, 1)
				if ok, _ := protocol.VerifyChecksum(snap.Values, snap.Checksum); !ok {
					set.Add(cConfigTorn, 1)
					sample(results.Sample{Kind: "config_torn", Detail: fmt.Sprintf("reader %d: version %d has checksum %s, which does not match its values", r, snap.Version, snap.Checksum), Frame: journey.Redact(string(snap.Values))})
					continue // a torn read is not a state of the register
				}
				if snap.Version < lastVersion {
					set.Add(cConfigBackwards, 1)
					sample(results.Sample{Kind: "config_version_backwards", Detail: fmt.Sprintf("reader %d: version %d after %d", r, snap.Version, lastVersion)})
				}
				lastVersion = snap.Version
				var vals map[string]json.RawMessage
				_ = json.Unmarshal(snap.Values, &vals)
				for i := range configKeys {
					var v int64
					_ = json.Unmarshal(vals[fmt.Sprintf("%s%d", configKeyPrefix, i)], &v)
					record(porcupine.Operation{ClientId: r + 1, Input: regInput{key: i}, Call: call, Output: regOutput{value: v}, Return: ret})
				}
			}
		}()
	}
	wg.Wait()
	sort.Slice(ops, func(i, j int) bool { return ops[i].Call < ops[j].Call })
	switch porcupine.CheckOperationsTimeout(registerModel, ops, configLinLimit) {
	case porcupine.Ok:
		set.Add(cLinOK, 1)
	case porcupine.Illegal:
		set.Add(cLinIllegal, 1)
		sample(results.Sample{Kind: "not_linearizable", Detail: fmt.Sprintf("the %d reads and writes of %d registers have no linearization: a read returned a value that was not current", len(ops), configKeys)})
	default:
		set.Add(cLinUnknown, 1)
	}
	return manual(scRaceConfig, configReaders+1, set, start, ev.list()), ctx.Err() != nil, nil
}

func judgeConfig(sc *results.Scenario) (string, string) {
	c := sc.Metrics.Counters
	ev := fmt.Sprintf("%d readers made %d reads while a writer made %d updates: %d torn reads (checksum not matching values), %d version step-backs",
		configReaders, c[cConfigReads], c[cConfigWrites], c[cConfigTorn], c[cConfigBackwards])
	lin := "linearizable (porcupine, one partition per register)"
	switch {
	case c[cLinIllegal] > 0:
		lin = "NOT linearizable"
	case c[cLinUnknown] > 0:
		lin = fmt.Sprintf("inconclusive: porcupine found no answer within %s", configLinLimit)
	}
	ev += "; history " + lin
	if s := suite.FirstSample(sc, "config_torn", "config_version", "not_linearizable", "config_write_error"); s != "" {
		ev += "; e.g. " + s
	}
	switch {
	case c[cConfigTorn] > 0 || c[cConfigBackwards] > 0 || c[cLinIllegal] > 0:
		return results.Fail, ev
	case c[cConfigFailed] > 0:
		return results.Fail, "insufficient evidence: no config read or write happened (the check needs one of each): " + suite.FirstSample(sc, "config_error")
	case c[cConfigWrites] == 0 || c[cConfigReads] == 0:
		return results.Fail, "insufficient evidence: " + ev + " (the check needs a read and a write at once)"
	case c[cLinUnknown] > 0:
		return results.Skip, ev
	}
	return results.Pass, ev
}
