package results_test

import (
	"bytes"
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/goldenpath-dev/goldenpath/internal/results"
)

// v1File is a results.json of the previous schema, cut to what changed.
const v1File = `{
  "schema": "goldenpath.results/v1",
  "options": {"sla": ["login: p95 < 5s", "success_rate: >= 98%"]},
  "status": "fail",
  "checks": [
    {"suite": "integrated", "name": "authentication_under_5_seconds", "status": "pass", "evidence": "login p95 = 58ms",
     "rule": "login: p95 < 5s", "observed": 58.2, "threshold": 5000, "unit": "ms", "scenario": "integrated"},
    {"suite": "regression", "name": "database_performance_regression", "status": "fail", "evidence": "db_operation p95 +31.0%",
     "observed": 0.31, "threshold": 0.2, "unit": "ratio", "scenario": "comparison"},
    {"suite": "race", "name": "user_isolation_state_contamination", "status": "fail", "evidence": "foreign_user x1",
     "observed": 0, "threshold": 0, "scenario": "race_mixed_load"}
  ],
  "scenarios": [{"name": "race_mixed_load", "suite": "race", "metrics": {}, "samples": [
    {"kind": "violation:foreign_user", "detail": "agent_thinking carries user_id u_3ca4, want u_5bb7", "frame": "{\"user_id\":\"u_3ca4\"}"},
    {"kind": "violation:foreign_data", "detail": "frame carries data of user virtual user 3"},
    {"kind": "violation:foreign_user", "detail": "connection_established for user alice, want bob"}
  ]}]
}`

func TestReadJSONV1(t *testing.T) {
	r, err := results.ReadJSON(strings.NewReader(v1File))
	if err != nil {
		t.Fatalf("ReadJSON(v1): %v", err)
	}
	if r.Schema != results.Schema {
		t.Errorf("ReadJSON(v1).Schema = %q; want %q", r.Schema, results.Schema)
	}
	want := []*results.Rule{
		{Metric: "login", Stat: "p95", Op: "<", Limit: 5000, Unit: "ms"},
		{Stat: "change", Op: "<=", Limit: 0.2, Unit: "ratio"},
		nil,
	}
	for i, c := range r.Checks {
		if !reflect.DeepEqual(c.Rule, want[i]) {
			t.Errorf("ReadJSON(v1): check %s rule = %+v; want %+v", c.Name, c.Rule, want[i])
		}
	}
	if c := r.Checks[0]; c.Observed != 58.2 || c.Unit != "ms" || c.Scenario != "integrated" || c.Threshold() != 5000 {
		t.Errorf("ReadJSON(v1): check 0 = %+v; want observed 58.2 ms of scenario integrated, limit 5000", c)
	}
	users := [][]results.User{
		{{ID: "u_3ca4"}, {ID: "u_5bb7"}},
		{results.VirtualUser(3)},
		{{ID: "alice"}},
	}
	for i, s := range r.Scenarios[0].Samples {
		if !reflect.DeepEqual(s.Users, users[i]) {
			t.Errorf("ReadJSON(v1): sample %q users = %+v; want %+v", s.Detail, s.Users, users[i])
		}
	}
}

func TestJSONRoundTrip(t *testing.T) {
	vu := 7
	in := &results.Results{
		Schema:  results.Schema,
		Options: results.Options{SLA: []string{"login: p95 < 5s"}},
		Checks: []results.Check{
			{Suite: "integrated", Name: "a", Status: results.Pass, Evidence: "e",
				Rule:     &results.Rule{Metric: "login", Stat: "p95", Op: "<", Limit: 5000, Unit: "ms"},
				Observed: 58.2, Unit: "ms", Samples: 41, Scenario: "integrated"},
			{Suite: "race", Name: "b", Status: results.Fail, Evidence: "f"},
		},
		Scenarios: []results.Scenario{{Name: "s", Samples: []results.Sample{{Kind: "violation:foreign_data", Detail: "d",
			Users: []results.User{{VirtualUser: &vu, ID: "u_1234"}, {ID: "u_abcd", Foreign: true}}}}}},
	}
	var b bytes.Buffer
	if err := results.WriteJSON(&b, in); err != nil {
		t.Fatal(err)
	}
	out, err := results.ReadJSON(&b)
	if err != nil {
		t.Fatalf("ReadJSON(WriteJSON(r)): %v", err)
	}
	if !reflect.DeepEqual(out.Checks, in.Checks) || !reflect.DeepEqual(out.Scenarios[0].Samples, in.Scenarios[0].Samples) {
		t.Errorf("ReadJSON(WriteJSON(r)): checks %+v, samples %+v; want %+v, %+v", out.Checks, out.Scenarios[0].Samples, in.Checks, in.Scenarios[0].Samples)
	}
}

func TestReadJSONRefuses(t *testing.T) {
	for _, tc := range []struct{ name, in, want string }{
		{"another schema", `{"schema": "goldenpath.results/v0"}`, `results: schema "goldenpath.results/v0", want "goldenpath.results/v1" or "goldenpath.results/v2"`},
		{"no schema", `{"checks": []}`, `results: schema "", want`},
		{"not JSON", `SUITE CHECK`, "results: not a results file: invalid character"},
		{"an array", `[]`, "results: not a results file: json: cannot unmarshal array"},
		{"a v2 check of v1's form", `{"schema": "goldenpath.results/v2", "checks": [{"rule": "login: p95 < 5s"}]}`, "results: not a results file"},
	} {
		_, err := results.ReadJSON(strings.NewReader(tc.in))
		var re *results.ReadError
		if err == nil || !strings.Contains(err.Error(), tc.want) || !errors.As(err, &re) {
			t.Errorf("ReadJSON(%s) error = %v; want a *ReadError containing %q", tc.name, err, tc.want)
		}
	}
}

// TestOptionsRoundTrip: the options a run changed are written and read
// back; a file written before they were recorded reads with none of them,
// and a skipped capacity search (max_users 0) is told from an unrecorded
// one.
func TestOptionsRoundTrip(t *testing.T) {
	zero := 0
	in := results.Options{Suites: []string{"race"}, Users: 10, Duration: "30s", Rate: 2.5, Segment: "1/1",
		SLA: []string{"login: p95 < 1s"}, SLAOverrides: []string{"login: p95 < 1s"}, Think: "100ms", TargetThink: "0s",
		RunTimeout: "5s", MaxUsers: &zero, StepDuration: "2s", UsersFile: "ci/users.csv", AdminTokenGiven: true}
	var b bytes.Buffer
	if err := results.WriteJSON(&b, &results.Results{Schema: results.Schema, Options: in}); err != nil {
		t.Fatal(err)
	}
	for _, w := range []string{`"max_users": 0`, `"admin_token_given": true`, `"target_think": "0s"`, `"sla_overrides": [`} {
		if !strings.Contains(b.String(), w) {
			t.Errorf("WriteJSON(options %+v) lacks %s:\n%s", in, w, b.String())
		}
	}
	out, err := results.ReadJSON(&b)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(out.Options, in) {
		t.Errorf("ReadJSON(WriteJSON(options)) = %+v; want %+v", out.Options, in)
	}
	old, err := results.ReadJSON(strings.NewReader(`{"schema": "goldenpath.results/v2", "options": {"suites": ["race"], "users": 10, "duration": "30s", "segment": "1/1", "sla": []}}`))
	if err != nil {
		t.Fatal(err)
	}
	if o := old.Options; o.MaxUsers != nil || o.Think != "" || o.RunTimeout != "" || o.UsersFile != "" || o.AdminTokenGiven || o.SLAOverrides != nil {
		t.Errorf("ReadJSON(a file without the recorded options) options = %+v; want none of them", o)
	}
}
