package cluster

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestTailFile(t *testing.T) {
	p := filepath.Join(t.TempDir(), "log")
	var b strings.Builder
	for i := range 100 {
		b.WriteString(strings.Repeat("x", i%7) + "\n")
	}
	b.WriteString("last line\n")
	if err := os.WriteFile(p, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	tail := tailFile(p, 3)
	lines := strings.Split(tail, "\n")
	if len(lines) != 3 || lines[2] != "last line" {
		t.Errorf("tail = %q", tail)
	}
	if tailFile(filepath.Join(t.TempDir(), "none"), 3) != "" {
		t.Error("tail of a missing file is not empty")
	}
}
