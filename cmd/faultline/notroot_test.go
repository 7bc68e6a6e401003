package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"testing"
)

// TestNotRootIsOneLine: `faultline test` by a user who is not root says so
// in one line, exits 3, and leaves no run folder and no latest link. Run
// as root, it runs the command as nobody (uid 65534); it starts nothing
// either way, since the check comes before anything is made.
func TestNotRootIsOneLine(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("the local backend is Linux's")
	}
	bin := buildFaultline(t)
	store := t.TempDir()
	if err := os.Chmod(store, 0o777); err != nil {
		t.Fatal(err)
	}
	for _, d := range []string{filepath.Dir(bin), filepath.Dir(filepath.Dir(bin)), filepath.Dir(store)} {
		if err := os.Chmod(d, 0o755); err != nil { // nobody may reach the binary and the store
			t.Fatal(err)
		}
	}
	for _, args := range [][]string{
		{"test", "--store", store, "--time-limit", "5s"},
		{"cluster", "status"},
		{"cluster", "down"},
	} {
		cmd := exec.Command(bin, args...)
		cmd.Dir = store
		if os.Geteuid() == 0 {
			cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 65534, Gid: 65534}}
		}
		out, err := cmd.CombinedOutput()
		ee, ok := err.(*exec.ExitError)
		if !ok || ee.ExitCode() != exitHarness {
			t.Fatalf("%v as a user: %v, want exit 3; output %q", args, err, out)
		}
		lines := strings.Split(strings.TrimSpace(string(out)), "\n")
		if len(lines) != 1 || !strings.Contains(lines[0], "needs root") || !strings.Contains(lines[0], "sudo") {
			t.Errorf("%v: output is not one line saying root is needed and how: %q", args, out)
		}
		if args[0] == "cluster" && strings.Contains(lines[0], "make network namespaces") {
			t.Errorf("%v says %q: it makes no namespace", args, lines[0])
		}
	}
	entries, err := os.ReadDir(store)
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 0 {
		t.Errorf("the store holds %v after a run that could not start", entries)
	}
}
