package cluster

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
)

// NewRunID makes a run's tag: six random hex digits. A backend names what
// it makes for the run after it.
func NewRunID() (string, error) {
	b := make([]byte, 3)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("make run id: %w", err)
	}
	return hex.EncodeToString(b), nil
}

// WorkDir is the work directory of run runID, made absolute (the servers
// run in their nodes' folders, so every path they are given must be):
// o.Dir, or when none is given faultline-<runID> in the temporary
// directory, which remove says the run deletes at Close unless o.KeepDir.
func WorkDir(o Options, runID string) (dir string, remove bool, err error) {
	dir = o.Dir
	if dir == "" {
		dir, remove = filepath.Join(os.TempDir(), "faultline-"+runID), !o.KeepDir
	}
	if dir, err = filepath.Abs(dir); err != nil {
		return "", false, fmt.Errorf("work directory: %w", err)
	}
	return dir, remove, nil
}
