package nemesis

import (
	"net/netip"
	"strings"
	"testing"
)

func mustAddr(s string) netip.Addr { return netip.MustParseAddr(s) }

func TestParseGrudge(t *testing.T) {
	known := []string{"zk1", "zk2", "zk3", "kafka1", "kafka2", "kafka3"}
	g, err := ParseGrudge("zk1,kafka1|zk2,zk3,kafka2,kafka3", known)
	if err != nil {
		t.Fatal(err)
	}
	want := Split([][]string{{"zk1", "kafka1"}, {"zk2", "zk3", "kafka2", "kafka3"}})
	if !sameGrudge(g, want) {
		t.Errorf("ParseGrudge = %v, want %v", g, want)
	}
	g, err = ParseGrudge(" zk1 | zk2 ", known)
	if err != nil {
		t.Fatal(err)
	}
	if !sameGrudge(g, Grudge{"zk1": {"zk2"}, "zk2": {"zk1"}}) {
		t.Errorf("nodes named in no component must be left alone: %v", g)
	}
}

func TestParseGrudgeErrors(t *testing.T) {
	known := []string{"zk1", "zk2", "kafka1"}
	for _, tc := range []struct{ spec, want string }{
		{"", "empty"},
		{"zk1,zk2", "one component"},
		{"zk1|zk4", `unknown node "zk4"`},
		{"zk1||zk2", "empty node name"},
		{"zk1,|zk2", "empty node name"},
		{"zk1|zk2,zk1", "names zk1 twice"},
	} {
		_, err := ParseGrudge(tc.spec, known)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("ParseGrudge(%q) error = %v, want one containing %q", tc.spec, err, tc.want)
		}
	}
	_, err := ParseGrudge("zk1|zk4", known)
	if err == nil || !strings.Contains(err.Error(), `"zk1,kafka1|`) || !strings.Contains(err.Error(), "zk1, zk2, kafka1") {
		t.Errorf("unknown-node error should show the syntax and the known nodes: %v", err)
	}
}
