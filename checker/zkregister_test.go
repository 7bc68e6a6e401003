package checker

import (
	"context"
	"slices"
	"strings"
	"testing"
)

func TestZKRegisterCheckers(t *testing.T) {
	for _, tc := range []struct {
		reads, consistency string
		advisory           string // the linearizable result's Advisory
		err                string
	}{
		{"quorum", "", "", ""},
		{"quorum", "linearizable", "", ""},
		{"quorum", "sequential", "not required (--consistency sequential), though quorum reads are promised to be linearizable", ""},
		{"sync", "", "not promised by ZooKeeper; --consistency linearizable to require", ""},
		{"", "", "not promised by ZooKeeper; --consistency linearizable to require", ""},
		{"local", "sequential", "not promised by ZooKeeper; --consistency linearizable to require", ""},
		{"none", "", "not promised by ZooKeeper; --consistency linearizable to require", ""},
		{"sync", "linearizable", "", ""},
		{"local", "linearizable", "", ""},
		{"eventual", "", "", `no read mode "eventual"`},
		{"sync", "causal", "", `no consistency "causal"`},
	} {
		t.Run(tc.reads+"/"+tc.consistency, func(t *testing.T) {
			cs, err := ZKRegisterCheckers(tc.reads, tc.consistency)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("error %v, want one saying %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var names []string
			for _, c := range cs {
				names = append(names, c.Name())
			}
			if want := []string{"linearizable-writes", "sequential", "linearizable"}; !slices.Equal(names, want) {
				t.Fatalf("checkers %v, want %v", names, want)
			}
			// A stale read: sequential, but not linearizable.
			res := All(cs...).Check(context.Background(), staleRead().ops, Options{})
			lin := res.Results[2]
			if lin.Valid != Invalid || lin.Advisory != tc.advisory {
				t.Fatalf("linearizable %v, advisory %q; want invalid, %q", lin.Valid, lin.Advisory, tc.advisory)
			}
			want := Invalid
			if tc.advisory != "" {
				want = Valid
			}
			if res.Valid != want {
				t.Errorf("verdict %v, want %v", res.Valid, want)
			}
		})
	}
}

func TestZKRegisterConsistency(t *testing.T) {
	for reads, want := range map[string]string{"quorum": ConsistencyLinearizable, "sync": ConsistencySequential,
		"local": ConsistencySequential, "none": ConsistencySequential, "": ConsistencySequential} {
		if got, err := ZKRegisterConsistency(reads); got != want || err != nil {
			t.Errorf("%q: %q, %v; want %q", reads, got, err, want)
		}
	}
}
