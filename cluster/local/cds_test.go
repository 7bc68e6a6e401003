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
	cache := t.TempDir()
	if err := os.Symlink(filepath.Join(cluster.Options{}.Defaults().CacheDir, "dist"), filepath.Join(cache, "dist")); err != nil {
		t.Fatal(err)
	}
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
