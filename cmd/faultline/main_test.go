package main

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/faultline/faultline/checker"
	"github.com/faultline/faultline/results"
)

func TestBadInputExitsThreeWithOneLine(t *testing.T) {
	cases := []struct {
		args []string
		want string
	}{
		{[]string{"cluster", "up", "--zk-nodes", "10"}, "--zk-nodes 10 is out of range"},
		{[]string{"cluster", "up", "--kafka-nodes", "10"}, "--kafka-nodes 10 is out of range"},
		{[]string{"cluster", "up", "--kafka-nodes", "-1"}, "--kafka-nodes -1 is out of range"},
		{[]string{"cluster", "up", "--kafka-version", "4.0.0", "--kafka-mode", "zk"}, "has no ZooKeeper mode"},
		{[]string{"cluster", "up", "--kafka-version", "3.2.3", "--kafka-mode", "kraft"}, "has no production KRaft mode"},
		{[]string{"cluster", "up", "--kafka-mode", "raft"}, "--kafka-mode \"raft\" is not a mode"},
		{[]string{"cluster", "up", "--controllers", "2"}, "ZooKeeper mode has no KRaft controllers"},
		{[]string{"cluster", "up", "--kafka-version", "latest"}, "is not a version"},
		{[]string{"cluster", "up", "--zk-nodes", "three"}, "invalid argument"},
		{[]string{"cluster", "up", "--no-such-flag"}, "unknown flag"},
		{[]string{"cluster", "up", "--log-level", "loud"}, "--log-level \"loud\" is not a level"},
		{[]string{"cluster", "exec", "zk1", "ls"}, "then the command after --"},
		{[]string{"no-such-command"}, "unknown command"},
		{[]string{"test", "--workload", "kafka"}, "is not a workload: choose zk-register, kafka-queue or zk-lock"},
		{[]string{"test", "--nemesis", "partition", "--partition", "kafka-leader"}, "use it with kafka-queue"},
		{[]string{"test", "--nemesis", "kill", "--targets", "kafka-leader"}, "use it with kafka-queue"},
		{[]string{"test", "--workload", "kafka-queue", "--acks", "leader", "--idempotence", "on"}, "--acks leader needs --idempotence off"},
		{[]string{"test", "--workload", "kafka-queue", "--acks", "1"}, "--acks \"1\" is not an acks setting"},
		{[]string{"test", "--workload", "kafka-queue", "--replication-factor", "5"}, "--replication-factor 5 is out of range"},
		{[]string{"test", "--workload", "kafka-queue", "--min-isr", "4"}, "--min-isr 4 is out of range"},
		{[]string{"test", "--workload", "kafka-queue", "--consumer", "group"}, "--consumer \"group\" is not a consumer mode"},
		// Zero is the user's value, never "the default".
		{[]string{"test", "--concurrency", "0"}, "--concurrency 0 is out of range: choose 1 to 1000"},
		{[]string{"test", "--time-limit", "0"}, "--time-limit 0s is out of range"},
		{[]string{"test", "--check-timeout", "0"}, "--check-timeout 0s is out of range"},
		{[]string{"test", "--keys", "0"}, "--keys 0 is out of range"},
		{[]string{"test", "--ops-per-key", "0"}, "--ops-per-key 0 is out of range"},
		{[]string{"test", "--workload", "kafka-queue", "--partitions", "0"}, "--partitions 0 is out of range"},
		{[]string{"test", "--workload", "kafka-queue", "--replication-factor", "0"}, "--replication-factor 0 is out of range"},
		{[]string{"test", "--workload", "kafka-queue", "--min-isr", "0"}, "--min-isr 0 is out of range"},
		{[]string{"test", "--quiet-period", "0"}, "--quiet-period 0s is out of range"},
		{[]string{"test", "--quiet-period", "-1s"}, "--quiet-period -1s is out of range"},
		{[]string{"test", "--nemesis", "kill", "--nemesis-interval", "0"}, "--nemesis-interval 0s is too short"},
		{[]string{"test", "--op-timeout", "0"}, "--op-timeout 0s is not a timeout"},
		{[]string{"test", "--test-count", "0"}, "--test-count 0 is out of range"},
		{[]string{"test", "--workload", ""}, "--workload is empty: choose zk-register or kafka-queue or zk-lock"},
		{[]string{"test", "--rate", "NaN"}, "--rate NaN is out of range"},
		{[]string{"test", "--rate", "Inf"}, "--rate +Inf is out of range"},
		{[]string{"test", "--zk-heap", "0"}, "--zk-heap 0 is out of range"},
		{[]string{"test", "--start-timeout", "0"}, "--start-timeout 0s is not a timeout"},
		// Contradictions and flags that cannot apply.
		{[]string{"test", "--nemesis", "kill", "--time-limit", "10s"}, "the schedule has no kill fault"},
		{[]string{"test", "--grudge", "zk1|zk2"}, "--grudge shapes faults, but --nemesis asks for none"},
		{[]string{"test", "--partition", "triangle"}, "--partition shapes faults, but --nemesis asks for none"},
		{[]string{"test", "--targets", "zk9"}, "--targets shapes faults, but --nemesis asks for none"},
		{[]string{"test", "--nemesis", "partition", "--grudge", "zk1|zk2", "--partition", "halves"}, "--grudge and --partition halves contradict"},
		{[]string{"test", "--nemesis", "partition", "--targets", "zk1"}, "--targets does nothing with --nemesis partition"},
		{[]string{"test", "--nemesis", "kill", "--kafka-nodes", "3", "--targets", "kafka1", "--nemesis-roles", "zk"}, "--nemesis-roles zookeeper leaves out"},
		{[]string{"test", "--nemesis", "partition", "--partition", "zk-kafka", "--kafka-nodes", "3"}, "--partition zk-kafka cuts ZooKeeper from the brokers"},
		{[]string{"test", "--nemesis", "partition", "--zk-nodes", "1"}, "a partition needs two nodes"},
		{[]string{"test", "--nemesis", "packet", "--packet", "none"}, "--packet \"none\" shapes nothing"},
		{[]string{"test", "--acks", "leader"}, "--acks is kafka-queue's and does nothing with workload zk-register"},
		{[]string{"test", "--workload", "kafka-queue", "--reads", "local"}, "--reads is zk-register's and does nothing with workload kafka-queue"},
		{[]string{"test", "--workload", "kafka-queue", "--keys", "-3"}, "--keys is zk-register's"},
		{[]string{"test", "--workload", "kafka-queue", "--kafka-nodes", "1"}, "--replication-factor 3 is out of range"},
		{[]string{"test", "--workload", "kafka-queue", "--kafka-nodes", "1"}, "--min-isr 2 is out of range"},
		{[]string{"test", "extra"}, "takes no arguments"},
		{[]string{"check"}, "takes one run directory or history file, got 0"},
		{[]string{"cluster", "down", "a", "b"}, "takes at most one run id"},
	}
	// Should a case pass validation, it must fail at the preflight (no java,
	// no mvn) instead of starting servers: unit tests start nothing.
	t.Setenv("PATH", t.TempDir())
	t.Setenv("JAVA_HOME", "")
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

// TestMatrixTable: combinations are every version and mode given, a
// combination that cannot be is skipped with its reason, and the exit
// code is the worst row's.
func TestMatrixTable(t *testing.T) {
	combos := combinations([]string{"3.9.2", "4.4.0"}, []string{"zk", "kraft"}, []string{""})
	if len(combos) != 4 || combos[1].String() != "kafka 3.9.2, kraft" {
		t.Fatalf("combinations %v", combos)
	}
	if got := splitList(" 3.9.2, ,4.4.0,3.9.2", true); strings.Join(got, "|") != "3.9.2|4.4.0" {
		t.Errorf("splitList = %q", got)
	}
	if got := splitList("3.9.2", false); len(got) != 1 || got[0] != "" {
		t.Errorf("an unset flag is one default entry, got %q", got)
	}
	rows := []matrixRow{
		{combo: combos[0], report: results.Report{Valid: checker.Valid}},
		{combo: combos[2], skipped: "--kafka-version 4.4.0 has no ZooKeeper mode"},
		{combo: combos[3], report: results.Report{Valid: checker.Unknown}},
	}
	var b strings.Builder
	printMatrix(&b, rows)
	for _, want := range []string{"kafka 3.9.2, zk", "VALID", "skipped", "has no ZooKeeper mode", "UNKNOWN"} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("table lacks %q:\n%s", want, b.String())
		}
	}
	if err := matrixExit(rows); err == nil || err.(*exitError).code != exitUnknown {
		t.Errorf("exit %v, want unknown", err)
	}
	rows = append(rows, matrixRow{combo: combos[1], report: results.Report{Valid: checker.Invalid}}, matrixRow{combo: combos[1], err: errors.New("no java")})
	if err := matrixExit(rows); err == nil || err.(*exitError).code != exitInvalid {
		t.Errorf("exit %v, want invalid, the worst", err)
	}
}

// TestScheduleAndReplayBadInput: a schedule or a replay that cannot run
// says why in one line, exit 3, before anything starts.
func TestScheduleAndReplayBadInput(t *testing.T) {
	dir := t.TempDir()
	write := func(name, text string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	good := write("good.json", `[{"kind":"kill","target":"zk1","start":"1s","stop":"2s"}]`)
	unbound := write("unbound.json", `[{"kind":"kill","target":"$L"},{"kind":"pause","target":"zk9"}]`)
	notJSON := write("bad.json", `[{"kind":"kill",`)
	lateStop := write("late.json", `[{"kind":"kill","id":"a","target":"zk1"},{"kind":"kill","after":"a.started","stop":"3s","target":"zk2"}]`)
	noSchedule := filepath.Join(dir, "run")
	if err := os.MkdirAll(noSchedule, 0o755); err != nil {
		t.Fatal(err)
	}
	write("run/test.json", `{"name":"x","workload":"zk-register","nemesis":{"kinds":["kill"]}}`)
	cases := []struct {
		args []string
		want string
	}{
		{[]string{"test", "--schedule", filepath.Join(dir, "missing.json")}, "no such file"},
		{[]string{"test", "--schedule", notJSON}, "not a list of steps"},
		{[]string{"test", "--schedule", unbound}, "$L is not bound by an earlier bind step"},
		{[]string{"test", "--schedule", unbound}, "and 1 more problems"},
		{[]string{"test", "--schedule", lateStop}, `give "for" instead`},
		{[]string{"test", "--schedule", good, "--nemesis", "kill"}, "--nemesis draws a schedule, and --schedule gives one"},
		{[]string{"test", "--schedule", good, "--targets", "zk2"}, "drop --targets"},
		{[]string{"test", "--replay", filepath.Join(dir, "nowhere")}, "no test.json there"},
		{[]string{"test", "--replay", noSchedule}, "records no schedule"},
		{[]string{"test", "--replay", noSchedule, "--seed", "3"}, "--seed with --replay"},
		{[]string{"test", "--zk-config", "commit log=1"}, "is not a property name"},
		{[]string{"test", "--nemesis", "partition", "--partition", "client"}, "give --client-hosts 1 or more"},
		{[]string{"test", "--client-hosts", "10"}, "--client-hosts 10 is out of range"},
		{[]string{"test", "--client-hosts", "1", "--nemesis", "partition", "--grudge", "c2|zk1,zk2,zk3"}, "c2"},
	}
	t.Setenv("PATH", t.TempDir())
	t.Setenv("JAVA_HOME", "")
	for _, tc := range cases {
		var out, errOut bytes.Buffer
		code := run(tc.args, strings.NewReader(""), &out, &errOut)
		lines := strings.Split(strings.TrimRight(errOut.String(), "\n"), "\n")
		if code != exitHarness || len(lines) != 1 || !strings.Contains(errOut.String(), tc.want) {
			t.Errorf("%v: exit %d, stderr %q, want one line saying %q", tc.args, code, errOut.String(), tc.want)
		}
	}
	// Client hosts a grudge names pass validation and stop at the preflight.
	var hostsOut, hostsErr bytes.Buffer
	if code := run([]string{"test", "--client-hosts", "2", "--nemesis", "partition", "--grudge", "c1|zk1,zk2,zk3", "--store", dir}, strings.NewReader(""), &hostsOut, &hostsErr); code != exitHarness || !strings.Contains(hostsErr.String(), "java") {
		t.Errorf("a grudge naming a client host: exit %d, %q, want the preflight's complaint about java", code, hostsErr.String())
	}
	// A good schedule passes validation and stops at the preflight.
	var out, errOut bytes.Buffer
	if code := run([]string{"test", "--schedule", good, "--store", dir}, strings.NewReader(""), &out, &errOut); code != exitHarness || !strings.Contains(errOut.String(), "java") {
		t.Errorf("a good schedule: exit %d, %q, want the preflight's complaint about java", code, errOut.String())
	}
}
