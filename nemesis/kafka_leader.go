package nemesis

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"path"
	"time"

	"github.com/faultline/faultline/cluster"
)

// KafkaLeader names the broker that leads the most partitions of topic, as
// ZooKeeper's /brokers/topics/<topic>/partitions/<n>/state records them
// (the controller's word, not a broker's possibly stale cache). Ties go to
// the lowest broker id.
func KafkaLeader(ctx context.Context, c cluster.Cluster, topic string) (string, error) {
	if topic == "" {
		return "", errors.New("kafka-leader needs a test topic: use it with --workload kafka-queue")
	}
	var servers []string
	for _, z := range c.ZooKeepers() {
		servers = append(servers, z.ClientAddr())
	}
	conn, err := cluster.ConnectZooKeeper(c.Dial, servers, 10*time.Second, nil)
	if err != nil {
		return "", err
	}
	defer func() { go conn.Close() }()
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	dir := path.Join("/brokers/topics", topic, "partitions")
	parts, err := cluster.CallZK(ctx, func() ([]string, error) {
		children, _, err := conn.Children(dir)
		return children, err
	})
	if err != nil {
		return "", fmt.Errorf("list %s: %w", dir, err)
	}
	led := map[int]int{}
	for _, p := range parts {
		data, err := cluster.CallZK(ctx, func() ([]byte, error) {
			data, _, err := conn.Get(path.Join(dir, p, "state"))
			return data, err
		})
		if err != nil {
			return "", fmt.Errorf("read partition %s's state: %w", p, err)
		}
		var st struct {
			Leader int `json:"leader"`
		}
		if err := json.Unmarshal(data, &st); err != nil {
			return "", fmt.Errorf("partition %s's state %q: %w", p, data, err)
		}
		if st.Leader >= 0 {
			led[st.Leader]++
		}
	}
	return mostLeading(c.Brokers(), led, topic)
}

// mostLeading picks the broker with the most partitions in led (broker id
// → count), the lowest id on a tie.
func mostLeading(brokers []cluster.Node, led map[int]int, topic string) (string, error) {
	best, bestID, bestN := "", 0, 0
	for _, b := range brokers {
		n := led[b.ID()]
		if n > bestN || (n == bestN && n > 0 && b.ID() < bestID) {
			best, bestID, bestN = b.Name(), b.ID(), n
		}
	}
	if best == "" {
		return "", fmt.Errorf("no broker leads a partition of %s", topic)
	}
	return best, nil
}
