package results

import (
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestCreateRunAndLocate(t *testing.T) {
	store := t.TempDir()
	first, err := CreateRun(store, "zk-register", time.Date(2026, 11, 25, 3, 4, 5, 0, time.UTC))
	if err != nil {
		t.Fatal(err)
	}
	second, err := CreateRun(store, "zk-register", time.Date(2026, 11, 25, 3, 5, 0, 0, time.UTC))
	if err != nil {
		t.Fatal(err)
	}
	if first == second || !strings.HasPrefix(filepath.Base(second), "20261125T030500") {
		t.Errorf("runs %s and %s", first, second)
	}
	if _, err := os.Lstat(filepath.Join(store, "latest")); !os.IsNotExist(err) {
		t.Errorf("latest exists before any run was marked: %v", err)
	}
	if err := MarkLatest(first); err != nil {
		t.Fatal(err)
	}
	if err := MarkLatest(second); err != nil {
		t.Fatal(err)
	}
	for _, link := range []string{filepath.Join(store, "latest"), filepath.Join(store, "zk-register", "latest")} {
		if got, err := filepath.EvalSymlinks(link); err != nil || got != second {
			t.Errorf("%s → %s (%v), want %s", link, got, err, second)
		}
	}
	if err := os.WriteFile(filepath.Join(second, HistoryFile), []byte("{}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, arg := range []string{second, filepath.Join(store, "latest"), filepath.Join(store, "zk-register"), filepath.Join(second, HistoryFile)} {
		if p, _, err := Locate(arg); err != nil || filepath.Base(p) != HistoryFile {
			t.Errorf("Locate(%s) = %s, %v", arg, p, err)
		}
	}
	if _, _, err := Locate(first); err == nil {
		t.Error("a run without a history located one")
	}
	if _, err := CreateRun(store, "../escape", time.Now()); err == nil {
		t.Error("a test name with a path in it was accepted")
	}
}

func TestCreateRunWithARelativeStore(t *testing.T) {
	t.Chdir(t.TempDir())
	dir, err := CreateRun("store", "zk-register", time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if !filepath.IsAbs(dir) {
		t.Errorf("run directory %q is relative: servers run in other folders and would not find it", dir)
	}
	if _, err := os.Stat(dir); err != nil {
		t.Error(err)
	}
}

// TestCreateRunSameMillisecond: runs of one test starting at the same
// instant get folders of their own, concurrently, and latest points at one.
func TestCreateRunSameMillisecond(t *testing.T) {
	store := t.TempDir()
	start := time.Date(2026, 11, 25, 5, 0, 0, 0, time.UTC)
	var wg sync.WaitGroup
	dirs := make([]string, 8)
	errs := make([]error, 8)
	for i := range dirs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			dirs[i], errs[i] = CreateRun(store, "zk-register", start)
			if errs[i] == nil {
				errs[i] = MarkLatest(dirs[i])
			}
		}()
	}
	wg.Wait()
	seen := map[string]bool{}
	for i, d := range dirs {
		if errs[i] != nil {
			t.Fatalf("run %d: %v", i, errs[i])
		}
		if seen[d] {
			t.Errorf("two runs share %s", d)
		}
		seen[d] = true
	}
	latest, err := filepath.EvalSymlinks(filepath.Join(store, "latest"))
	if err != nil || !seen[latest] {
		t.Errorf("latest points at %q (%v), not at one of the runs", latest, err)
	}
	leftovers, _ := filepath.Glob(filepath.Join(store, "*.tmp*"))
	if len(leftovers) > 0 {
		t.Errorf("temporary links left: %v", leftovers)
	}
}

// TestRemoveRunKeepsLatest: a run removed because nothing ran leaves the
// latest links pointing at the run before.
func TestRemoveRunKeepsLatest(t *testing.T) {
	store := t.TempDir()
	good, err := CreateRun(store, "t", time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	if err != nil {
		t.Fatal(err)
	}
	if err := MarkLatest(good); err != nil {
		t.Fatal(err)
	}
	junk, err := CreateRun(store, "t", time.Date(2026, 1, 1, 0, 0, 1, 0, time.UTC))
	if err != nil {
		t.Fatal(err)
	}
	if err := RemoveRun(junk); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(junk); !os.IsNotExist(err) {
		t.Errorf("%s left: %v", junk, err)
	}
	if got, err := filepath.EvalSymlinks(filepath.Join(store, "latest")); err != nil || got != good {
		t.Errorf("latest → %s (%v), want %s", got, err, good)
	}
	only, err := CreateRun(store, "u", time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if err := RemoveRun(only); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(store, "u")); !os.IsNotExist(err) {
		t.Errorf("the test folder of a removed only run is left: %v", err)
	}
}
