package cluster

import (
	"strings"
	"testing"
)

func TestToolScript(t *testing.T) {
	s := toolScript("zkCli", tools["zkCli"], "/usr/bin/java", "/a.jar")
	for _, want := range []string{"#!/bin/sh", "FAULTLINE_ZK_CONNECT", "org.apache.zookeeper.ZooKeeperMain", `"$@"`} {
		if !strings.Contains(s, want) {
			t.Errorf("zkCli script lacks %q:\n%s", want, s)
		}
	}
	if s := toolScript("kafka-topics", tools["kafka-topics"], "/usr/bin/java", "/a.jar"); !strings.Contains(s, "--bootstrap-server") {
		t.Errorf("kafka-topics does not default its bootstrap server:\n%s", s)
	}
}

// TestExecEnv: a shell on a broker talks to that broker and the whole
// ensemble; on a ZooKeeper node, to that node and every broker.
func TestExecEnv(t *testing.T) {
	specs := PlanNodes(Options{ZooKeeperNodes: 3, KafkaNodes: 2}.Defaults())
	zk1, kafka2 := specs[0], specs[4] // ZooKeeper nodes first
	if zk1.Name != "zk1" || kafka2.Name != "kafka2" {
		t.Fatalf("the plan is %v", specs)
	}
	joined := func(specs []NodeSpec) string {
		var addrs []string
		for _, s := range specs {
			addrs = append(addrs, s.ClientAddr())
		}
		return strings.Join(addrs, ",")
	}
	zks, brokers := joined(specs[:3]), joined(specs[3:])
	has := func(env []string, want string) {
		t.Helper()
		for _, e := range env {
			if e == want {
				return
			}
		}
		t.Errorf("%v lacks %s", env, want)
	}
	env := ExecEnv("r1", kafka2, specs, "/k.jar")
	has(env, "FAULTLINE_RUN=r1")
	has(env, "FAULTLINE_NODE=kafka2")
	has(env, "FAULTLINE_NODE_ADDR="+kafka2.Addr.String())
	has(env, "FAULTLINE_CLIENT_ADDR="+kafka2.ClientAddr())
	has(env, "FAULTLINE_ZK_CONNECT="+zks)
	has(env, "FAULTLINE_BOOTSTRAP="+kafka2.ClientAddr())
	has(env, "FAULTLINE_CLASSPATH=/k.jar")
	env = ExecEnv("r1", zk1, specs, "/z.jar")
	has(env, "FAULTLINE_ZK_CONNECT="+zk1.ClientAddr())
	has(env, "FAULTLINE_BOOTSTRAP="+brokers)
}
