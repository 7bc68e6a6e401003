package checker

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/faultline/faultline/history"
)

func TestValidityJSON(t *testing.T) {
	for _, tc := range []struct {
		v    Validity
		json string
	}{{Valid, "true"}, {Invalid, "false"}, {Unknown, `"unknown"`}} {
		got, err := json.Marshal(tc.v)
		if err != nil || string(got) != tc.json {
			t.Errorf("Marshal(%v) = %s, %v; want %s", tc.v, got, err, tc.json)
		}
		var back Validity = 99
		if err := json.Unmarshal([]byte(tc.json), &back); err != nil || back != tc.v {
			t.Errorf("Unmarshal(%s) = %v, %v", tc.json, back, err)
		}
	}
	var v Validity
	if err := json.Unmarshal([]byte(`"maybe"`), &v); err == nil {
		t.Error(`"maybe" accepted`)
	}
	if (Result{}).Valid != Unknown {
		t.Error("the zero Result is not Unknown")
	}
	b, _ := json.Marshal(Result{Checker: "x"})
	var m map[string]any
	_ = json.Unmarshal(b, &m)
	if m["valid"] != "unknown" {
		t.Errorf("zero result marshals valid as %v", m["valid"])
	}
}

func TestMergeAndCompose(t *testing.T) {
	for _, tc := range []struct {
		in   []Validity
		want Validity
	}{
		{nil, Valid},
		{[]Validity{Valid, Valid}, Valid},
		{[]Validity{Valid, Unknown}, Unknown},
		{[]Validity{Unknown, Invalid, Valid}, Invalid},
		{[]Validity{Invalid, Unknown}, Invalid},
	} {
		if got := Merge(tc.in...); got != tc.want {
			t.Errorf("Merge(%v) = %v, want %v", tc.in, got, tc.want)
		}
		var rs []Result
		for _, v := range tc.in {
			rs = append(rs, Result{Checker: "c", Valid: v})
		}
		c := Compose(rs...)
		if c.Valid != tc.want || c.Checker != "compose" || len(c.Results) != len(tc.in) {
			t.Errorf("Compose(%v) = %v with %d results", tc.in, c.Valid, len(c.Results))
		}
	}
}

type fixed Validity

func (fixed) Name() string { return "fixed" }
func (f fixed) Check(context.Context, []history.Op, Options) Result {
	return Result{Checker: "fixed", Valid: Validity(f)}
}

func TestAll(t *testing.T) {
	res := All(fixed(Valid), fixed(Unknown)).Check(context.Background(), nil, Options{})
	if res.Valid != Unknown || len(res.Results) != 2 {
		t.Fatalf("All = %v with %d results", res.Valid, len(res.Results))
	}
	res = All(fixed(Valid), Linearizable{}).Check(context.Background(), new(builder).write(0, "1", "1").read(1, "0", "0").ops, Options{})
	if res.Valid != Invalid || res.Results[1].Checker != "linearizable" {
		t.Fatalf("All = %v, %+v", res.Valid, res.Results)
	}
}

// slowChecker takes its whole timeout, then says unknown.
type slowChecker struct{ took *[]time.Duration }

func (slowChecker) Name() string { return "slow" }
func (s slowChecker) Check(ctx context.Context, _ []history.Op, opts Options) Result {
	began := time.Now()
	select {
	case <-ctx.Done():
	case <-time.After(opts.Timeout):
	}
	*s.took = append(*s.took, time.Since(began))
	return Result{Checker: "slow", Valid: Unknown}
}

// TestAllSharesOneDeadline: the timeout bounds every checker together.
func TestAllSharesOneDeadline(t *testing.T) {
	var took []time.Duration
	began := time.Now()
	All(slowChecker{&took}, slowChecker{&took}, slowChecker{&took}).Check(context.Background(), nil, Options{Timeout: 200 * time.Millisecond})
	if d := time.Since(began); d > 2*time.Second {
		t.Errorf("three checkers under a 200ms timeout took %s", d)
	}
	if len(took) != 3 || took[1] > 100*time.Millisecond || took[2] > 100*time.Millisecond {
		t.Errorf("the checkers after the first were given time again: %v", took)
	}
}
