package docker

import (
	"context"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/faultline/faultline/cluster"
	"github.com/faultline/faultline/cluster/local"
	"github.com/faultline/faultline/internal/realtest"
)

// TestContainersMapClassArchives: class archives made by a local run (the
// containers run the host's java, at its path, on the jars mounted at
// theirs) are mapped by the containers' JVMs, and a node of a kind with no
// archive starts without one. A cache folder of its own (the distributions
// linked in) keeps the machine's archives out of it.
func TestContainersMapClassArchives(t *testing.T) {
	requireDaemon(t)
	cache := realtest.CacheWithDists(t, cluster.Options{}.Defaults().CacheDir)
	// A ZooKeeper-only local run makes the zookeeper archive alone.
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	lc, err := local.Backend{}.Up(ctx, cluster.Options{ZooKeeperNodes: 1, KafkaNodes: 0, CacheDir: cache})
	if err != nil {
		t.Fatalf("local run: %v", err)
	}
	if err := lc.Close(ctx); err != nil {
		t.Fatalf("close the local run: %v", err)
	}
	archives, _ := filepath.Glob(filepath.Join(cache, "cds", "zookeeper-*.jsa"))
	if len(archives) != 1 {
		t.Fatalf("after the local run: zookeeper archives %v, want one", archives)
	}

	c := upDocker(t, cluster.Options{ZooKeeperNodes: 1, KafkaNodes: 1, CacheDir: cache})
	for _, n := range c.Nodes() {
		p := n.(*node).Process(ctx)
		maps, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(p.PID), "maps"))
		if err != nil {
			t.Fatalf("maps of %s's java (pid %d): %v", n.Name(), p.PID, err)
		}
		mapped := strings.Contains(string(maps), filepath.Join(cache, "cds"))
		if want := n.Role() == cluster.RoleZooKeeper; mapped != want {
			t.Errorf("%s maps an archive of %s: %v, want %v", n.Name(), filepath.Join(cache, "cds"), mapped, want)
		}
	}
	if log, err := os.ReadFile(mustNode(t, c, "zk1").LogFile()); err != nil || strings.Contains(string(log), "Unable to use shared archive") {
		t.Errorf("zk1's log says its archive was refused (%v)", err)
	}
}
