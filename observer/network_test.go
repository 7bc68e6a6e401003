package observer

import (
	"context"
	"errors"
	"io"
	"maps"
	"net"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// TestBrokerView asks brokers of an in-process fake Kafka cluster (on
// loopback) for their views: each Metadata request goes to the broker
// asked, and only to it.
func TestBrokerView(t *testing.T) {
	c, err := kfake.NewCluster(kfake.NumBrokers(3), kfake.SeedTopics(3, "t"))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	var mu sync.Mutex
	served := map[int32]int{} // Metadata requests per broker
	c.ControlKey(int16(kmsg.Metadata), func(kmsg.Request) (kmsg.Response, error, bool) {
		mu.Lock()
		defer mu.Unlock()
		served[c.CurrentNode()]++
		return nil, nil, false
	})
	var d net.Dialer
	p := NewProber(d.DialContext)
	defer p.Close()
	addrs := c.ListenAddrs()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for range 3 {
		v, err := p.Broker(ctx, Target{Node: "kafka2", F: FKafkaView, Addr: addrs[1], ID: 1}, "t")
		if err != nil {
			t.Fatal(err)
		}
		if v.Controller < 0 || v.Controller > 2 || len(v.Partitions) != 3 {
			t.Fatalf("view %+v", v)
		}
		for part, l := range v.Partitions {
			if part < 0 || part > 2 || l.Leader < 0 || l.Leader > 2 || l.Epoch < 0 {
				t.Errorf("partition %d: %+v", part, l)
			}
		}
	}
	v, err := p.Broker(ctx, Target{Node: "kafka3", F: FKafkaView, Addr: addrs[2], ID: 2}, "nope")
	if err != nil || v.Partitions == nil || len(v.Partitions) != 0 {
		t.Errorf("a topic the broker does not know: %+v, %v", v, err)
	}
	if v, err := p.Broker(ctx, Target{Node: "kafka3", F: FKafkaView, Addr: addrs[2], ID: 2}, ""); err != nil || v.Partitions != nil {
		t.Errorf("no topic: %+v, %v", v, err)
	}
	mu.Lock()
	counts := slices.Sorted(maps.Values(served))
	mu.Unlock()
	if !slices.Equal(counts, []int{2, 3}) {
		t.Errorf("Metadata requests per broker: %v, want 3 to the first broker asked and 2 to the second, none to another", served)
	}
	if n := len(p.(*netProber).clients); n != 2 {
		t.Errorf("%d Kafka clients, want one per broker asked", n)
	}
	p.Close()
	if _, err := p.Broker(ctx, Target{Node: "kafka2", F: FKafkaView, Addr: addrs[1], ID: 1}, "t"); !isFailed(err) {
		t.Errorf("closed: %v", err)
	}
}

// TestUnreachable: a node that cannot be dialed certainly gave no view.
func TestUnreachable(t *testing.T) {
	refused := errors.New("connect: connection refused")
	p := NewProber(func(context.Context, string, string) (net.Conn, error) { return nil, refused })
	defer p.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if _, err := p.ZooKeeper(ctx, Target{Node: "zk1", F: FZKMode, Addr: "10.213.0.11:2181"}); !isFailed(err) || !errors.Is(err, refused) {
		t.Errorf("zk-mode: %v", err)
	}
	if _, err := p.Broker(ctx, Target{Node: "kafka1", F: FKafkaView, Addr: "10.213.0.21:9092", ID: 1}, "t"); !isFailed(err) || !errors.Is(err, refused) {
		t.Errorf("kafka-view: %v", err)
	}
	if _, err := p.Controller(ctx, Target{Node: "ctrl1", F: FKRaftQuorum, Addr: "10.213.0.31:9093", ID: 101}); !isFailed(err) || !errors.Is(err, refused) {
		t.Errorf("kraft-quorum: %v", err)
	}
}

// TestSilentNode: a node that takes connections and never answers (a
// paused one) is given up on at the deadline, call after call.
func TestSilentNode(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	go func() {
		for {
			conn, err := l.Accept()
			if err != nil {
				return
			}
			go func() { _, _ = io.Copy(io.Discard, conn) }()
		}
	}()
	var d net.Dialer
	p := NewProber(d.DialContext)
	defer p.Close()
	const timeout = 100 * time.Millisecond
	for i := range 2 {
		for _, tg := range []Target{
			{Node: "zk1", F: FZKMode, Addr: l.Addr().String()},
			{Node: "kafka1", F: FKafkaView, Addr: l.Addr().String(), ID: 1},
			{Node: "ctrl1", F: FKRaftQuorum, Addr: l.Addr().String(), ID: 101},
		} {
			ctx, cancel := context.WithTimeout(context.Background(), timeout)
			began := time.Now()
			switch tg.F {
			case FZKMode:
				_, err = p.ZooKeeper(ctx, tg)
			case FKafkaView:
				_, err = p.Broker(ctx, tg, "t")
			default:
				_, err = p.Controller(ctx, tg)
			}
			cancel()
			if took := time.Since(began); err == nil || isFailed(err) || took > timeout+500*time.Millisecond {
				t.Errorf("call %d to %s: %v after %v", i, tg.Node, err, took)
			}
		}
	}
}

// fakeController answers DescribeQuorum and Raft's Fetch as a KRaft
// controller would.
type fakeController struct {
	leads         bool
	leader, epoch int32
	fetchCode     int16 // the Fetch partition's error code
	noCurrent     bool  // the Fetch answer names no current leader
	broken        error // every request fails with it
	reqs          []kmsg.Request
}

func (f *fakeController) Request(_ context.Context, req kmsg.Request) (kmsg.Response, error) {
	f.reqs = append(f.reqs, req)
	if f.broken != nil {
		return nil, f.broken
	}
	switch r := req.(type) {
	case *kmsg.DescribeQuorumRequest:
		resp := r.ResponseKind().(*kmsg.DescribeQuorumResponse)
		rt := kmsg.NewDescribeQuorumResponseTopic()
		rt.Topic = "__cluster_metadata"
		part := kmsg.NewDescribeQuorumResponseTopicPartition()
		if f.leads {
			part.LeaderID, part.LeaderEpoch = f.leader, f.epoch
		} else {
			part.ErrorCode = kerr.NotLeaderForPartition.Code
		}
		rt.Partitions = append(rt.Partitions, part)
		resp.Topics = append(resp.Topics, rt)
		return resp, nil
	case *kmsg.FetchRequest:
		resp := r.ResponseKind().(*kmsg.FetchResponse)
		rt := kmsg.NewFetchResponseTopic()
		rt.TopicID = metadataTopicID
		part := kmsg.NewFetchResponseTopicPartition()
		part.ErrorCode = f.fetchCode
		if !f.noCurrent {
			part.CurrentLeader.LeaderID, part.CurrentLeader.LeaderEpoch = f.leader, f.epoch
		}
		rt.Partitions = append(rt.Partitions, part)
		resp.Topics = append(resp.Topics, rt)
		return resp, nil
	}
	return nil, errors.New("unexpected request")
}

func TestControllerView(t *testing.T) {
	ctx := context.Background()
	// The leader answers DescribeQuorum for itself.
	f := &fakeController{leads: true, leader: 101, epoch: 7}
	if v, err := controllerView(ctx, f); err != nil || v != (QuorumView{101, 7}) || len(f.reqs) != 1 {
		t.Errorf("leader: %+v, %v after %d requests", v, err, len(f.reqs))
	}
	// A follower refuses it, and names its leader in refusing a Fetch in
	// epoch 0.
	f = &fakeController{leader: 102, epoch: 7, fetchCode: kerr.FencedLeaderEpoch.Code}
	if v, err := controllerView(ctx, f); err != nil || v != (QuorumView{102, 7}) || len(f.reqs) != 2 {
		t.Fatalf("follower: %+v, %v after %d requests", v, err, len(f.reqs))
	}
	fetch := f.reqs[1].(*kmsg.FetchRequest)
	if len(fetch.Topics) != 1 || fetch.Topics[0].Topic != "__cluster_metadata" || fetch.Topics[0].TopicID != [16]byte{15: 1} ||
		len(fetch.Topics[0].Partitions) != 1 || fetch.ReplicaID != -1 || fetch.ReplicaState.ID != -1 || fetch.MaxWaitMillis != 0 {
		t.Fatalf("fetch %+v", fetch)
	}
	if fp := fetch.Topics[0].Partitions[0]; fp.Partition != 0 || fp.CurrentLeaderEpoch != 0 || fp.LastFetchedEpoch != 0 || fp.FetchOffset != 0 {
		t.Errorf("fetch partition %+v: Raft takes it only with fetch offset and both epochs 0 (>= 0, last <= current)", fp)
	}
	// A controller with no leader, in the epoch the Fetch names.
	f = &fakeController{leader: -1, epoch: 0, fetchCode: kerr.NotLeaderForPartition.Code}
	if v, err := controllerView(ctx, f); err != nil || v != (QuorumView{-1, 0}) {
		t.Errorf("unattached: %+v, %v", v, err)
	}
	// A follower whose view cannot be had is not answered, never "no
	// leader".
	for name, f := range map[string]*fakeController{
		"fetch refused": {leader: 102, epoch: 7, fetchCode: kerr.InvalidRequest.Code},
		"no leader":     {leader: 102, epoch: 7, fetchCode: kerr.FencedLeaderEpoch.Code, noCurrent: true},
	} {
		if v, err := controllerView(ctx, f); !isFailed(err) || !strings.Contains(err.Error(), "not the quorum's leader") {
			t.Errorf("%s: %+v, %v", name, v, err)
		}
	}
	// A connection that broke leaves it unknown.
	f = &fakeController{broken: io.ErrUnexpectedEOF}
	if _, err := controllerView(ctx, f); err == nil || isFailed(err) {
		t.Errorf("broken connection: %v", err)
	}
}
