package local

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/faultline/faultline/cluster"
	"github.com/faultline/faultline/internal/nsutil"
	"github.com/faultline/faultline/internal/realtest"
	"github.com/vishvananda/netns"
	"golang.org/x/sys/unix"
)

func randomID(t *testing.T) string {
	t.Helper()
	b := make([]byte, 3)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(b)
}

// mountedNames lists the names under /run/netns that have a mount of
// their own, hidden ones included.
func mountedNames(t *testing.T) []string {
	t.Helper()
	mounts, err := readMountInfo()
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, m := range mounts {
		if filepath.Dir(m.point) == netnsDir {
			names = append(names, filepath.Base(m.point))
		}
	}
	return names
}

// TestIPNetnsAddDuringARun: someone runs `ip netns add` and `ip netns del`
// of a namespace of their own while a run is up; the run's teardown still
// leaves nothing.
func TestIPNetnsAddDuringARun(t *testing.T) {
	realtest.Require(t)
	if _, err := exec.LookPath("ip"); err != nil {
		t.Fatalf("iproute2's ip is needed for this test (apt-get install iproute2): %v", err)
	}
	c := upCluster(t, cluster.Options{ZooKeeperNodes: 1, KafkaNodes: 1})
	lc := c.(*localCluster)
	id, dir := lc.ID(), lc.Dir()
	inodes := map[uint64]bool{}
	for _, name := range lc.state.Namespaces {
		ino, err := nsInode(nsPath(name))
		if err != nil {
			t.Fatal(err)
		}
		inodes[ino] = true
	}
	theirs := "fltest-ipnetns-" + randomID(t)
	for _, args := range [][]string{{"netns", "add", theirs}, {"netns", "del", theirs}} {
		if out, err := exec.Command("ip", args...).CombinedOutput(); err != nil {
			t.Fatalf("ip %v: %v: %s", args, err, out)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := c.Close(ctx); err != nil {
		t.Fatalf("teardown after ip netns add/del: %v", err)
	}
	assertRunGone(t, id, dir, inodes, nil)
	for _, n := range mountedNames(t) {
		if slices.Contains(lc.state.Namespaces, n) {
			t.Errorf("namespace %s is still mounted (hidden) after teardown", n)
		}
	}
}

// TestDownUncoversHiddenMounts: a run whose namespace mounts a bind mount
// over /run/netns hides (what `ip netns add` did before faultline made
// /run/netns a shared mount point) is removed by Down all the same, and a
// namespace someone made on the covering mount survives it.
func TestDownUncoversHiddenMounts(t *testing.T) {
	realtest.Require(t)
	if err := shareNetnsDir(); err != nil {
		t.Fatal(err)
	}
	id := randomID(t)
	names := []string{runNSName(id), nodeNSName(id, "zk1")}
	for _, n := range names {
		ns, err := nsutil.NewNamedNamespace(n)
		if err != nil {
			t.Fatal(err)
		}
		ns.Close()
	}
	st := &runState{ID: id, HarnessPID: 1, Namespaces: names, Created: time.Now()}
	if err := st.write(); err != nil {
		t.Fatal(err)
	}
	// Cover /run/netns with a private copy of itself: the run's mounts stay
	// below, hidden from every path.
	if err := unix.Mount(netnsDir, netnsDir, "none", unix.MS_BIND|unix.MS_REC, ""); err != nil {
		t.Fatal(err)
	}
	if err := unix.Mount("", netnsDir, "none", unix.MS_PRIVATE|unix.MS_REC, ""); err != nil {
		t.Fatal(err)
	}
	theirs := "fltest-theirs-" + id
	ns, err := nsutil.NewNamedNamespace(theirs)
	if err != nil {
		t.Fatal(err)
	}
	ns.Close()
	t.Cleanup(func() { _ = netns.DeleteNamed(theirs) })
	if hidden, err := hiddenMounts(names); err != nil || len(hidden) != len(names) {
		t.Fatalf("the test did not hide the run's mounts: hidden %v (%v)", hidden, err)
	}

	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	removed, _, err := Down(ctx, id, false)
	if err != nil || !slices.Contains(removed, id) {
		t.Fatalf("down %s: removed %v, %v", id, removed, err)
	}
	for _, n := range mountedNames(t) {
		if slices.Contains(names, n) {
			t.Errorf("namespace %s is still mounted (hidden) after down", n)
		}
	}
	for _, n := range names {
		if _, err := os.Stat(nsPath(n)); !os.IsNotExist(err) {
			t.Errorf("namespace file %s left: %v", n, err)
		}
	}
	var sfs unix.Statfs_t
	if err := unix.Statfs(nsPath(theirs), &sfs); err != nil || sfs.Type != unix.NSFS_MAGIC {
		t.Errorf("someone else's namespace %s did not survive the uncovering: %v", theirs, err)
	}
	if h, err := netns.GetFromName(theirs); err != nil {
		t.Errorf("open %s after down: %v", theirs, err)
	} else {
		h.Close()
	}
}
