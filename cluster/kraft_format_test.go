package cluster

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// TestNewKRaftClusterIDNeverStartsWithDash: ids go on kafka-storage's
// command line, where a leading '-' reads as a flag (1 in 64 would).
func TestNewKRaftClusterIDNeverStartsWithDash(t *testing.T) {
	valid := regexp.MustCompile(`^[A-Za-z0-9_][A-Za-z0-9_-]{21}$`)
	seen := map[string]bool{}
	for range 5000 {
		id, err := NewKRaftClusterID()
		if err != nil {
			t.Fatal(err)
		}
		if !valid.MatchString(id) || seen[id] {
			t.Fatalf("id %q (seen before: %v)", id, seen[id])
		}
		seen[id] = true
	}
}

const formatted = `#
#Tue Dec 01 18:56:12 UTC 2026
node.id=101
directory.id=Zx-hfmh7lONKc5s99ZP9Qw
version=1
cluster.id=abcdefghijklmnopqrstuv
`

// TestCloneKRaftStorage: a node's copy of a formatted folder has every
// file with its mode, and meta.properties with its own node.id and a
// directory.id of its own, the rest as formatted.
func TestCloneKRaftStorage(t *testing.T) {
	from, to := t.TempDir(), filepath.Join(t.TempDir(), "data")
	if err := os.WriteFile(filepath.Join(from, "meta.properties"), []byte(formatted), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(filepath.Join(from, "__cluster_metadata-0"), 0o755); err != nil {
		t.Fatal(err)
	}
	snap := filepath.Join("__cluster_metadata-0", "00000000000000000000-0000000000.checkpoint")
	if err := os.WriteFile(filepath.Join(from, snap), []byte("\x00\x01snapshot"), 0o400); err != nil {
		t.Fatal(err)
	}
	if err := cloneKRaftStorage(from, to, "102"); err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(filepath.Join(to, "meta.properties"))
	if err != nil {
		t.Fatal(err)
	}
	want := strings.Replace(formatted, "node.id=101", "node.id=102", 1)
	dir := regexp.MustCompile(`directory\.id=(\S+)`).FindStringSubmatch(string(got))
	if dir == nil || dir[1] == "Zx-hfmh7lONKc5s99ZP9Qw" || len(dir[1]) != 22 {
		t.Fatalf("meta.properties:\n%s", got)
	}
	if strings.Replace(string(got), dir[1], "Zx-hfmh7lONKc5s99ZP9Qw", 1) != want {
		t.Errorf("meta.properties:\n%s\nwant, but for directory.id:\n%s", got, want)
	}
	b, err := os.ReadFile(filepath.Join(to, snap))
	if err != nil || string(b) != "\x00\x01snapshot" {
		t.Errorf("snapshot %q, %v", b, err)
	}
	if st, err := os.Stat(filepath.Join(to, snap)); err != nil || st.Mode().Perm() != 0o400 {
		t.Errorf("snapshot mode %v, %v", st, err)
	}
	if _, err := metaPropertiesFor([]byte("version=1\ncluster.id=x\n"), "1"); err == nil {
		t.Error("a meta.properties with no node.id was taken")
	}
}

// TestConfigValue reads process.roles and node.id from the config the
// cluster writes (a controller's node.id is not its number), and says
// when a config has none.
func TestConfigValue(t *testing.T) {
	o := Options{KafkaMode: ModeKRaft, KafkaVersion: "4.4.0", KafkaNodes: 3, Controllers: 3}.Defaults()
	specs := PlanNodes(o)
	var ctrl NodeSpec
	for _, s := range specs {
		if s.Role == RoleController {
			ctrl = s
			break
		}
	}
	p := filepath.Join(t.TempDir(), "server.properties")
	os.WriteFile(p, []byte(KafkaProperties(ctrl, specs, "/data", o)), 0o644)
	if r, err := configValue(p, "process.roles"); err != nil || r != "controller" {
		t.Errorf("process.roles %q %v", r, err)
	}
	if id, err := configValue(p, "node.id"); err != nil || id != "101" {
		t.Errorf("%s's node.id %q %v", ctrl.Name, id, err)
	}
	os.WriteFile(p, []byte("broker.id=1\n"), 0o644)
	if _, err := configValue(p, "process.roles"); err == nil || !strings.Contains(err.Error(), "sets no process.roles") {
		t.Errorf("%v", err)
	}
}
