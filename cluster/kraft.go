package cluster

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"net"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// KRaft mode answers "who leads" and "who is registered" through the Kafka
// protocol, asked of the brokers: Metadata names the registered, unfenced
// brokers and the partitions' leaders; DescribeQuorum (forwarded to the
// active controller) names the quorum's leader, voters and their lag.

// kraft says whether the nodes are a KRaft cluster's.
func kraft(nodes []NodeProcess) bool {
	for _, n := range nodes {
		if n.IsController() {
			return true
		}
	}
	return false
}

// KafkaAdmin opens a Kafka client on the brokers of nodes, dialing through
// dial; close it with Close.
func KafkaAdmin(dial DialFunc, brokers []string) (*kgo.Client, error) {
	if len(brokers) == 0 {
		return nil, errors.New("the cluster has no broker to ask")
	}
	return kgo.NewClient(
		kgo.SeedBrokers(brokers...),
		kgo.Dialer(func(ctx context.Context, network, host string) (net.Conn, error) { return dial(ctx, network, host) }),
		kgo.RequestTimeoutOverhead(2*time.Second),
		kgo.RetryTimeout(3*time.Second),
		kgo.MetadataMinAge(250*time.Millisecond),
	)
}

// DescribeQuorum asks the KRaft quorum of the metadata log about itself,
// through r: a client (a broker forwards the question to the active
// controller), or a client's handle on one controller, which answers only
// while it leads: another answers an error that is kerr.NotLeaderForPartition.
func DescribeQuorum(ctx context.Context, r kmsg.Requestor) (*Quorum, error) {
	req := kmsg.NewPtrDescribeQuorumRequest()
	t := kmsg.NewDescribeQuorumRequestTopic()
	t.Topic = "__cluster_metadata"
	p := kmsg.NewDescribeQuorumRequestTopicPartition()
	p.Partition = 0
	t.Partitions = append(t.Partitions, p)
	req.Topics = append(req.Topics, t)
	resp, err := req.RequestWith(ctx, r)
	if err != nil {
		return nil, err
	}
	if err := errorOf(resp.ErrorCode, resp.ErrorMessage); err != nil {
		return nil, err
	}
	if len(resp.Topics) != 1 || len(resp.Topics[0].Partitions) != 1 {
		return nil, errors.New("DescribeQuorum answered for no metadata partition")
	}
	part := resp.Topics[0].Partitions[0]
	if err := errorOf(part.ErrorCode, part.ErrorMessage); err != nil {
		return nil, err
	}
	q := &Quorum{LeaderID: int(part.LeaderID), LeaderEpoch: int(part.LeaderEpoch), HighWatermark: part.HighWatermark}
	var leaderEnd int64
	for _, v := range part.CurrentVoters {
		if v.ReplicaID == part.LeaderID {
			leaderEnd = v.LogEndOffset
		}
	}
	for _, v := range part.CurrentVoters {
		q.Voters = append(q.Voters, QuorumMember{ID: int(v.ReplicaID), Lag: max(0, leaderEnd-v.LogEndOffset)})
	}
	for _, v := range part.Observers {
		q.Observers = append(q.Observers, QuorumMember{ID: int(v.ReplicaID), Lag: max(0, leaderEnd-v.LogEndOffset)})
	}
	return q, nil
}

// errorOf is the error a Kafka answer's error code and message say, nil
// for none; it wraps kerr's error for the code.
func errorOf(code int16, msg *string) error {
	if code == 0 {
		return nil
	}
	err := fmt.Errorf("Kafka error code %d (%w)", code, kerr.ErrorForCode(code))
	if msg != nil && *msg != "" {
		err = fmt.Errorf("%w: %s", err, *msg)
	}
	return err
}

// RegisteredBrokers lists the node.ids of the brokers the metadata names:
// registered and not fenced.
func RegisteredBrokers(ctx context.Context, cl *kgo.Client) (map[int]bool, error) {
	md, err := kadm.NewClient(cl).BrokerMetadata(ctx)
	if err != nil {
		return nil, err
	}
	ids := map[int]bool{}
	for _, b := range md.Brokers {
		ids[int(b.NodeID)] = true
	}
	return ids, nil
}

// queryKRaft fills in what a KRaft cluster says: the brokers registered,
// the quorum, its leader and each controller's place in it.
func queryKRaft(ctx context.Context, st *Status, nodes []NodeProcess, dial DialFunc) {
	var brokers []string
	for _, n := range nodes {
		if n.Role == RoleKafka && n.Process == ProcessRunning {
			brokers = append(brokers, n.ClientAddr())
		}
	}
	qctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	st.Quorum = &Quorum{LeaderID: -1}
	cl, err := KafkaAdmin(dial, brokers)
	if err != nil {
		st.Quorum.Error = err.Error()
		return
	}
	defer cl.Close()
	registered, rerr := RegisteredBrokers(qctx, cl)
	q, qerr := DescribeQuorum(qctx, cl)
	if qerr != nil {
		st.Quorum.Error = qerr.Error()
	} else {
		st.Quorum = q
		st.Controller = q.LeaderID
	}
	for i, n := range nodes {
		ns := &st.Nodes[i]
		if n.Role == RoleKafka {
			ns.Registered = registered[n.KafkaNodeID()]
			if !ns.Registered && (ns.Error == "" || ns.Listening) {
				if rerr != nil {
					ns.Error = "metadata: " + rerr.Error()
				} else {
					ns.Error = "not registered (or fenced) in the cluster's metadata"
				}
			}
		}
		if !n.IsController() {
			continue
		}
		ns.Controller = q != nil && q.LeaderID == n.KafkaNodeID()
		if n.Role != RoleController {
			continue // a combined node: its broker side said what it does
		}
		switch {
		case q == nil:
			if ns.Error == "" {
				ns.Error = "quorum: " + st.Quorum.Error
			}
		case q.LeaderID == n.KafkaNodeID():
			ns.Mode = "leader"
		case voter(q, n.KafkaNodeID()):
			ns.Mode = "voter"
		}
	}
}

func voter(q *Quorum, id int) bool {
	for _, v := range q.Voters {
		if v.ID == id {
			return true
		}
	}
	return false
}

// KRaftLeaderOf is the node the quorum names as its leader: the active
// controller.
func KRaftLeaderOf(ctx context.Context, cl *kgo.Client, nodes []Node) (Node, error) {
	q, err := DescribeQuorum(ctx, cl)
	if err != nil {
		return nil, fmt.Errorf("ask the KRaft quorum: %w", err)
	}
	if q.LeaderID < 0 {
		return nil, errors.New("the KRaft quorum has no leader")
	}
	for _, n := range nodes {
		if n.Spec().IsController() && n.Spec().KafkaNodeID() == q.LeaderID {
			return n, nil
		}
	}
	return nil, fmt.Errorf("the KRaft quorum's leader %d is not one of the cluster's controllers", q.LeaderID)
}

// PartitionLeadersFromMetadata maps each partition of topic to its leader,
// as the metadata a broker serves says.
func PartitionLeadersFromMetadata(ctx context.Context, cl *kgo.Client, brokers []Node, topic string) (map[int32]Node, error) {
	md, err := kadm.NewClient(cl).Metadata(ctx, topic)
	if err != nil {
		return nil, err
	}
	td, ok := md.Topics[topic]
	if !ok || td.Err != nil {
		return nil, fmt.Errorf("topic %s not in the metadata: %v", topic, td.Err)
	}
	out := map[int32]Node{}
	for _, p := range td.Partitions {
		if p.Leader < 0 {
			continue
		}
		if b, err := brokerByID(brokers, int(p.Leader)); err == nil {
			out[p.Partition] = b
		}
	}
	return out, nil
}

// NewKRaftClusterID makes a KRaft cluster id: 16 random bytes in URL-safe
// base64 without padding, as `kafka-storage random-uuid` prints.
func NewKRaftClusterID() (string, error) {
	b := make([]byte, 16)
	for {
		if _, err := rand.Read(b); err != nil {
			return "", fmt.Errorf("make a KRaft cluster id: %w", err)
		}
		b[6] = b[6]&0x0f | 0x40 // a version 4 UUID, as Kafka makes them
		b[8] = b[8]&0x3f | 0x80
		// Never one that starts with '-', as Kafka's Uuid.randomUuid: on
		// kafka-storage's command line (-t ID) it would read as a flag.
		if id := base64.RawURLEncoding.EncodeToString(b); id[0] != '-' {
			return id, nil
		}
	}
}
