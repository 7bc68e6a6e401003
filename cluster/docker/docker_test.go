package docker

import (
	"errors"
	"net/netip"
	"strings"
	"testing"

	"github.com/faultline/faultline/cluster"
	"github.com/spf13/pflag"
)

func TestLabelsRoundTrip(t *testing.T) {
	r := runLabels{RunID: "abc123", Harness: "42:7", Dir: "/tmp/faultline-abc123", RemoveDir: true}
	subnet := netip.MustParsePrefix("10.214.3.0/24")
	for _, s := range cluster.PlanNodesOn(cluster.Options{KafkaNodes: 3, KafkaMode: cluster.ModeKRaft}, subnet) {
		l := r.node(s, "/cp/*")
		if l[labelRun] != "abc123" || l[labelNode] != s.Name || l[labelHarness] != "42:7" || l[labelRemoveDir] != "true" {
			t.Fatalf("labels of %s: %v", s.Name, l)
		}
		got, err := specFromLabels(l)
		if err != nil || got != s {
			t.Fatalf("spec of %s back from labels = %+v, %v; want %+v", s.Name, got, err, s)
		}
	}
	if l := r.network(); l[labelRun] != "abc123" || l[labelNode] != networkNode {
		t.Fatalf("network labels: %v", l)
	}
	if _, err := specFromLabels(map[string]string{labelRun: "x"}); err == nil {
		t.Fatal("a container without a node label reads as a node")
	}
	if got := containerName("abc123", "zk1"); got != "faultline-abc123-zk1" {
		t.Fatalf("container name %q", got)
	}
}

// The address plan on a run's /24 is the local backend's, last octet for
// last octet.
func TestAddressPlan(t *testing.T) {
	o := cluster.Options{KafkaNodes: 3, ClientHosts: 2}
	subnet := netip.MustParsePrefix("10.214.7.0/24")
	local := cluster.PlanNodes(o)
	for i, s := range cluster.PlanNodesOn(o, subnet) {
		if s.Name != local[i].Name || s.Addr.As4()[3] != local[i].Addr.As4()[3] || !subnet.Contains(s.Addr) {
			t.Errorf("%s at %s; local has %s at %s", s.Name, s.Addr, local[i].Name, local[i].Addr)
		}
	}
	hosts := cluster.PlanClientHostsOn(o, subnet)
	if len(hosts) != 2 || hosts[1].Name != "c2" || hosts[1].Addr != netip.MustParseAddr("10.214.7.42") {
		t.Errorf("client hosts %v", hosts)
	}
	if got := cluster.HarnessAddrOn(subnet); got != netip.MustParseAddr("10.214.7.1") {
		t.Errorf("harness address %s", got)
	}
}

func TestFreeSubnet(t *testing.T) {
	pool := netip.MustParsePrefix("10.214.0.0/16")
	used := []netip.Prefix{netip.MustParsePrefix("10.214.0.0/24"), netip.MustParsePrefix("10.214.1.0/24"), netip.MustParsePrefix("192.0.2.0/24")}
	got, err := freeSubnet(pool, used)
	if err != nil || got != netip.MustParsePrefix("10.214.2.0/24") {
		t.Fatalf("free subnet = %s, %v; want 10.214.2.0/24", got, err)
	}
	if _, err := freeSubnet(netip.MustParsePrefix("10.214.5.0/24"), []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")}); err == nil || !strings.Contains(err.Error(), "cluster down") {
		t.Fatalf("a full pool: %v", err)
	}
}

func TestOptions(t *testing.T) {
	for _, tc := range []struct {
		pool string
		ok   bool
	}{{"", true}, {"10.215.0.0/16", true}, {"10.215.4.0/24", true}, {"10.215.4.0/25", false}, {"fd00::/64", false}, {"nonsense", false}} {
		err := (&Options{Pool: tc.pool}).Validate()
		if (err == nil) != tc.ok {
			t.Errorf("--docker-pool %q: %v", tc.pool, err)
		}
		if err != nil && !strings.Contains(err.Error(), "--docker-pool") {
			t.Errorf("error does not name the flag: %v", err)
		}
	}
}

// User-facing errors are one line that says what to do.
func TestErrorLines(t *testing.T) {
	t.Setenv("DOCKER_HOST", "unix:///nowhere.sock")
	for _, err := range []error{
		noDaemon(errors.New("dial unix /nowhere.sock: connect: no such file or directory\nmore")),
		errNoImage("localhost/faultline-runtime:17.0.15-abc"),
	} {
		s := err.Error()
		if strings.Contains(s, "\n") {
			t.Errorf("error spans lines: %q", s)
		}
		if !strings.Contains(s, "faultline docker setup") && !strings.Contains(s, "start-dockerd.sh") {
			t.Errorf("error says no fix: %q", s)
		}
	}
	if s := noDaemon(errors.New("x")).Error(); !strings.Contains(s, "unix:///nowhere.sock") {
		t.Errorf("no-daemon error does not say where it looked: %q", s)
	}
}

func TestStartScript(t *testing.T) {
	f := cluster.NodeFiles{DataDir: "/run dir/kafka1/data", LogFile: "/run dir/kafka1/server.log", Args: []string{"-cp", "/a b/*", "kafka.Kafka", "it's.properties"}}
	s := startScript("/jre/bin/java", f, []string{"kafka.tools.StorageTool", "format"})
	for _, want := range []string{
		`exec '/jre/bin/java' '-cp' '/a b/*' 'kafka.Kafka' 'it'\''s.properties' >>'/run dir/kafka1/server.log' 2>&1`,
		`[ -f '/run dir/kafka1/data/meta.properties' ] || '/jre/bin/java' 'kafka.tools.StorageTool' 'format'`,
	} {
		if !strings.Contains(s, want) {
			t.Errorf("start script lacks %q:\n%s", want, s)
		}
	}
	if s := startScript("/jre/bin/java", f, nil); strings.Contains(s, "StorageTool") || strings.Contains(s, "meta.properties") {
		t.Errorf("a ZooKeeper-mode script formats storage:\n%s", s)
	}
}

func TestLddLine(t *testing.T) {
	for line, want := range map[string]string{
		"\tlibz.so.1 => /lib/x86_64-linux-gnu/libz.so.1 (0x00007f0c1c5e0000)": "/lib/x86_64-linux-gnu/libz.so.1",
		"\t/lib64/ld-linux-x86-64.so.2 (0x00007f0c1c821000)":                  "/lib64/ld-linux-x86-64.so.2",
		"\tlinux-vdso.so.1 (0x00007ffd8a3f2000)":                              "",
		"\tlibawt_xawt.so => not found":                                       "",
	} {
		got := ""
		if m := lddLine.FindStringSubmatch(line); m != nil {
			got = m[1]
		}
		if got != want {
			t.Errorf("ldd line %q gives %q, want %q", line, got, want)
		}
	}
}

// The backend is registered under its name with its own flags.
func TestBackendFlags(t *testing.T) {
	if (Backend{}).Name() != "docker" {
		t.Fatal("name")
	}
	fs := newFlagSet()
	(Backend{}).NewOptions().Flags(fs)
	for _, f := range []string{"docker-java", "docker-image", "docker-pool"} {
		if fs.Lookup(f) == nil {
			t.Errorf("no --%s", f)
		}
	}
}

func newFlagSet() *pflag.FlagSet { return pflag.NewFlagSet("test", pflag.ContinueOnError) }
