package observer

import (
	"context"
	"errors"
	"fmt"
	"net"
	"sync"

	"github.com/faultline/faultline/cluster"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// netProber asks the nodes themselves over the run's network.
type netProber struct {
	dial cluster.DialFunc
	// requestor returns the handle through which requests reach the node
	// at addr and no other (tests replace it).
	requestor func(addr string) (kmsg.Requestor, error)

	mu      sync.Mutex
	clients map[string]*kgo.Client // by address, made on first use
	closed  bool
}

// NewProber returns the Prober that asks each node itself over the
// network, dialing through dial (Cluster.Dial: from the harness's side,
// which no fault cuts). It keeps one Kafka client per broker and per
// KRaft controller for the run, made the first time the node is asked and
// seeded with that node alone, and sends each request to that node
// (never through the client's view of the cluster); ZooKeeper nodes are
// asked through a connection per question, as srvr wants.
func NewProber(dial cluster.DialFunc) Prober {
	p := &netProber{dial: dial, clients: map[string]*kgo.Client{}}
	p.requestor = p.kafkaNode
	return p
}

// dialNode dials through p.dial; a connection that cannot be made is a
// node certainly not asked.
func (p *netProber) dialNode(ctx context.Context, network, addr string) (net.Conn, error) {
	conn, err := p.dial(ctx, network, addr)
	if err != nil {
		return nil, Failed(err)
	}
	return conn, nil
}

// kafkaNode returns the handle on the Kafka node at addr: the seed broker
// of the node's own client.
func (p *netProber) kafkaNode(addr string) (kmsg.Requestor, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return nil, Failed(errors.New("the observer's prober is closed"))
	}
	cl := p.clients[addr]
	if cl == nil {
		var err error
		cl, err = kgo.NewClient(
			kgo.SeedBrokers(addr),
			kgo.Dialer(p.dialNode),
			kgo.ClientID("faultline-observer"),
		)
		if err != nil {
			return nil, Failed(fmt.Errorf("a Kafka client for %s: %w", addr, err))
		}
		p.clients[addr] = cl
	}
	seeds := cl.SeedBrokers()
	if len(seeds) != 1 {
		return nil, Failed(fmt.Errorf("the Kafka client for %s has %d seed brokers", addr, len(seeds)))
	}
	return seeds[0], nil
}

// Close closes the Kafka clients.
func (p *netProber) Close() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.closed = true
	for addr, cl := range p.clients {
		cl.Close()
		delete(p.clients, addr)
	}
}

// ZooKeeper asks srvr.
func (p *netProber) ZooKeeper(ctx context.Context, t Target) (cluster.Srvr, error) {
	return cluster.ZooKeeperSrvr(ctx, p.dialNode, t.Addr)
}

// Broker sends Metadata to the broker.
func (p *netProber) Broker(ctx context.Context, t Target, topic string) (BrokerView, error) {
	r, err := p.requestor(t.Addr)
	if err != nil {
		return BrokerView{}, err
	}
	return brokerView(ctx, r, topic)
}

// Controller asks the controller DescribeQuorum, and one that does not
// lead a Raft Fetch in epoch 0 (see the package's doc).
func (p *netProber) Controller(ctx context.Context, t Target) (QuorumView, error) {
	r, err := p.requestor(t.Addr)
	if err != nil {
		return QuorumView{}, err
	}
	return controllerView(ctx, r)
}

// brokerView asks a broker, through r, its own metadata for topic (none
// when "": only the controller).
func brokerView(ctx context.Context, r kmsg.Requestor, topic string) (BrokerView, error) {
	req := kmsg.NewPtrMetadataRequest()
	req.Topics = []kmsg.MetadataRequestTopic{} // none, not all
	if topic != "" {
		rt := kmsg.NewMetadataRequestTopic()
		rt.Topic = kmsg.StringPtr(topic)
		req.Topics = append(req.Topics, rt)
	}
	req.AllowAutoTopicCreation = false
	resp, err := req.RequestWith(ctx, r)
	if err != nil {
		return BrokerView{}, err
	}
	v := BrokerView{Controller: resp.ControllerID}
	if topic == "" {
		return v, nil
	}
	// A topic the broker's metadata does not know (or has no partitions
	// of yet) is a view in which it leads none.
	v.Partitions = map[int32]PartitionLeader{}
	for _, rt := range resp.Topics {
		if rt.Topic == nil || *rt.Topic != topic {
			continue
		}
		for _, p := range rt.Partitions {
			v.Partitions[p.Partition] = PartitionLeader{Leader: p.Leader, Epoch: p.LeaderEpoch}
		}
	}
	return v, nil
}

// controllerView asks a KRaft controller, through r, whom it believes
// leads the quorum: DescribeQuorum, which it answers only while it leads;
// otherwise raftView.
func controllerView(ctx context.Context, r kmsg.Requestor) (QuorumView, error) {
	q, err := cluster.DescribeQuorum(ctx, r)
	if err == nil {
		return QuorumView{Leader: int32(q.LeaderID), Epoch: int32(q.LeaderEpoch)}, nil
	}
	if !errors.Is(err, kerr.NotLeaderForPartition) {
		return QuorumView{}, kafkaAnswer(fmt.Errorf("DescribeQuorum: %w", err))
	}
	v, err := raftView(ctx, r)
	if err != nil {
		return QuorumView{}, kafkaAnswer(fmt.Errorf("not the quorum's leader (DescribeQuorum), and its own view could not be had: Fetch: %w", err))
	}
	return v, nil
}

// kafkaAnswer marks an error Kafka answered as Failed: the node certainly
// gave no view.
func kafkaAnswer(err error) error {
	var ke *kerr.Error
	if errors.As(err, &ke) {
		return Failed(err)
	}
	return err
}

// metadataTopicID is the KRaft metadata log's topic id (Kafka's
// Uuid.METADATA_TOPIC_ID, 0 then 1), which Raft's Fetch names from
// version 13.
var metadataTopicID = [16]byte{15: 1}

// raftView asks a KRaft controller the leader and epoch it believes in
// with the Fetch a Raft follower sends, of the metadata log in epoch 0,
// which every quorum is past: the controller refuses it
// (FENCED_LEADER_EPOCH; NOT_LEADER_OR_FOLLOWER in an epoch 0 that never
// had a leader) before it reads its log or counts the asker as a replica,
// and names in the refusal its own quorum state's leader and epoch.
func raftView(ctx context.Context, r kmsg.Requestor) (QuorumView, error) {
	req := kmsg.NewPtrFetchRequest()
	req.MaxWaitMillis, req.MinBytes, req.MaxBytes = 0, 0, 1
	t := kmsg.NewFetchRequestTopic()
	t.Topic, t.TopicID = "__cluster_metadata", metadataTopicID
	p := kmsg.NewFetchRequestTopicPartition()
	p.Partition, p.CurrentLeaderEpoch, p.FetchOffset, p.LastFetchedEpoch, p.PartitionMaxBytes = 0, 0, 0, 0, 1
	t.Partitions = append(t.Partitions, p)
	req.Topics = append(req.Topics, t)
	resp, err := req.RequestWith(ctx, r)
	if err != nil {
		return QuorumView{}, err
	}
	if err := kerr.ErrorForCode(resp.ErrorCode); err != nil {
		return QuorumView{}, err
	}
	if len(resp.Topics) != 1 || len(resp.Topics[0].Partitions) != 1 {
		return QuorumView{}, Failed(errors.New("the answer holds no metadata log partition"))
	}
	part := resp.Topics[0].Partitions[0]
	switch err := kerr.ErrorForCode(part.ErrorCode); {
	case err == nil, errors.Is(err, kerr.FencedLeaderEpoch), errors.Is(err, kerr.NotLeaderForPartition), errors.Is(err, kerr.UnknownLeaderEpoch):
	default:
		return QuorumView{}, err
	}
	cur := part.CurrentLeader
	if cur.LeaderEpoch < 0 {
		return QuorumView{}, Failed(fmt.Errorf("the answer (Fetch v%d) names no current leader", resp.GetVersion()))
	}
	return QuorumView{Leader: cur.LeaderID, Epoch: cur.LeaderEpoch}, nil
}
