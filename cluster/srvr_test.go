package cluster

import (
	"context"
	"errors"
	"io"
	"net"
	"strings"
	"testing"
	"time"
)

// srvrServer answers one srvr with answer, as a ZooKeeper server would,
// over a pipe: dial it.
func srvrServer(t *testing.T, answer string) DialFunc {
	t.Helper()
	return func(ctx context.Context, _, _ string) (net.Conn, error) {
		client, server := net.Pipe()
		go func() {
			defer server.Close()
			cmd := make([]byte, 4)
			if _, err := io.ReadFull(server, cmd); err != nil || string(cmd) != "srvr" {
				return
			}
			_, _ = io.WriteString(server, answer)
		}()
		return client, nil
	}
}

func TestZooKeeperSrvr(t *testing.T) {
	const leader = `Zookeeper version: 3.8.4-9316c2a7a97e1666d8f4593f34dd6fc36ecc436c, built on 2024-02-12 22:16 UTC
Latency min/avg/max: 0/0.4437/14
Received: 2371
Sent: 2373
Connections: 11
Outstanding: 0
Zxid: 0x500000053
Mode: leader
Node count: 215
Proposal sizes last/min/max: 48/32/338
`
	s, err := ZooKeeperSrvr(context.Background(), srvrServer(t, leader), "zk1:2181")
	if err != nil || s.Mode != "leader" || s.Zxid != 0x500000053 || s.Epoch() != 5 {
		t.Fatalf("srvr read as %+v (epoch %d), %v", s, s.Epoch(), err)
	}
	mode, err := ZooKeeperMode(context.Background(), srvrServer(t, leader), "zk1:2181")
	if err != nil || mode != "leader" {
		t.Errorf("mode %q, %v", mode, err)
	}
	_, err = ZooKeeperSrvr(context.Background(), srvrServer(t, "This ZooKeeper instance is not currently serving requests\n"), "zk1:2181")
	if !errors.Is(err, ErrNotServing) {
		t.Errorf("not serving: %v", err)
	}
	for answer, want := range map[string]string{
		"Zxid: 0xzz\nMode: follower\n": "srvr gave zxid",
		"Mode: follower\n":             "no zxid",
		"Zxid: 0x1\n":                  "no mode",
	} {
		if _, err := ZooKeeperSrvr(context.Background(), srvrServer(t, answer), "zk1:2181"); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%q: error %v, want %q", answer, err, want)
		}
	}
}

// TestZooKeeperSrvrSilent: a server that never answers (paused) is given
// up on when ctx ends.
func TestZooKeeperSrvrSilent(t *testing.T) {
	var server net.Conn
	dial := func(ctx context.Context, _, _ string) (net.Conn, error) {
		var client net.Conn
		client, server = net.Pipe()
		go func() { _, _ = io.Copy(io.Discard, server) }()
		return client, nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	began := time.Now()
	_, err := ZooKeeperSrvr(ctx, dial, "zk1:2181")
	if err == nil || time.Since(began) > time.Second {
		t.Errorf("silent server: %v after %v", err, time.Since(began))
	}
	server.Close()
}
