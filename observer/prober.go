package observer

import (
	"context"
	"errors"

	"github.com/faultline/faultline/cluster"
)

// The fs of the observer's ops.
const (
	FZKMode      = "zk-mode"
	FKafkaView   = "kafka-view"
	FKRaftQuorum = "kraft-quorum"
)

// Target is one question the observer asks each round: what it asks (F)
// of which node, where.
type Target struct {
	// Node is the node's name (zk1, kafka2, ctrl1).
	Node string
	// F is zk-mode, kafka-view or kraft-quorum.
	F string
	// Addr is where the node is asked: a ZooKeeper node's client port, a
	// broker's listener, a KRaft controller's controller listener.
	Addr string
	// ID is a broker's or KRaft controller's own node.id.
	ID int
}

// Targets lists what the observer asks of nodes, in the order it asks
// each round: every ZooKeeper node's mode, every KRaft controller's view
// of the quorum, every broker's view. A broker that is a KRaft controller
// too (combined mode) is asked both.
func Targets(nodes []cluster.Node) []Target {
	var zks, controllers, brokers []Target
	for _, n := range nodes {
		s := n.Spec()
		if n.Role() == cluster.RoleZooKeeper {
			zks = append(zks, Target{Node: n.Name(), F: FZKMode, Addr: n.ClientAddr()})
		}
		if s.IsController() {
			controllers = append(controllers, Target{Node: n.Name(), F: FKRaftQuorum, Addr: s.ControllerAddr(), ID: s.KafkaNodeID()})
		}
		if n.Role() == cluster.RoleKafka {
			brokers = append(brokers, Target{Node: n.Name(), F: FKafkaView, Addr: n.ClientAddr(), ID: s.KafkaNodeID()})
		}
	}
	return append(append(zks, controllers...), brokers...)
}

// Prober asks one node at a time what it believes. Each call must return
// by ctx's deadline (the observer gives up on it then anyway). An error
// that wraps one made by Failed says the node certainly gave no view
// (it could not be reached, or answered with an error): the op completes
// fail; any other error leaves it unknown (info).
type Prober interface {
	// ZooKeeper asks a ZooKeeper node its mode and last zxid (srvr); a
	// node that says it does not serve requests returns
	// cluster.ErrNotServing.
	ZooKeeper(ctx context.Context, t Target) (cluster.Srvr, error)
	// Broker asks a broker its own metadata: the controller it names and
	// the leaders of topic's partitions ("": none, the controller only).
	Broker(ctx context.Context, t Target, topic string) (BrokerView, error)
	// Controller asks a KRaft controller whom it believes leads the
	// quorum, and in which epoch.
	Controller(ctx context.Context, t Target) (QuorumView, error)
	// Close releases the prober's connections.
	Close()
}

// BrokerView is a broker's own metadata.
type BrokerView struct {
	// Controller is the controller's id it names, -1 for none.
	Controller int32
	// Partitions are the topic's partitions it knows, with their leaders
	// and leader epochs; nil when no topic was asked.
	Partitions map[int32]PartitionLeader
}

// PartitionLeader is a partition's leader (-1 for none) and leader
// epoch as a broker's metadata has them.
type PartitionLeader struct{ Leader, Epoch int32 }

// QuorumView is a KRaft controller's view of its quorum: the leader (-1
// for none) and the epoch.
type QuorumView struct{ Leader, Epoch int32 }

// failedError marks an error by which a node certainly gave no view.
type failedError struct{ err error }

func (e failedError) Error() string { return e.err.Error() }
func (e failedError) Unwrap() error { return e.err }

// Failed marks err as one by which the node certainly gave no view: it
// could not be reached (the connection was refused), or it answered with
// an error. The observer completes such an op as fail.
func Failed(err error) error {
	if err == nil {
		return nil
	}
	return failedError{err}
}

// isFailed reports whether err was marked by Failed.
func isFailed(err error) bool {
	var f failedError
	return errors.As(err, &f)
}
