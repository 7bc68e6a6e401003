package main

import (
	"bytes"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

// A hand-made zk-register history: a write of 1, then a read.
const historyHead = `{"index":0,"time":10,"process":0,"type":"invoke","f":"write","key":"r0","value":{"value":1}}
{"index":1,"time":20,"process":0,"type":"ok","f":"write","key":"r0","value":{"value":1,"version":1,"zxid":4294967300},"node":"zk1"}
{"index":2,"time":30,"process":1,"type":"invoke","f":"read","key":"r0"}
`

func writeHistory(t *testing.T, body string) string {
	t.Helper()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "history.jsonl"), []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	return dir
}

func TestCheckCommandVerdicts(t *testing.T) {
	cases := []struct {
		name, tail string
		code       int
		says       string
		args       []string
	}{
		{"fresh read is valid",
			`{"index":3,"time":40,"process":1,"type":"ok","f":"read","key":"r0","value":{"value":1,"version":1,"zxid":4294967300},"node":"zk2"}` + "\n",
			exitValid, "verdict: VALID", nil},
		{"stale read is a finding",
			`{"index":3,"time":40,"process":1,"type":"ok","f":"read","key":"r0","value":{"value":0,"version":0,"zxid":4294967299},"node":"zk2"}` + "\n",
			exitValid, "finding: nonlinearizable on key r0", nil},
		{"stale read required linearizable is invalid",
			`{"index":3,"time":40,"process":1,"type":"ok","f":"read","key":"r0","value":{"value":0,"version":0,"zxid":4294967299},"node":"zk2"}` + "\n",
			exitInvalid, "nonlinearizable on key r0", []string{"--consistency", "linearizable"}},
		{"a crashed run's partial last line is checked without it",
			`{"index":3,"time":40,"process":1,"ty`,
			exitValid, "partly written line", nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			dir := writeHistory(t, historyHead+tc.tail)
			out := t.TempDir()
			var stdout, stderr bytes.Buffer
			args := append([]string{"check", dir, "--workload", "zk-register", "--out", out}, tc.args...)
			code := run(args, strings.NewReader(""), &stdout, &stderr)
			if code != tc.code {
				t.Fatalf("exit %d, want %d; stdout %s stderr %s", code, tc.code, stdout.String(), stderr.String())
			}
			if !strings.Contains(stdout.String(), tc.says) {
				t.Errorf("summary does not say %q:\n%s", tc.says, stdout.String())
			}
			if _, err := os.Stat(filepath.Join(out, "results.json")); err != nil {
				t.Errorf("no results.json written: %v", err)
			}
			if tc.code == exitInvalid {
				if _, err := os.Stat(filepath.Join(out, "linearizability-r0.html")); err != nil {
					t.Errorf("no visualization of the bad key: %v", err)
				}
			}
		})
	}
}

func TestCheckCommandBadInput(t *testing.T) {
	cases := []struct {
		name string
		arg  func(t *testing.T) string
		says string
	}{
		{"missing path", func(t *testing.T) string { return filepath.Join(t.TempDir(), "nope") }, "give a run's directory"},
		{"folder without a history", func(t *testing.T) string { return t.TempDir() }, "holds no history.jsonl"},
		{"malformed line", func(t *testing.T) string {
			return writeHistory(t, historyHead+"{\"index\":3,\"time\":-5,\"process\":1,\"type\":\"ok\",\"f\":\"read\"}\n")
		}, "line 4"},
		{"completion without an invocation", func(t *testing.T) string {
			return writeHistory(t, historyHead+"{\"index\":3,\"time\":40,\"process\":2,\"type\":\"ok\",\"f\":\"read\",\"key\":\"r0\",\"value\":{\"value\":1,\"version\":1}}\n")
		}, "malformed history"},
		{"empty history", func(t *testing.T) string { return writeHistory(t, "") }, "has no ops"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			code := run([]string{"check", "--workload", "zk-register", tc.arg(t)}, strings.NewReader(""), &stdout, &stderr)
			if code != exitHarness {
				t.Fatalf("exit %d, want %d; stderr %s", code, exitHarness, stderr.String())
			}
			lines := strings.Split(strings.TrimSpace(stderr.String()), "\n")
			if len(lines) != 1 || !strings.Contains(lines[0], tc.says) {
				t.Errorf("stderr %q, want one line saying %q", stderr.String(), tc.says)
			}
		})
	}
}

// TestCheckKafkaQueue checks kafka-queue histories offline: a clean one is
// valid, one with a lost write invalid, a malformed one exits 3.
func TestCheckKafkaQueue(t *testing.T) {
	const sends = `{"index":0,"time":10,"process":0,"type":"invoke","f":"send","key":"0","value":{"value":"0-1"}}
{"index":1,"time":20,"process":0,"type":"ok","f":"send","key":"0","value":{"value":"0-1","offset":0}}
{"index":2,"time":30,"process":0,"type":"invoke","f":"send","key":"0","value":{"value":"0-2"}}
{"index":3,"time":40,"process":0,"type":"ok","f":"send","key":"0","value":{"value":"0-2","offset":1}}
{"index":4,"time":50,"process":5,"type":"invoke","f":"poll","value":{"mode":"final","partitions":[0]}}
`
	cases := []struct {
		name, final string
		code        int
		says        string
	}{
		{"valid", `{"index":5,"time":60,"process":5,"type":"ok","f":"poll","value":{"mode":"final","records":{"0":[[0,"0-1"],[1,"0-2"]]},"end_offset":2}}`, 0, "verdict: VALID"},
		{"lost write", `{"index":5,"time":60,"process":5,"type":"ok","f":"poll","value":{"mode":"final","records":{"0":[[1,"0-2"]]},"end_offset":2}}`, exitInvalid, "lost-write"},
		{"malformed", `{"index":5,"time":60,"process":5,"type":"ok","f":"poll","value":{"mode":"final","records":{"0":[[1,2]]}}}`, exitHarness, "op index 5"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			path := writeHistory(t, sends+tc.final+"\n")
			var stdout, stderr bytes.Buffer
			code := run([]string{"check", "--workload", "kafka-queue", path}, strings.NewReader(""), &stdout, &stderr)
			if code != tc.code {
				t.Fatalf("exit %d, want %d; stdout %s; stderr %s", code, tc.code, stdout.String(), stderr.String())
			}
			if !strings.Contains(stdout.String()+stderr.String(), tc.says) {
				t.Errorf("output does not say %q: %s%s", tc.says, stdout.String(), stderr.String())
			}
		})
	}
}

// storedRun writes a run directory: a test.json and a history.
func storedRun(t *testing.T, testJSON, hist string) string {
	t.Helper()
	dir := writeHistory(t, hist)
	if testJSON != "" {
		if err := os.WriteFile(filepath.Join(dir, "test.json"), []byte(testJSON), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// checkRun runs `faultline check` and returns its exit code and output.
func checkRun(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	code := run(append([]string{"check"}, args...), strings.NewReader(""), &stdout, &stderr)
	return code, stdout.String(), stderr.String()
}

const freshRead = `{"index":3,"time":40,"process":1,"type":"ok","f":"read","key":"r0","value":{"value":1,"version":1,"zxid":4294967300},"node":"zk2"}` + "\n"

// TestCheckTestJSON: the workload and the faults asked for come from
// test.json; one that is damaged, or missing without --workload, is exit 3
// naming the file and the way out, never a silent guess.
func TestCheckTestJSON(t *testing.T) {
	for _, tc := range []struct {
		name, testJSON string
		says           []string
	}{
		{"invalid JSON", "{", []string{"test.json", "damaged", "--workload"}},
		{"empty", " ", []string{"test.json", "damaged", "--workload"}},
		{"wrong types", `{"workload":"zk-register","time_limit":"soon"}`, []string{"test.json", "damaged", "--workload"}},
		{"unknown workload", `{"workload":"kafka"}`, []string{"test.json", "is not a workload"}},
		{"missing", "", []string{"no test.json", "--workload"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := storedRun(t, tc.testJSON, historyHead+freshRead)
			code, stdout, stderr := checkRun(t, dir)
			if code != exitHarness {
				t.Fatalf("exit %d, want 3; stdout %s stderr %s", code, stdout, stderr)
			}
			if lines := strings.Split(strings.TrimSpace(stderr), "\n"); len(lines) != 1 {
				t.Errorf("stderr is %d lines: %q", len(lines), stderr)
			}
			for _, want := range tc.says {
				if !strings.Contains(stderr, want) {
					t.Errorf("stderr %q does not say %q", stderr, want)
				}
			}
		})
	}
	t.Run("a directory where test.json should be", func(t *testing.T) {
		dir := storedRun(t, "", historyHead+freshRead)
		if err := os.Mkdir(filepath.Join(dir, "test.json"), 0o755); err != nil {
			t.Fatal(err)
		}
		code, _, stderr := checkRun(t, dir)
		if code != exitHarness || !strings.Contains(stderr, "test.json") || !strings.Contains(stderr, "--workload") {
			t.Errorf("exit %d, stderr %q", code, stderr)
		}
	})
	t.Run("--workload overrides a damaged test.json", func(t *testing.T) {
		dir := storedRun(t, "{", historyHead+freshRead)
		if code, stdout, stderr := checkRun(t, dir, "--workload", "zk-register"); code != exitValid {
			t.Errorf("exit %d; %s %s", code, stdout, stderr)
		}
	})
}

// nemesisOps is a partition that applied, and the final heal.
const nemesisOps = `{"index":4,"time":50,"process":"nemesis","type":"invoke","f":"start-partition","value":{"kind":"partition","shape":"one"}}
{"index":5,"time":60,"process":"nemesis","type":"info","f":"start-partition","value":{"shape":"one","drops":{"zk1":["zk2"]}}}
{"index":6,"time":70,"process":"nemesis","type":"invoke","f":"stop-partition"}
{"index":7,"time":80,"process":"nemesis","type":"info","f":"stop-partition","value":"healed"}
{"index":8,"time":90,"process":"nemesis","type":"invoke","f":"heal"}
{"index":9,"time":95,"process":"nemesis","type":"info","f":"heal","value":{}}
`

// TestCheckFaults: the faults asked for are judged from the history: all
// applied is valid and says so; a kind asked for that never applied is
// unknown (exit 2) with a note naming it; the faults section is printed.
func TestCheckFaults(t *testing.T) {
	const asked = `{"workload":"zk-register","time_limit":60000000000,"seed":3,"nemesis":{"kinds":["partition","kill"]}}`
	dir := storedRun(t, `{"workload":"zk-register","seed":3,"nemesis":{"kinds":["partition"]}}`, historyHead+freshRead+nemesisOps)
	code, stdout, stderr := checkRun(t, dir)
	if code != exitValid || !strings.Contains(stdout, "partition 1/1 applied; healed") {
		t.Errorf("exit %d, summary:\n%s%s", code, stdout, stderr)
	}
	dir = storedRun(t, asked, historyHead+freshRead+nemesisOps)
	code, stdout, _ = checkRun(t, dir)
	if code != exitUnknown || !strings.Contains(stdout, "kill faults were requested but none was scheduled") {
		t.Errorf("a kind asked for but never applied: exit %d, summary:\n%s", code, stdout)
	}
	failed := strings.Replace(nemesisOps, `"value":{"shape":"one","drops":{"zk1":["zk2"]}}}`, `"value":null,"error":"partition is not available on this cluster: no network"}`, 1)
	dir = storedRun(t, `{"workload":"zk-register","nemesis":{"kinds":["partition"]}}`, historyHead+freshRead+failed)
	code, stdout, _ = checkRun(t, dir)
	if code != exitUnknown || !strings.Contains(stdout, "partition 0/1 applied, 1 failed: partition is not available") || !strings.Contains(stdout, "none applied") {
		t.Errorf("a fault that failed: exit %d, summary:\n%s", code, stdout)
	}
}

// TestCheckOutMissingDir: --out makes its directory, whatever the verdict.
func TestCheckOutMissingDir(t *testing.T) {
	dir := storedRun(t, `{"workload":"zk-register"}`, historyHead+freshRead)
	out := filepath.Join(t.TempDir(), "a", "b")
	if code, stdout, stderr := checkRun(t, dir, "--out", out); code != exitValid {
		t.Fatalf("exit %d: %s %s", code, stdout, stderr)
	}
	if _, err := os.Stat(filepath.Join(out, "results.json")); err != nil {
		t.Error(err)
	}
}

// TestCheckRealStaleSyncRead: a real run's sync read that the leader
// served stale is valid as ZooKeeper promises (sequential), and invalid
// when linearizable reads are required.
func TestCheckRealStaleSyncRead(t *testing.T) {
	path := filepath.Join("..", "..", "checker", "testdata", "zk-register-real-sync-stale-read.jsonl")
	code, stdout, stderr := checkRun(t, "--workload", "zk-register", path)
	if code != exitValid || !strings.Contains(stdout, "finding: nonlinearizable on key r96") {
		t.Errorf("as sequential: exit %d\n%s%s", code, stdout, stderr)
	}
	code, stdout, stderr = checkRun(t, "--workload", "zk-register", "--consistency", "linearizable", path)
	if code != exitInvalid || !strings.Contains(stdout, "linearizable: false") {
		t.Errorf("as linearizable: exit %d\n%s%s", code, stdout, stderr)
	}
	code, _, stderr = checkRun(t, "--workload", "kafka-queue", "--consistency", "linearizable", path)
	if code != exitHarness || !strings.Contains(stderr, "--consistency") {
		t.Errorf("--consistency with kafka-queue: exit %d %s", code, stderr)
	}
	code, _, stderr = checkRun(t, "--workload", "zk-register", "--consistency", "strong", path)
	if code != exitHarness || !strings.Contains(stderr, `--consistency "strong" is not a consistency`) {
		t.Errorf("--consistency strong: exit %d %s", code, stderr)
	}
}

// TestCheckDevZero: an endless line is refused with one line naming the
// limit and the flag that raises it, without reading it all.
func TestCheckDevZero(t *testing.T) {
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	code, stdout, stderr := checkRun(t, "--workload", "zk-register", "/dev/zero")
	runtime.ReadMemStats(&after)
	if code != exitHarness || !strings.Contains(stderr, "is longer than 64 MiB") || !strings.Contains(stderr, "--max-line") {
		t.Errorf("exit %d, stdout %q, stderr %q", code, stdout, stderr)
	}
	if lines := strings.Split(strings.TrimSpace(stderr), "\n"); len(lines) != 1 {
		t.Errorf("stderr is %d lines", len(lines))
	}
	if alloc := after.TotalAlloc - before.TotalAlloc; alloc > 100<<20 {
		t.Errorf("checking /dev/zero allocated %d MiB", alloc>>20)
	}
	long := writeHistory(t, historyHead+`{"index":3,"time":40,"process":1,"type":"ok","f":"read","key":"r0","value":{"value":1,"version":1,"zxid":4294967300},"node":"`+strings.Repeat("z", 2000)+`"}`+"\n")
	code, _, stderr = checkRun(t, "--workload", "zk-register", "--max-line", "1000", long)
	if code != exitHarness || !strings.Contains(stderr, "line 4") || !strings.Contains(stderr, "--max-line") {
		t.Errorf("a 2 kB line over --max-line 1000: exit %d, %q", code, stderr)
	}
	if code, stdout, stderr := checkRun(t, "--workload", "zk-register", "--max-line", "5000", long); code != exitValid {
		t.Errorf("the same line under --max-line 5000: exit %d %s %s", code, stdout, stderr)
	}
}
