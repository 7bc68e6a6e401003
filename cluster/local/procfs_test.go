package local

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

func TestReadProcStatOfSelf(t *testing.T) {
	st, err := readProcStat(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	if st.StartTime == 0 || !strings.ContainsRune("RS", rune(st.State)) {
		t.Errorf("own stat = %+v", st)
	}
	if !sameProcess(os.Getpid(), st.StartTime) || sameProcess(os.Getpid(), st.StartTime+1) {
		t.Error("sameProcess does not tell processes apart by start time")
	}
}

func TestReadProcStatNameWithSpacesAndParens(t *testing.T) {
	// A command name may hold ") (" and spaces; fields after it must still parse.
	dir := t.TempDir()
	name := filepath.Join(dir, "a) (b c")
	if err := os.Symlink("/bin/sleep", name); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(name, "5")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = cmd.Process.Kill(); _ = cmd.Wait() }()
	st, err := readProcStat(cmd.Process.Pid)
	if err != nil || st.StartTime == 0 {
		t.Fatalf("stat of %q = %+v, %v", name, st, err)
	}
}

func TestGoneProcess(t *testing.T) {
	cmd := exec.Command("/bin/true")
	if err := cmd.Run(); err != nil {
		t.Fatal(err)
	}
	if alive(cmd.Process.Pid) {
		t.Errorf("reaped process %d reported alive", cmd.Process.Pid)
	}
}
