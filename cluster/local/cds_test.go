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

// TestClassArchivesMadeThenMapped: the first run of a version makes a
// class archive per kind of JVM (kafka-storage format, controller, broker)
// in the cache folder, and leaves nothing half made; the next run's JVMs
// map those archives. A cache folder of its own (the distributions linked
// in) keeps the machine's archives out of it.
func TestClassArchivesMadeThenMapped(t *testing.T) {
	realtest.Require(t)
	cache := realtest.CacheWithDists(t, cluster.Options{}.Defaults().CacheDir)
	o := cluster.Options{KafkaMode: cluster.ModeKRaft, KafkaVersion: cluster.DefaultKRaftKafkaVersion, Controllers: 1, KafkaNodes: 1, CacheDir: cache}
	kinds := []string{"storage-format", "controller", "broker-kraft"}

	first := upCluster(t, o)
	for _, n := range first.Nodes() {
		if m := mappedArchives(t, n.(*localNode).PID(), cache); len(m) != 0 {
			t.Errorf("first run: %s maps %v before any archive was made", n.Name(), m)
		}
	}
	closeCluster(t, first)
	archives := map[string]string{}
	for _, kind := range kinds {
		m, _ := filepath.Glob(filepath.Join(cache, "cds", kind+"-*.jsa"))
		if len(m) != 1 {
			t.Fatalf("after the first run: %s archives %v, want one", kind, m)
		}
		archives[kind] = m[0]
	}
	if left, _ := filepath.Glob(filepath.Join(cache, "cds", "*.making")); len(left) != 0 {
		t.Errorf("half-made archives left: %v", left)
	}

	second := upCluster(t, o)
	for _, n := range second.Nodes() {
		want := archives[cluster.ClassArchiveKind(n.(*localNode).spec, true)]
		if m := mappedArchives(t, n.(*localNode).PID(), cache); len(m) != 1 || m[0] != want {
			t.Errorf("second run: %s maps %v, want %s", n.Name(), m, want)
		}
	}
}

// closeCluster tears c down now (its cleanup then does nothing).
func closeCluster(t *testing.T, c cluster.Cluster) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := c.Close(ctx); err != nil {
		t.Fatalf("close: %v", err)
	}
}

// mappedArchives lists the archives under cache that process pid maps.
func mappedArchives(t *testing.T, pid int, cache string) []string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "maps"))
	if err != nil {
		t.Fatalf("maps of pid %d: %v", pid, err)
	}
	seen := map[string]bool{}
	var files []string
	for _, line := range strings.Split(string(b), "\n") {
		fields := strings.Fields(line)
		if len(fields) < 6 || !strings.HasPrefix(fields[5], cache) || seen[fields[5]] {
			continue
		}
		seen[fields[5]] = true
		files = append(files, fields[5])
	}
	return files
}

// TestArchiveOnlyFromProcessesSeenHealthy: a broker killed and started
// again (as the nemesis does) before any archive of its kind exists makes
// one only if the harness saw the cluster healthy (Up, WaitHealthy) with
// the new process. The runner's WaitHealthy after the heal does; a process
// stopped before any such check may have been stopped while it was still
// starting, and its archive would be a thin one that every later broker
// maps. Here the broker serves (cluster status says so) but no
// WaitHealthy saw it: no archive; after WaitHealthy: one.
func TestArchiveOnlyFromProcessesSeenHealthy(t *testing.T) {
	realtest.Require(t)
	cache := realtest.CacheWithDists(t, cluster.Options{}.Defaults().CacheDir)
	o := cluster.Options{KafkaMode: cluster.ModeKRaft, KafkaVersion: cluster.DefaultKRaftKafkaVersion, Controllers: 1, KafkaNodes: 1, CacheDir: cache}
	brokerArchives := func() []string {
		m, _ := filepath.Glob(filepath.Join(cache, "cds", "broker-kraft-*.jsa"))
		return m
	}
	// A deadline per step: the runs before take their own time.
	step := func() context.Context {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		t.Cleanup(cancel)
		return ctx
	}
	restartBroker := func(c cluster.Cluster) {
		t.Helper()
		ctx := step()
		b := c.Brokers()[0]
		if err := b.Kill(ctx); err != nil {
			t.Fatal(err)
		}
		if err := b.Start(ctx); err != nil {
			t.Fatal(err)
		}
		if p := b.(*localNode).current(); p == nil || !p.making {
			t.Fatal("the restarted broker does not make an archive")
		}
	}

	first := upCluster(t, o)
	restartBroker(first)
	ctx := step()
	for serving := false; !serving; {
		st, err := first.Status(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for _, n := range st.Nodes {
			serving = serving || (n.Role == cluster.RoleKafka && n.Serving())
		}
		if !serving {
			select {
			case <-ctx.Done():
				t.Fatal("the restarted broker never served")
			case <-time.After(500 * time.Millisecond):
			}
		}
	}
	closeCluster(t, first)
	if m := brokerArchives(); len(m) != 0 {
		t.Errorf("a broker no WaitHealthy saw kept archives %v", m)
	}
	if m, _ := filepath.Glob(filepath.Join(cache, "cds", "controller-*.jsa")); len(m) != 1 {
		t.Errorf("controller archives %v, want one (Up saw it healthy)", m)
	}

	second := upCluster(t, o)
	restartBroker(second)
	if err := second.WaitHealthy(step()); err != nil {
		t.Fatal(err)
	}
	closeCluster(t, second)
	if m := brokerArchives(); len(m) != 1 {
		t.Errorf("a restarted broker WaitHealthy saw kept archives %v, want one", m)
	}
}
