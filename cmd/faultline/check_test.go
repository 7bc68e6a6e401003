package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// A hand-made zk-register history: a write of 1, then a read.
const historyHead = `{"index":0,"time":10,"process":0,"type":"invoke","f":"write","key":"r0","value":{"value":1}}
{"index":1,"time":20,"process":0,"type":"ok","f":"write","key":"r0","value":{"value":1,"version":1},"node":"zk1"}
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
	}{
		{"fresh read is valid",
			`{"index":3,"time":40,"process":1,"type":"ok","f":"read","key":"r0","value":{"value":1,"version":1},"node":"zk2"}` + "\n",
			exitValid, "verdict: VALID"},
		{"stale read is invalid",
			`{"index":3,"time":40,"process":1,"type":"ok","f":"read","key":"r0","value":{"value":0,"version":0},"node":"zk2"}` + "\n",
			exitInvalid, "nonlinearizable on key r0"},
		{"a crashed run's partial last line is checked without it",
			`{"index":3,"time":40,"process":1,"ty`,
			exitValid, "partly written line"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			dir := writeHistory(t, historyHead+tc.tail)
			out := t.TempDir()
			var stdout, stderr bytes.Buffer
			code := run([]string{"check", dir, "--out", out}, strings.NewReader(""), &stdout, &stderr)
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
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			code := run([]string{"check", tc.arg(t)}, strings.NewReader(""), &stdout, &stderr)
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
