package zkregister

import (
	"encoding/json"
	"errors"
	"reflect"
	"testing"
	"time"

	"github.com/faultline/faultline/history"
)

func drawOps(t *testing.T, g *generator, n int, made *[]string) []history.Op {
	t.Helper()
	var ops []history.Op
	for range n {
		op, err := g.next(func(key string) error {
			*made = append(*made, key)
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		ops = append(ops, op)
	}
	return ops
}

func TestGeneratorIsSeeded(t *testing.T) {
	o := withDefaults(Options{Keys: 3, OpsPerKey: 10})
	var m1, m2, m3 []string
	a := drawOps(t, newGenerator(1, o), 200, &m1)
	b := drawOps(t, newGenerator(1, o), 200, &m2)
	c := drawOps(t, newGenerator(2, o), 200, &m3)
	if !reflect.DeepEqual(a, b) {
		t.Error("the same seed gave different ops")
	}
	if reflect.DeepEqual(a, c) {
		t.Error("different seeds gave the same ops")
	}
}

func TestGeneratorKeysValuesAndMix(t *testing.T) {
	o := withDefaults(Options{Keys: 2, OpsPerKey: 5})
	var made []string
	ops := drawOps(t, newGenerator(9, o), 100, &made)
	perKey := map[string]int{}
	values := map[int64]bool{}
	fs := map[string]int{}
	for _, op := range ops {
		if op.Type != history.Invoke {
			t.Fatalf("op %v is not an invocation", op)
		}
		perKey[op.Key]++
		fs[op.F]++
		var v struct{ Value *int64 }
		if op.F != "read" {
			if err := json.Unmarshal(op.Value, &v); err != nil || v.Value == nil {
				t.Fatalf("op %v has no value", op)
			}
			if values[*v.Value] {
				t.Fatalf("value %d written twice", *v.Value)
			}
			values[*v.Value] = true
		}
	}
	for k, n := range perKey {
		if n > o.OpsPerKey {
			t.Errorf("key %s got %d ops, more than %d", k, n, o.OpsPerKey)
		}
	}
	if len(made) != len(perKey) || len(made) < 100/o.OpsPerKey {
		t.Errorf("made %d keys for %d keys used", len(made), len(perKey))
	}
	if fs["read"] == 0 || fs["write"] == 0 || fs["cas"] == 0 {
		t.Errorf("op mix %v lacks a kind", fs)
	}
	none := drawOps(t, newGenerator(9, withDefaults(Options{Reads: ReadNone})), 100, &made)
	for _, op := range none {
		if op.F == "read" {
			t.Fatal("a read with --reads none")
		}
	}
}

func TestGeneratorWaitsForKeyCreation(t *testing.T) {
	g := newGenerator(3, withDefaults(Options{Keys: 1, OpsPerKey: 1}))
	if _, err := g.next(func(string) error { return errors.New("no quorum") }); err == nil {
		t.Fatal("an op was handed out on a key that was not made")
	}
	op, err := g.next(func(string) error { return nil })
	if err != nil || op.Key == "" {
		t.Fatalf("after a failed make: got %q, %v", op.Key, err)
	}
	if keys := g.keys(); len(keys) != 1 || keys[0] != op.Key {
		t.Errorf("keys() = %v, want only the key made, %s", keys, op.Key)
	}
}

// TestGeneratorMakesKeysWithoutBlockingOthers: while one process is stuck
// making a fresh key (ZooKeeper without quorum), the others go on with the
// other keys; with every key being made, they wait for it.
func TestGeneratorMakesKeysWithoutBlockingOthers(t *testing.T) {
	g := newGenerator(1, withDefaults(Options{Keys: 2, OpsPerKey: 1000}))
	free := func(string) error { return nil }
	// Make both keys first.
	for len(g.keys()) < 2 {
		if _, err := g.next(free); err != nil {
			t.Fatal(err)
		}
	}
	for i := range g.slots {
		g.slots[i].ops = g.opsPerKey // both spent
	}
	stuck := make(chan struct{})
	entered := make(chan string, 1)
	go func() {
		_, _ = g.next(func(key string) error {
			entered <- key
			<-stuck
			return nil
		})
	}()
	<-entered
	done := make(chan history.Op, 1)
	go func() {
		op, _ := g.next(free) // the other slot: makes its own fresh key
		done <- op
	}()
	select {
	case op := <-done:
		if op.Key == "" {
			t.Error("no op while another key was being made")
		}
	case <-time.After(5 * time.Second):
		t.Fatal("a process waited on another's key creation although a slot was free")
	}
	close(stuck)
}

func TestCasAimsAtSeenVersions(t *testing.T) {
	g := newGenerator(5, withDefaults(Options{Keys: 1, OpsPerKey: 1000, Reads: ReadNone}))
	var made []string
	drawOps(t, g, 1, &made)
	g.observe(41, "r0")
	near := 0
	for _, op := range drawOps(t, g, 200, &made) {
		if op.F != "cas" {
			continue
		}
		var v casValue
		if err := json.Unmarshal(op.Value, &v); err != nil {
			t.Fatal(err)
		}
		if v.ExpectedVersion >= 40 && v.ExpectedVersion <= 42 {
			near++
		}
	}
	if near == 0 {
		t.Error("no cas aimed near the version seen")
	}
}

func withDefaults(o Options) Options {
	o.Defaults()
	return o
}
