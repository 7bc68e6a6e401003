package checker

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/faultline/faultline/history"
)

// Calls on any key with zxids, each invoked and completed before the next
// one starts (see builder).

func (b *builder) zread(p history.Process, key string, value, version, zxid int64) *builder {
	return b.add(p, history.Invoke, "read", key, "", "").
		add(p, history.OK, "read", key, fmt.Sprintf(`{"value":%d,"version":%d,"zxid":%d}`, value, version, zxid), "")
}

func (b *builder) zwrite(p history.Process, key string, value, version, zxid int64) *builder {
	return b.add(p, history.Invoke, "write", key, fmt.Sprintf(`{"value":%d}`, value), "").
		add(p, history.OK, "write", key, fmt.Sprintf(`{"value":%d,"version":%d,"zxid":%d}`, value, version, zxid), "")
}

func (b *builder) zcas(p history.Process, key string, expected, value, version, zxid int64) *builder {
	in := fmt.Sprintf(`{"expected_version":%d,"value":%d`, expected, value)
	return b.add(p, history.Invoke, "cas", key, in+"}", "").
		add(p, history.OK, "cas", key, fmt.Sprintf(`%s,"version":%d,"zxid":%d}`, in, version, zxid), "")
}

// zinfo is a write on key that completes as info (retiring p).
func (b *builder) zinfo(p history.Process, key string, value int64) *builder {
	in := fmt.Sprintf(`{"value":%d}`, value)
	return b.add(p, history.Invoke, "write", key, in, "").add(p, history.Info, "write", key, "", "timeout")
}

// zfail is a write on key that certainly did not happen.
func (b *builder) zfail(p history.Process, key string, value int64) *builder {
	in := fmt.Sprintf(`{"value":%d}`, value)
	return b.add(p, history.Invoke, "write", key, in, "").add(p, history.Fail, "write", key, "", "no-server")
}

// on sets the node of the last op.
func (b *builder) on(node string) *builder {
	b.ops[len(b.ops)-1].Node = node
	return b
}

// finalRead is a final read by process p: its completion names the
// ensemble.
func (b *builder) finalRead(p history.Process, key string, value, version, zxid int64) *builder {
	return b.zread(p, key, value, version, zxid).on(finalNode)
}

// Zxids in the tests: epoch 1.
const z = 1 << 32

// wantKinds checks that res found anomalies of exactly the kinds given,
// each with an example.
func wantKinds(t *testing.T, res Result, kinds ...string) {
	t.Helper()
	var got []string
	for k, n := range res.AnomalyCounts {
		if n > 0 {
			got = append(got, k)
		}
	}
	slices.Sort(got)
	slices.Sort(kinds)
	if !slices.Equal(got, kinds) {
		b, _ := json.MarshalIndent(res.Anomalies, "", "  ")
		t.Fatalf("anomaly kinds %v, want %v\n%s", got, kinds, b)
	}
	for _, k := range kinds {
		if !slices.ContainsFunc(res.Anomalies, func(a Anomaly) bool { return a.Kind == k && a.Message != "" && len(a.Ops) > 0 && a.At != nil }) {
			t.Errorf("no example of %s with a message, ops and where it shows", k)
		}
	}
}

func checkWith(t *testing.T, c Checker, ops []history.Op) Result {
	t.Helper()
	res := c.Check(context.Background(), ops, Options{Timeout: time.Minute})
	if _, err := json.Marshal(res); err != nil {
		t.Fatalf("result does not marshal: %v", err)
	}
	if res.Checker != c.Name() {
		t.Fatalf("result names checker %q, want %q", res.Checker, c.Name())
	}
	if res.Valid != Unknown || res.Error == "" {
		if res.Details == nil {
			t.Fatal("no details")
		}
		if head, _ := res.Details.Summary(); head == "" {
			t.Error("empty summary headline")
		}
	}
	return res
}
