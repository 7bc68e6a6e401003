package local

import (
	"context"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/faultline/faultline/cluster"
	"github.com/faultline/faultline/internal/realtest"
)

// BenchmarkBringUp compares bringing up a 3 + 3 cluster in ZooKeeper mode
// (3 ZooKeeper nodes, 3 brokers, Kafka 3.9.2) and in KRaft mode (3
// controllers, 3 brokers; Kafka 4.4.0, and 3.9.2 for the same release),
// side by side in one run: seconds to healthy, seconds to torn down, and
// the memory the cluster's processes hold once healthy (resident set). The
// distributions must be fetched already (make fetch):
//
//	FAULTLINE_REAL_TESTS=1 go test -run '^$' -bench BringUp -benchtime 3x ./cluster/local
func BenchmarkBringUp(b *testing.B) {
	realtest.Require(b)
	for _, tc := range []struct {
		name string
		o    cluster.Options
	}{
		{"zk-3.9.2", cluster.Options{KafkaNodes: 3}},
		{"kraft-4.4.0", cluster.Options{KafkaMode: cluster.ModeKRaft, KafkaVersion: "4.4.0", KafkaNodes: 3, Controllers: 3}},
		{"kraft-3.9.2", cluster.Options{KafkaMode: cluster.ModeKRaft, KafkaVersion: "3.9.2", KafkaNodes: 3, Controllers: 3}},
	} {
		b.Run(tc.name, func(b *testing.B) {
			var up, down, rss float64
			for b.Loop() {
				ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
				began := time.Now()
				c, err := Backend{}.Up(ctx, tc.o)
				if err != nil {
					cancel()
					b.Fatal(err)
				}
				up += time.Since(began).Seconds()
				for _, n := range c.Nodes() {
					rss += residentMiB(n.(*localNode).PID())
				}
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
			b.ReportMetric(rss/n, "rss-MiB")
			b.ReportMetric(0, "ns/op")
		})
	}
}

// residentMiB is a process's resident set, in MiB (0 when gone).
func residentMiB(pid int) float64 {
	b, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "status"))
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			kb, _ := strconv.ParseFloat(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 64)
			return kb / 1024
		}
	}
	return 0
}
