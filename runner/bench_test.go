package runner

import (
	"context"
	"testing"
	"time"

	"github.com/faultline/faultline/internal/realtest"
	"github.com/faultline/faultline/workloads/zkregister"
)

// BenchmarkZKRegisterThroughput measures the ops per second zk-register
// reaches against a real 3+3 cluster (sync reads, 10 processes, no rate
// cap), with the history recorded and with it discarded, to show what
// recording costs. One iteration is one 15 s test:
//
//	go test -run '^$' -bench ZKRegisterThroughput -benchtime 1x ./runner
func BenchmarkZKRegisterThroughput(b *testing.B) {
	realtest.Require(b)
	for _, mode := range []struct {
		name    string
		discard bool
	}{{"recorded", false}, {"discarded", true}} {
		b.Run(mode.name, func(b *testing.B) {
			var ops, secs float64
			for b.Loop() {
				out, err := Run(context.Background(), Spec{
					TimeLimit:      15 * time.Second,
					Concurrency:    10,
					Seed:           7,
					Store:          b.TempDir(),
					ZKRegister:     zkregister.Options{Reads: zkregister.ReadSync},
					DiscardHistory: mode.discard,
				})
				if err != nil {
					b.Fatal(err)
				}
				ops += float64(out.Ops)
				secs += 15
			}
			b.ReportMetric(ops/secs, "ops/s")
			b.ReportMetric(0, "ns/op")
		})
	}
}
