package runner

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/faultline/faultline/checker"
	"github.com/faultline/faultline/history"
)

// judgedHistory is a valid zk-register history (a write, a read of it),
// with observer ops when observe is set: zk1 and zk2 both in mode leader
// for a while.
func judgedHistory(t *testing.T, observe bool) []history.Op {
	t.Helper()
	lines := []string{
		`{"index":0,"time":10,"process":0,"type":"invoke","f":"write","key":"r0","value":{"value":1}}`,
		`{"index":1,"time":20,"process":0,"type":"ok","f":"write","key":"r0","value":{"value":1,"version":1,"zxid":4294967300},"node":"zk1"}`,
		`{"index":2,"time":30,"process":1,"type":"invoke","f":"read","key":"r0"}`,
		`{"index":3,"time":40,"process":1,"type":"ok","f":"read","key":"r0","value":{"value":1,"version":1,"zxid":4294967300},"node":"zk2"}`,
	}
	if observe {
		lines = append(lines,
			`{"index":4,"time":50,"process":"observer","type":"invoke","f":"zk-mode","value":{"node":"zk1"}}`,
			`{"index":5,"time":60,"process":"observer","type":"ok","f":"zk-mode","value":{"node":"zk1","mode":"leader","epoch":1,"zxid":4294967300}}`,
			`{"index":6,"time":70,"process":"observer","type":"invoke","f":"zk-mode","value":{"node":"zk2"}}`,
			`{"index":7,"time":80,"process":"observer","type":"ok","f":"zk-mode","value":{"node":"zk2","mode":"leader","epoch":2,"zxid":8589934592}}`,
			`{"index":8,"time":90,"process":"observer","type":"invoke","f":"zk-mode","value":{"node":"zk1"}}`,
			`{"index":9,"time":100,"process":"observer","type":"info","f":"zk-mode","value":{"node":"zk1"},"error":"timeout"}`,
		)
	}
	ops, err := history.Read(strings.NewReader(strings.Join(lines, "\n") + "\n"))
	if err != nil {
		t.Fatal(err)
	}
	return ops
}

// leadershipResult finds the leadership checker's result, if any.
func leadershipResult(r checker.Result) *checker.Result {
	for _, lr := range r.Leaves() {
		if lr.Checker == "leadership" {
			return &lr
		}
	}
	return nil
}

// TestJudgeLeadership: a run with the observer is judged by the
// leadership checker too, which finds the overlap as a finding only; a
// run recorded before the observer, or with it off, is not.
func TestJudgeLeadership(t *testing.T) {
	on, off := true, false
	ctx := context.Background()
	for _, tc := range []struct {
		name    string
		observe *bool
		ops     bool
		judged  bool
		want    checker.Validity // of the leadership result
	}{
		{"observed", &on, true, true, checker.Invalid},
		{"old record, observer ops", nil, true, true, checker.Invalid},
		{"observer on, nothing recorded", &on, false, true, checker.Unknown},
		{"old record", nil, false, false, 0},
		{"observer off", &off, false, false, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rec := Record{Spec: Spec{Workload: "zk-register", Observe: tc.observe}}
			rep, err := Judge(ctx, rec, judgedHistory(t, tc.ops), checker.Options{})
			if err != nil {
				t.Fatal(err)
			}
			if rep.Valid != checker.Valid {
				t.Errorf("verdict %v, want valid: leadership is advisory", rep.Valid)
			}
			lr := leadershipResult(rep.Checks)
			switch {
			case !tc.judged && lr != nil:
				t.Errorf("judged by the leadership checker: %+v", lr)
			case !tc.judged:
			case lr == nil:
				t.Errorf("not judged by the leadership checker")
			case lr.Valid != tc.want || lr.Advisory == "":
				t.Errorf("leadership %v (advisory %q), want %v", lr.Valid, lr.Advisory, tc.want)
			case tc.want == checker.Invalid && lr.AnomalyCounts["zk-leader-overlap"] != 1:
				t.Errorf("leadership found %v", lr.AnomalyCounts)
			}
		})
	}
}

// TestObserveRecorded: the observer is on unless turned off, and test.json
// says which.
func TestObserveRecorded(t *testing.T) {
	s := Spec{}.Defaults()
	if !s.Observing() || s.Observe == nil {
		t.Fatalf("defaults: observe %v", s.Observe)
	}
	off := false
	for _, tc := range []struct {
		spec Spec
		want string
	}{{s, `"observe":true`}, {Spec{Observe: &off}.Defaults(), `"observe":false`}} {
		b, err := json.Marshal(Record{Spec: tc.spec})
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(string(b), tc.want) {
			t.Errorf("test.json %s does not say %s", b, tc.want)
		}
		var back Record
		if err := json.Unmarshal(b, &back); err != nil {
			t.Fatal(err)
		}
		if back.Observing() != tc.spec.Observing() || back.Observe == nil {
			t.Errorf("read back observe %v, want %v", back.Observe, tc.spec.Observing())
		}
	}
}
