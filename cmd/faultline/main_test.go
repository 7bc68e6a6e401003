package main

import (
	"bytes"
	"strings"
	"testing"
)

func TestBadInputExitsThreeWithOneLine(t *testing.T) {
	cases := []struct {
		args []string
		want string
	}{
		{[]string{"cluster", "up", "--zk-nodes", "10"}, "--zk-nodes 10 is out of range"},
		{[]string{"cluster", "up", "--kafka-nodes", "0"}, "--kafka-nodes 0 is out of range"},
		{[]string{"cluster", "up", "--kafka-version", "4.0.0"}, "has no ZooKeeper mode"},
		{[]string{"cluster", "up", "--kafka-version", "latest"}, "is not a version"},
		{[]string{"cluster", "up", "--zk-nodes", "three"}, "invalid argument"},
		{[]string{"cluster", "up", "--no-such-flag"}, "unknown flag"},
		{[]string{"cluster", "up", "--log-level", "loud"}, "--log-level \"loud\" is not a level"},
		{[]string{"cluster", "exec", "zk1", "ls"}, "write the command after --"},
		{[]string{"no-such-command"}, "unknown command"},
		{[]string{"test", "--workload", "kafka"}, "is not a workload: choose zk-register or kafka-queue"},
		{[]string{"test", "--nemesis", "partition", "--partition", "kafka-leader"}, "use it with --workload kafka-queue"},
		{[]string{"test", "--nemesis", "kill", "--targets", "kafka-leader"}, "use it with --workload kafka-queue"},
		{[]string{"test", "--workload", "kafka-queue", "--acks", "leader", "--idempotence", "on"}, "--acks leader needs --idempotence off"},
		{[]string{"test", "--workload", "kafka-queue", "--acks", "1"}, "--acks \"1\" is not an acks setting"},
		{[]string{"test", "--workload", "kafka-queue", "--replication-factor", "5"}, "--replication-factor 5 is out of range"},
		{[]string{"test", "--workload", "kafka-queue", "--min-isr", "4"}, "--min-isr 4 is out of range"},
		{[]string{"test", "--workload", "kafka-queue", "--consumer", "group"}, "--consumer \"group\" is not a consumer mode"},
	}
	for _, tc := range cases {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			var out, errOut bytes.Buffer
			code := run(tc.args, strings.NewReader(""), &out, &errOut)
			if code != exitHarness {
				t.Errorf("exit code %d, want %d", code, exitHarness)
			}
			lines := strings.Split(strings.TrimRight(errOut.String(), "\n"), "\n")
			if len(lines) != 1 || !strings.HasPrefix(lines[0], "faultline: ") {
				t.Errorf("stderr is not one faultline: line: %q", errOut.String())
			}
			if !strings.Contains(errOut.String(), tc.want) {
				t.Errorf("stderr %q does not say %q", errOut.String(), tc.want)
			}
			if strings.Contains(errOut.String(), "goroutine") || strings.Contains(errOut.String(), "panic") {
				t.Errorf("stderr has a stack trace: %q", errOut.String())
			}
		})
	}
}

func TestHelpExitsZero(t *testing.T) {
	for _, args := range [][]string{{"--help"}, {"cluster", "--help"}, {"cluster", "up", "--help"}, {"cluster", "exec", "--help"}} {
		var out, errOut bytes.Buffer
		if code := run(args, strings.NewReader(""), &out, &errOut); code != 0 {
			t.Errorf("%v: exit %d, stderr %q", args, code, errOut.String())
		}
		if !strings.Contains(out.String(), "Usage:") {
			t.Errorf("%v: no usage in %q", args, out.String())
		}
	}
}
