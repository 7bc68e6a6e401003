package cluster

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"path"
	"strconv"
	"time"

	"github.com/go-zookeeper/zk"
)

// The answers to Leaders for a cluster in ZooKeeper mode, for backends to
// share: ZooKeeper's own nodes say who leads the ensemble (srvr), and
// ZooKeeper holds the Kafka controller's word on who leads what.

// ZooKeeperLeaderOf asks each ZooKeeper node of zks for its mode and
// returns the one that answers leader.
func ZooKeeperLeaderOf(ctx context.Context, zks []Node, dial DialFunc) (Node, error) {
	for _, z := range zks {
		if mode, err := ZooKeeperMode(ctx, dial, z.ClientAddr()); err == nil && mode == "leader" {
			return z, nil
		}
	}
	return nil, errors.New("no ZooKeeper node says it leads")
}

// KafkaControllerOf names the broker /controller names in ZooKeeper.
func KafkaControllerOf(ctx context.Context, conn *zk.Conn, brokers []Node) (Node, error) {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	data, err := CallZK(ctx, func() ([]byte, error) {
		data, _, err := conn.Get("/controller")
		return data, err
	})
	if errors.Is(err, zk.ErrNoNode) {
		return nil, errors.New("no Kafka controller is elected")
	}
	if err != nil {
		return nil, fmt.Errorf("read /controller: %w", err)
	}
	var c struct {
		BrokerID int `json:"brokerid"`
	}
	if err := json.Unmarshal(data, &c); err != nil {
		return nil, fmt.Errorf("/controller holds %q: %w", data, err)
	}
	return brokerByID(brokers, c.BrokerID)
}

// PartitionLeadersOf reads each partition's leader of topic from
// ZooKeeper's /brokers/topics/<topic>/partitions/<n>/state: the
// controller's word, not a broker's possibly stale cache.
func PartitionLeadersOf(ctx context.Context, conn *zk.Conn, brokers []Node, topic string) (map[int32]Node, error) {
	if topic == "" {
		return nil, errors.New("no topic given")
	}
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	dir := path.Join("/brokers/topics", topic, "partitions")
	parts, err := CallZK(ctx, func() ([]string, error) {
		children, _, err := conn.Children(dir)
		return children, err
	})
	if err != nil {
		return nil, fmt.Errorf("list %s: %w", dir, err)
	}
	leaders := map[int32]Node{}
	for _, p := range parts {
		id, err := strconv.ParseInt(p, 10, 32)
		if err != nil {
			continue
		}
		data, err := CallZK(ctx, func() ([]byte, error) {
			data, _, err := conn.Get(path.Join(dir, p, "state"))
			return data, err
		})
		if err != nil {
			return nil, fmt.Errorf("read partition %s's state: %w", p, err)
		}
		var st struct {
			Leader int `json:"leader"`
		}
		if err := json.Unmarshal(data, &st); err != nil {
			return nil, fmt.Errorf("partition %s's state %q: %w", p, data, err)
		}
		if st.Leader < 0 {
			continue
		}
		if b, err := brokerByID(brokers, st.Leader); err == nil {
			leaders[int32(id)] = b
		}
	}
	return leaders, nil
}

func brokerByID(brokers []Node, id int) (Node, error) {
	for _, b := range brokers {
		if b.ID() == id {
			return b, nil
		}
	}
	return nil, fmt.Errorf("broker id %d is not one of the cluster's", id)
}
