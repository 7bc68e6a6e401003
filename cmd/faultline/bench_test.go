package main

import (
	"bufio"
	"context"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/faultline/faultline/internal/realtest"
)

// BenchmarkClusterUpCtrlC measures what a user waits for: from starting
// `faultline cluster up` (3 ZooKeeper nodes, 3 brokers) to its ready line,
// and from Ctrl-C (SIGINT) to the process having torn everything down.
// Run it alone, a few times: make bench, or
//
//	go test -run '^$' -bench ClusterUpCtrlC -benchtime 3x ./cmd/faultline
func BenchmarkClusterUpCtrlC(b *testing.B) {
	realtest.Require(b)
	bin := buildFaultline(b)
	var up, down time.Duration
	for b.Loop() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
		began := time.Now()
		cmd := exec.CommandContext(ctx, bin, "cluster", "up", "--log-level", "warn")
		stdout, err := cmd.StdoutPipe()
		if err != nil {
			b.Fatal(err)
		}
		cmd.Stderr = os.Stderr
		if err := cmd.Start(); err != nil {
			b.Fatal(err)
		}
		sc := bufio.NewScanner(stdout)
		ready := false
		for sc.Scan() {
			if strings.Contains(sc.Text(), " ready in ") {
				ready = true
				break
			}
		}
		if !ready {
			cancel()
			_ = cmd.Wait()
			b.Fatal("cluster up never said it was ready")
		}
		up += time.Since(began)
		began = time.Now()
		if err := cmd.Process.Signal(syscall.SIGINT); err != nil {
			b.Fatal(err)
		}
		for sc.Scan() {
		}
		if err := cmd.Wait(); err != nil {
			b.Fatalf("cluster up after Ctrl-C: %v", err)
		}
		down += time.Since(began)
		cancel()
	}
	n := float64(b.N)
	b.ReportMetric(up.Seconds()/n, "s-to-ready")
	b.ReportMetric(down.Seconds()/n, "s-to-torn-down")
	b.ReportMetric(0, "ns/op")
}
