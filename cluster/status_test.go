package cluster

import (
	"strings"
	"testing"
)

func TestStatusHealthy(t *testing.T) {
	zk := func(name, mode string) NodeStatus {
		return NodeStatus{Name: name, Role: RoleZooKeeper, Mode: mode, Process: "running"}
	}
	broker := func(name string, registered, listening bool) NodeStatus {
		return NodeStatus{Name: name, Role: RoleKafka, Registered: registered, Listening: listening, Process: "running"}
	}
	cases := []struct {
		st   Status
		want string // "" for healthy
	}{
		{Status{Controller: 1, Nodes: []NodeStatus{zk("zk1", "leader"), zk("zk2", "follower"), broker("kafka1", true, true)}}, ""},
		{Status{Controller: 1, Nodes: []NodeStatus{zk("zk1", "standalone"), broker("kafka1", true, true)}}, ""},
		{Status{Controller: 1, Nodes: []NodeStatus{zk("zk1", "follower"), zk("zk2", "follower"), broker("kafka1", true, true)}}, "0 ZooKeeper leaders"},
		{Status{Controller: 1, Nodes: []NodeStatus{zk("zk1", "leader"), zk("zk2", ""), broker("kafka1", true, true)}}, "zk2"},
		{Status{Controller: 1, Nodes: []NodeStatus{zk("zk1", "standalone"), broker("kafka1", true, false)}}, "kafka1"},
		{Status{Controller: 1, Nodes: []NodeStatus{zk("zk1", "standalone"), broker("kafka1", false, true)}}, "kafka1"},
		{Status{Controller: -1, Nodes: []NodeStatus{zk("zk1", "standalone"), broker("kafka1", true, true)}}, "no Kafka controller"},
	}
	for i, c := range cases {
		ok, why := c.st.Healthy()
		if c.want == "" && !ok {
			t.Errorf("case %d: unhealthy (%s), want healthy", i, why)
		}
		if c.want != "" && (ok || !strings.Contains(why, c.want)) {
			t.Errorf("case %d: healthy=%v why=%q, want unhealthy because %q", i, ok, why, c.want)
		}
	}
}
