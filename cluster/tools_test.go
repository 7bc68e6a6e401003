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
