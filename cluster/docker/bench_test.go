package docker

import (
	"context"
	"testing"
	"time"

	"github.com/faultline/faultline/cluster"
	"github.com/faultline/faultline/cluster/local"
	"github.com/faultline/faultline/internal/realtest"
)

// BenchmarkBringUp brings a 3 + 3 cluster (ZooKeeper mode, Kafka 3.9.2)
// up to healthy and tears it down on the Docker backend and on the local
// backend, side by side in one run: seconds to healthy and to torn down.
// Target: Docker within 2x of local. The image and the distributions
// must be there (faultline docker setup; make fetch):
//
//	FAULTLINE_REAL_TESTS=1 go test -run '^$' -bench BringUp -benchtime 3x ./cluster/docker
func BenchmarkBringUp(b *testing.B) {
	realtest.Require(b)
	for _, be := range []cluster.Backend{local.Backend{}, Backend{}} {
		b.Run(be.Name(), func(b *testing.B) {
			o := cluster.Options{KafkaNodes: 3}
			if err := be.Preflight(context.Background(), o); err != nil {
				b.Skipf("%s backend: %v", be.Name(), err)
			}
			var up, down float64
			for b.Loop() {
				ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
				began := time.Now()
				c, err := be.Up(ctx, o)
				if err != nil {
					cancel()
					b.Fatal(err)
				}
				up += time.Since(began).Seconds()
				began = time.Now()
				if err := c.Close(ctx); err != nil {
					b.Error(err)
				}
				down += time.Since(began).Seconds()
				cancel()
			}
			n := float64(b.N)
			b.ReportMetric(up/n, "up-s")
			b.ReportMetric(down/n, "down-s")
			b.ReportMetric(0, "ns/op")
		})
	}
}
