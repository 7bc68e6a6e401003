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
	specs := planNodes(RunPrefix, 3, 3, 0, false)
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
	for _, s := range planNodes(RunPrefix, MaxNodesPerRole, MaxNodesPerRole, 0, false) {
		if seen[s.Addr.String()] {
			t.Errorf("address %s given twice", s.Addr)
		}
		seen[s.Addr.String()] = true
	}
}

func TestZooCfg(t *testing.T) {
	o := Options{ZooKeeperConfig: map[string]string{"syncLimit": "2"}}.Defaults()
	specs := planNodes(RunPrefix, 3, 1, 0, false)
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
	specs := planNodes(RunPrefix, 3, 3, 0, false)
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
	small := planNodes(RunPrefix, 1, 1, 0, false)
	p = props(t, KafkaProperties(small[1], small, "/d", o))
	if p["default.replication.factor"] != "1" || p["min.insync.replicas"] != "1" || p["offsets.topic.replication.factor"] != "1" {
		t.Errorf("one broker: rf %s, min ISR %s, offsets rf %s; want 1, 1, 1",
			p["default.replication.factor"], p["min.insync.replicas"], p["offsets.topic.replication.factor"])
	}
}

func TestJVMArgs(t *testing.T) {
	specs := planNodes(RunPrefix, 1, 1, 0, false)
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

// pomDeps parses a rendered pom's dependencies: artifact → version.
func pomDeps(t *testing.T, pom string) map[string]string {
	t.Helper()
	var doc struct {
		Deps []struct {
			Artifact string `xml:"artifactId"`
			Version  string `xml:"version"`
		} `xml:"dependencies>dependency"`
	}
	if err := xml.Unmarshal([]byte(pom), &doc); err != nil {
		t.Fatalf("pom is not XML: %v", err)
	}
	got := map[string]string{}
	for _, d := range doc.Deps {
		got[d.Artifact] = d.Version
	}
	return got
}

// TestRenderPOM: ZooKeeper's release is fetched on its own, whatever
// Kafka's; Kafka's with the logging backend of its version.
func TestRenderPOM(t *testing.T) {
	v := Versions{Kafka: "3.9.2", ZooKeeper: "3.9.4"}
	zk, err := renderPOM(zooKeeperPOM, v)
	if err != nil {
		t.Fatal(err)
	}
	if got := pomDeps(t, zk); got["zookeeper"] != "3.9.4" || got["reload4j"] == "" || got["metrics-core"] == "" || got["kafka_2.13"] != "" {
		t.Errorf("ZooKeeper's pom: %v", got)
	}
	if !strings.Contains(zk, "ch.qos.logback") {
		t.Error("logback is not excluded: two slf4j bindings would compete")
	}
	k3, err := renderPOM(kafkaPOM, v)
	if err != nil {
		t.Fatal(err)
	}
	if got := pomDeps(t, k3); got["kafka_2.13"] != "3.9.2" || got["kafka-tools"] != "3.9.2" || got["slf4j-reload4j"] == "" || got["zookeeper"] != "" || got["log4j-slf4j-impl"] != "" {
		t.Errorf("Kafka 3's pom: %v", got)
	}
	k4, err := renderPOM(kafkaPOM, Versions{Kafka: "4.4.0"})
	if err != nil {
		t.Fatal(err)
	}
	if got := pomDeps(t, k4); got["kafka_2.13"] != "4.4.0" || got["log4j-slf4j-impl"] == "" || got["slf4j-reload4j"] != "" {
		t.Errorf("Kafka 4's pom: %v", got)
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
		{Options{KafkaVersion: "4.1.0", KafkaMode: "zk"}, "no ZooKeeper mode"},
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

// TestKRaftPlanAndProperties: dedicated controllers ctrl1..N with node.ids
// of their own, the voters listed statically everywhere, brokers with no
// ZooKeeper setting; combined mode makes the brokers the voters.
func TestKRaftPlanAndProperties(t *testing.T) {
	o := Options{KafkaMode: ModeKRaft, KafkaNodes: 3, Controllers: 3}.Defaults()
	if o.KafkaVersion != DefaultKRaftKafkaVersion || o.ZooKeeperNodes != 0 {
		t.Errorf("KRaft defaults: version %s, %d ZooKeeper nodes", o.KafkaVersion, o.ZooKeeperNodes)
	}
	if err := o.Validate(); err != nil {
		t.Fatal(err)
	}
	specs := PlanNodes(o)
	var names []string
	for _, s := range specs {
		names = append(names, s.Name)
	}
	if strings.Join(names, ",") != "kafka1,kafka2,kafka3,ctrl1,ctrl2,ctrl3" {
		t.Fatalf("nodes %v", names)
	}
	ctrl := specs[3]
	if ctrl.Role != RoleController || ctrl.KafkaNodeID() != 101 || ctrl.ClientAddr() != "10.213.0.31:9093" || !ctrl.IsController() {
		t.Errorf("controller %+v (node.id %d, client %s)", ctrl, ctrl.KafkaNodeID(), ctrl.ClientAddr())
	}
	voters := "101@10.213.0.31:9093,102@10.213.0.32:9093,103@10.213.0.33:9093"
	cp := props(t, KafkaProperties(ctrl, specs, "/d", o))
	for k, want := range map[string]string{"process.roles": "controller", "node.id": "101", "controller.quorum.voters": voters,
		"listeners": "CONTROLLER://10.213.0.31:9093", "controller.listener.names": "CONTROLLER"} {
		if cp[k] != want {
			t.Errorf("controller %s = %q, want %q", k, cp[k], want)
		}
	}
	bp := props(t, KafkaProperties(specs[1], specs, "/d", o))
	for k, want := range map[string]string{"process.roles": "broker", "node.id": "2", "controller.quorum.voters": voters,
		"listeners": "PLAINTEXT://10.213.0.22:9092", "min.insync.replicas": "2"} {
		if bp[k] != want {
			t.Errorf("broker %s = %q, want %q", k, bp[k], want)
		}
	}
	for _, k := range []string{"zookeeper.connect", "broker.id"} {
		if _, ok := bp[k]; ok {
			t.Errorf("a KRaft broker has %s", k)
		}
	}

	combined := Options{KafkaMode: ModeKRaft, KafkaNodes: 3}.Defaults()
	specs = PlanNodes(combined)
	if len(specs) != 3 || !specs[0].IsController() || specs[0].Role != RoleKafka {
		t.Fatalf("combined plan %+v", specs)
	}
	kp := props(t, KafkaProperties(specs[0], specs, "/d", combined))
	if kp["process.roles"] != "broker,controller" || kp["controller.quorum.voters"] != "1@10.213.0.21:9093,2@10.213.0.22:9093,3@10.213.0.23:9093" ||
		kp["listeners"] != "PLAINTEXT://10.213.0.21:9092,CONTROLLER://10.213.0.21:9093" {
		t.Errorf("combined node: %v", kp)
	}
	if !Log4j2("4.4.0") || Log4j2("3.9.2") {
		t.Error("log4j 2 is Kafka 4's")
	}
	args := strings.Join(StorageFormatArgs("/a.jar", "/c/server.properties", "/c/log4j2.properties", "id"), " ")
	if !strings.Contains(args, "kafka.tools.StorageTool format -t id -c /c/server.properties --ignore-formatted") {
		t.Errorf("format args %q", args)
	}
}

func TestKafkaModeDefaultsAndErrors(t *testing.T) {
	if o := (Options{KafkaVersion: "4.1.0"}).Defaults(); o.KafkaMode != ModeKRaft {
		t.Errorf("4.1.0 defaults to mode %q", o.KafkaMode)
	}
	if o := (Options{}).Defaults(); o.KafkaMode != ModeZooKeeper || o.KafkaVersion != DefaultKafkaVersion || o.ZooKeeperNodes != 3 {
		t.Errorf("defaults: %+v", o)
	}
	for _, tc := range []struct {
		o    Options
		want string
	}{
		{Options{KafkaVersion: "3.2.0", KafkaMode: ModeKRaft, KafkaNodes: 1}, "no production KRaft mode"},
		{Options{KafkaMode: ModeKRaft, KafkaNodes: 1, Controllers: 10}, "--controllers 10 is out of range"},
		{Options{KafkaMode: ModeZooKeeper, Controllers: 3, KafkaNodes: 3}, "ZooKeeper mode has no KRaft controllers"},
		{Options{KafkaMode: "raft"}, `--kafka-mode "raft" is not a mode`},
	} {
		if err := tc.o.Defaults().Validate(); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%+v: %v, want %q", tc.o, err, tc.want)
		}
	}
}
