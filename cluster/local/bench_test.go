package local

import (
	"context"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/faultline/faultline/cluster"
	"github.com/faultline/faultline/internal/realtest"
)

// BenchmarkBringUp compares bringing up a 3 + 3 cluster in ZooKeeper mode
// (3 ZooKeeper nodes, 3 brokers, Kafka 3.9.2) and in KRaft mode (3
// controllers, 3 brokers; Kafka 4.4.0, and 3.9.2 for the same release),
// side by side in one run: seconds to healthy, seconds to torn down, the
// CPU the cluster's JVMs spent to get there (the servers', and
// kafka-storage format's) and the memory the cluster's processes hold once
// healthy (resident set). Each
// with the JVMs' class archives (made by an untimed first bring-up when
// missing) and without (no-cds). The distributions must be fetched already
// (make fetch):
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
		{"zk-3.9.2-no-cds", cluster.Options{KafkaNodes: 3, NoCDS: true}},
		{"kraft-4.4.0-no-cds", cluster.Options{KafkaMode: cluster.ModeKRaft, KafkaVersion: "4.4.0", KafkaNodes: 3, Controllers: 3, NoCDS: true}},
	} {
		b.Run(tc.name, func(b *testing.B) {
			if !tc.o.NoCDS {
				warmUp(b, tc.o)
			}
			var up, down, rss, cpu float64
			for b.Loop() {
				ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
				children := childrenCPU()
				began := time.Now()
				c, err := Backend{}.Up(ctx, tc.o)
				if err != nil {
					cancel()
					b.Fatal(err)
				}
				up += time.Since(began).Seconds()
				cpu += childrenCPU() - children
				for _, n := range c.Nodes() {
					rss += residentMiB(n.(*localNode).PID())
					cpu += cpuSeconds(n.(*localNode).PID())
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
			b.ReportMetric(cpu/n, "cpu-s")
			b.ReportMetric(0, "ns/op")
		})
	}
}

// warmUp brings a cluster up and down once, untimed, so that the class
// archives it uses exist.
func warmUp(b *testing.B, o cluster.Options) {
	b.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	c, err := Backend{}.Up(ctx, o)
	if err != nil {
		b.Fatal(err)
	}
	if err := c.Close(ctx); err != nil {
		b.Fatal(err)
	}
}

// cpuSeconds is the CPU a process has used (user and system), assuming
// Linux's 100 clock ticks a second.
func cpuSeconds(pid int) float64 {
	st, err := readProcStat(pid)
	if err != nil {
		return 0
	}
	return float64(st.UTime+st.STime) / 100
}

// childrenCPU is the CPU the harness's children that have exited and been
// waited for used (kafka-storage format).
func childrenCPU() float64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_CHILDREN, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano()).Seconds()
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
