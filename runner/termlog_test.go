package runner

import (
	"bytes"
	"context"
	"log/slog"
	"strings"
	"testing"
	"time"
)

// logs makes a run's logger as Run does: faultline.log at debug, and the
// terminal at level through terminalLog.
func logs(level slog.Level) (log *slog.Logger, term *terminalLog, file, screen *bytes.Buffer) {
	file, screen = &bytes.Buffer{}, &bytes.Buffer{}
	term = newTerminalLog(slog.NewTextHandler(screen, &slog.HandlerOptions{Level: level}))
	log = slog.New(slog.NewMultiHandler(slog.NewTextHandler(file, &slog.HandlerOptions{Level: slog.LevelDebug}), term)).With("test", "kafka-queue")
	return log, term, file, screen
}

func lines(b *bytes.Buffer) []string {
	return strings.Split(strings.TrimSpace(b.String()), "\n")
}

// TestTerminalLogCountsClientProblems: 412 connection errors of the Kafka
// client while kafka1 was killed are one line on the terminal, at the
// fault's stop, and 412 lines in faultline.log; the harness's own lines
// pass; go-zookeeper's debug lines stay in the file.
func TestTerminalLogCountsClientProblems(t *testing.T) {
	log, term, file, screen := logs(slog.LevelInfo)
	log.Info("nemesis", "f", "start-kill", "did", `{"nodes":["kafka1"],"signal":"SIGKILL","on_workload":true}`)
	for range 412 {
		log.Warn("kafka client: unable to open connection to broker", "client", "kafka", "addr", "10.213.0.21:9092", "broker", "1", "node", "kafka1", "err", "dial tcp 10.213.0.21:9092: connect: connection refused")
	}
	log.Warn("kafka client: metadata update is missing the topic ID", "client", "kafka")
	log.Debug("failed to connect to 10.213.0.12:2181: dial tcp: connection refused", "client", "zookeeper")
	log.Info("nemesis", "f", "stop-kill", "did", `{"restarted":["kafka1"]}`)
	log.Warn("kafka client: read from broker errored, killing connection", "client", "kafka", "node", "kafka2", "err", "EOF")
	term.flush()
	got := lines(screen)
	want := []string{
		"start-kill",
		"kafka client: 412 connection errors to kafka1 while it was killed; see faultline.log",
		"kafka client: 1 × metadata update is missing the topic ID during a kill of kafka1; see faultline.log",
		"stop-kill",
		"kafka client: 1 connection error to kafka2 with no fault in place; see faultline.log",
	}
	if len(got) != len(want) {
		t.Fatalf("terminal:\n%s", screen)
	}
	for i := range want {
		if !strings.Contains(got[i], want[i]) {
			t.Errorf("line %d: %s\nwant it to hold %s", i, got[i], want[i])
		}
	}
	if n := strings.Count(file.String(), "unable to open connection"); n != 412 {
		t.Errorf("faultline.log has %d of the 412 client lines", n)
	}
	if !strings.Contains(file.String(), "client=zookeeper") {
		t.Error("faultline.log lacks the ZooKeeper client's line")
	}
}

// TestTerminalLogDebugShowsEverything: at --log-level debug every client
// line comes to the terminal as it is.
func TestTerminalLogDebugShowsEverything(t *testing.T) {
	log, term, _, screen := logs(slog.LevelDebug)
	for range 3 {
		log.Warn("kafka client: unable to open connection to broker", "client", "kafka", "node", "kafka1")
	}
	log.Debug("failed to connect to 10.213.0.12:2181", "client", "zookeeper")
	term.flush()
	if got := lines(screen); len(got) != 4 || strings.Contains(screen.String(), "see faultline.log") {
		t.Errorf("terminal:\n%s", screen)
	}
}

// TestTerminalLogNamesNodesAndPartitions: an address is named by its
// node, and a partition that cut a node off names it.
func TestTerminalLogNamesNodesAndPartitions(t *testing.T) {
	_, term, _, screen := logs(slog.LevelInfo)
	term.st.nodes["10.213.0.13:2181"] = "zk3"
	h := term.WithAttrs([]slog.Attr{slog.String("test", "zk-register")})
	rec := func(level slog.Level, msg string, kv ...any) {
		r := slog.NewRecord(time.Time{}, level, msg, 0)
		r.Add(kv...)
		if h.Enabled(context.Background(), level) {
			_ = h.Handle(context.Background(), r)
		}
	}
	rec(slog.LevelInfo, "nemesis", "f", "start-partition", "did", `{"drops":{"zk3":["zk1","zk2"],"zk1":["zk3"],"zk2":["zk3"]},"shape":"zk-leader"}`)
	rec(slog.LevelWarn, "session expired on 10.213.0.13:2181: i/o timeout", "client", "zookeeper")
	rec(slog.LevelInfo, "nemesis", "f", "heal", "did", `{"partition":"removed"}`)
	if !strings.Contains(screen.String(), "zookeeper client: 1 connection error to zk3 while it was cut off by a partition") {
		t.Errorf("terminal:\n%s", screen)
	}
}

// TestTerminalLogAtWarn: a terminal that shows warnings only still tells
// the fault windows apart, and shows no info line.
func TestTerminalLogAtWarn(t *testing.T) {
	log, term, _, screen := logs(slog.LevelWarn)
	log.Info("nemesis", "f", "start-pause", "did", `{"nodes":["kafka2"],"signal":"SIGSTOP"}`)
	log.Warn("kafka client: unable to open connection to broker", "client", "kafka", "node", "kafka2", "err", "i/o timeout")
	log.Info("nemesis", "f", "stop-pause", "did", `{"resumed":["kafka2"]}`)
	term.flush()
	if got := lines(screen); len(got) != 1 || !strings.Contains(got[0], "1 connection error to kafka2 while it was paused") {
		t.Errorf("terminal:\n%s", screen)
	}
}
