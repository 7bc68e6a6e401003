package cluster

import (
	"os"
	"path/filepath"
	"testing"
)

func TestNewRunID(t *testing.T) {
	id, err := NewRunID()
	if err != nil || len(id) != 6 {
		t.Fatalf("NewRunID = %q, %v; want six hex digits", id, err)
	}
}

func TestWorkDir(t *testing.T) {
	dir, remove, err := WorkDir(Options{}, "abc123")
	if err != nil || dir != filepath.Join(os.TempDir(), "faultline-abc123") || !remove {
		t.Errorf("no Dir: %q, remove %v, %v; want faultline-abc123 in the temporary directory, removed", dir, remove, err)
	}
	if _, remove, _ := WorkDir(Options{KeepDir: true}, "abc123"); remove {
		t.Error("KeepDir: the work directory would be removed")
	}
	wd, _ := os.Getwd()
	dir, remove, err = WorkDir(Options{Dir: "runs/x"}, "abc123")
	if err != nil || dir != filepath.Join(wd, "runs/x") || remove {
		t.Errorf("Dir runs/x: %q, remove %v, %v; want it absolute and kept", dir, remove, err)
	}
}
