package cluster

import (
	"encoding/xml"
	"strings"
	"testing"
	"time"
)

// props parses key=value lines, failing on a key given twice.
func props(t *testing.T, s string) map[string]string {
	t.Helper()
	m := map[string]string{}
	for _, line := range strings.Split(s, "\n") {
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		k, v, ok := strings.Cut(line, "=")
		if !ok {
			t.Fatalf("line %q is not key=value", line)
		}
		if _, dup := m[k]; dup {
			t.Fatalf("key %s given twice", k)
		}
		m[k] = v
	}
	return m
}

func TestPlanNodes(t *testing.T) {
	specs := planNodes(3, 3)
	want := []string{"zk1 10.213.0.11", "zk2 10.213.0.12", "zk3 10.213.0.13", "kafka1 10.213.0.21", "kafka2 10.213.0.22", "kafka3 10.213.0.23"}
	if len(specs) != len(want) {
		t.Fatalf("%d nodes, want %d", len(specs), len(want))
	}
	for i, s := range specs {
		if got := s.Name + " " + s.Addr.String(); got != want[i] {
			t.Errorf("node %d = %s, want %s", i, got, want[i])
		}
		if !RunPrefix.Contains(s.Addr) || s.Addr == HarnessAddr {
			t.Errorf("%s has address %s outside the run's network or on the harness's", s.Name, s.Addr)
		}
	}
	// The largest cluster still has distinct addresses.
	seen := map[string]bool{}
	for _, s := range planNodes(MaxNodesPerRole, MaxNodesPerRole) {
		if seen[s.Addr.String()] {
			t.Errorf("address %s given twice", s.Addr)
		}
		seen[s.Addr.String()] = true
	}
}

func TestZooCfg(t *testing.T) {
	o := Options{ZooKeeperConfig: map[string]string{"syncLimit": "2"}}.Defaults()
	specs := planNodes(3, 1)
	p := props(t, ZooCfg(specs[1], specs, "/d/zk2/data", o))
	want := map[string]string{
		"dataDir":           "/d/zk2/data",
		"clientPort":        "2181",
		"clientPortAddress": "10.213.0.12",
		"tickTime":          "2000",
		"syncLimit":         "2", // the override wins
		"server.1":          "10.213.0.11:2888:3888",
		"server.3":          "10.213.0.13:2888:3888",
	}
	for k, v := range want {
		if p[k] != v {
			t.Errorf("%s = %q, want %q", k, p[k], v)
		}
	}
	if !strings.Contains(p["4lw.commands.whitelist"], "srvr") {
		t.Errorf("srvr is not allowed: %q", p["4lw.commands.whitelist"])
	}
	if _, ok := p["server.4"]; ok {
		t.Error("a broker is listed as a ZooKeeper server")
	}
}

func TestKafkaProperties(t *testing.T) {
	o := Options{KafkaConfig: map[string]string{"num.io.threads": "2"}}.Defaults()
	specs := planNodes(3, 3)
	p := props(t, KafkaProperties(specs[4], specs, "/d/kafka2/data", o))
	want := map[string]string{
		"broker.id":                        "2",
		"listeners":                        "PLAINTEXT://10.213.0.22:9092",
		"advertised.listeners":             "PLAINTEXT://10.213.0.22:9092",
		"zookeeper.connect":                "10.213.0.11:2181,10.213.0.12:2181,10.213.0.13:2181",
		"default.replication.factor":       "3",
		"min.insync.replicas":              "2",
		"offsets.topic.replication.factor": "3",
		"transaction.state.log.min.isr":    "2",
		"unclean.leader.election.enable":   "false",
		"auto.create.topics.enable":        "false",
		"zookeeper.session.timeout.ms":     "6000",
		"log.dirs":                         "/d/kafka2/data",
		"num.io.threads":                   "2",
	}
	for k, v := range want {
		if p[k] != v {
			t.Errorf("%s = %q, want %q", k, p[k], v)
		}
	}
	// One broker cannot replicate three times: the defaults shrink.
	small := planNodes(1, 1)
	p = props(t, KafkaProperties(small[1], small, "/d", o))
	if p["default.replication.factor"] != "1" || p["min.insync.replicas"] != "1" || p["offsets.topic.replication.factor"] != "1" {
		t.Errorf("one broker: rf %s, min ISR %s, offsets rf %s; want 1, 1, 1",
			p["default.replication.factor"], p["min.insync.replicas"], p["offsets.topic.replication.factor"])
	}
}

func TestJVMArgs(t *testing.T) {
	specs := planNodes(1, 1)
	zk := strings.Join(JVMArgs(specs[0], 128, "/a.jar:/b.jar", "/c/zoo.cfg", "/c/log4j.properties"), " ")
	for _, want := range []string{"-Xmx128m", "-Xms128m", "-cp /a.jar:/b.jar", "-Dlog4j.configuration=file:/c/log4j.properties", "org.apache.zookeeper.server.quorum.QuorumPeerMain /c/zoo.cfg"} {
		if !strings.Contains(zk, want) {
			t.Errorf("ZooKeeper args %q lack %q", zk, want)
		}
	}
	kafka := JVMArgs(specs[1], 320, "/a.jar", "/c/server.properties", "/c/log4j.properties")
	if n := len(kafka); kafka[n-2] != "kafka.Kafka" || kafka[n-1] != "/c/server.properties" {
		t.Errorf("Kafka args end %v, want kafka.Kafka /c/server.properties", kafka[n-2:])
	}
}

func TestRenderPOM(t *testing.T) {
	pom, err := renderPOM(Versions{Kafka: "3.9.2", ZooKeeper: "3.8.4"})
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Deps []struct {
			Group    string `xml:"groupId"`
			Artifact string `xml:"artifactId"`
			Version  string `xml:"version"`
		} `xml:"dependencies>dependency"`
		Managed []struct {
			Artifact string `xml:"artifactId"`
			Version  string `xml:"version"`
		} `xml:"dependencyManagement>dependencies>dependency"`
	}
	if err := xml.Unmarshal([]byte(pom), &doc); err != nil {
		t.Fatalf("pom is not XML: %v", err)
	}
	got := map[string]string{}
	for _, d := range doc.Deps {
		got[d.Artifact] = d.Version
	}
	if got["kafka_2.13"] != "3.9.2" || got["kafka-tools"] != "3.9.2" {
		t.Errorf("Kafka artifacts %v, want kafka_2.13 and kafka-tools 3.9.2", got)
	}
	if _, ok := got["zookeeper"]; !ok {
		t.Error("no zookeeper dependency")
	}
	if len(doc.Managed) != 1 || doc.Managed[0].Version != "3.8.4" {
		t.Errorf("managed zookeeper %v, want 3.8.4", doc.Managed)
	}
	if !strings.Contains(pom, "ch.qos.logback") {
		t.Error("logback is not excluded: two slf4j bindings would compete")
	}
}

func TestOptionsValidate(t *testing.T) {
	if err := (Options{}).Defaults().Validate(); err != nil {
		t.Fatalf("defaults are invalid: %v", err)
	}
	bad := []struct {
		o    Options
		want string
	}{
		{Options{ZooKeeperNodes: 10}, "--zk-nodes 10 is out of range"},
		{Options{KafkaNodes: -1}, "--kafka-nodes -1 is out of range"},
		{Options{KafkaVersion: "4.1.0"}, "no ZooKeeper mode"},
		{Options{KafkaVersion: "3.9"}, "is not a version"},
		{Options{ZooKeeperVersion: "x"}, "is not a version"},
		{Options{KafkaHeapMB: 10}, "--kafka-heap 10 is out of range"},
		{Options{ZooKeeperHeapMB: 10}, "--zk-heap 10 is out of range"},
		{Options{StartTimeout: time.Millisecond}, "too short"},
	}
	for _, b := range bad {
		err := b.o.Defaults().Validate()
		if err == nil || !strings.Contains(err.Error(), b.want) {
			t.Errorf("%+v: error %v, want one saying %q", b.o, err, b.want)
		}
	}
}
