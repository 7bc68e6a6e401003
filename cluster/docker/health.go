package docker

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/faultline/faultline/cluster"
	"github.com/go-zookeeper/zk"
)

// zk returns the harness's own ZooKeeper session, made on first use.
func (c *dockerCluster) zk() (*zk.Conn, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.zkConn != nil {
		return c.zkConn, nil
	}
	var servers []string
	for _, n := range c.ZooKeepers() {
		servers = append(servers, n.ClientAddr())
	}
	conn, err := cluster.ConnectZooKeeper(c.Dial, servers, 10*time.Second, c.log)
	if err != nil {
		return nil, err
	}
	c.zkConn = conn
	return conn, nil
}

// zkIfAny is the harness's ZooKeeper session when the cluster has
// ZooKeeper nodes, else nil.
func (c *dockerCluster) zkIfAny() (*zk.Conn, error) {
	if len(c.ZooKeepers()) == 0 {
		return nil, nil
	}
	return c.zk()
}

func (c *dockerCluster) Status(ctx context.Context) (cluster.Status, error) {
	conn, err := c.zkIfAny()
	if err != nil {
		return cluster.Status{}, err
	}
	return cluster.QueryStatus(ctx, c.id, c.nodeProcesses(ctx), c.Dial, conn), nil
}

func (c *dockerCluster) WaitHealthy(ctx context.Context) error { return c.waitFor(ctx, "") }

// exitedOnStart is the error of a node whose container stopped while it
// was awaited.
func (c *dockerCluster) exitedOnStart(ctx context.Context, role cluster.Role) error {
	for _, n := range c.nodes {
		if role != "" && n.spec.Role != role {
			continue
		}
		if running, _, _, err := n.state(ctx); err == nil && !running {
			return &cluster.NodeError{Node: n.spec.Name, Err: fmt.Errorf("its container exited on start"), LogFile: n.files.LogFile}
		}
	}
	return nil
}

// waitFor polls until the nodes of role (every node when role is empty)
// serve. A node whose container exits fails it at once.
func (c *dockerCluster) waitFor(ctx context.Context, role cluster.Role) error {
	conn, err := c.zkIfAny()
	if err != nil {
		return err
	}
	tick := time.NewTicker(250 * time.Millisecond)
	defer tick.Stop()
	for {
		if err := c.exitedOnStart(ctx, role); err != nil {
			return err
		}
		st := cluster.QueryStatus(ctx, c.id, c.nodeProcesses(ctx), c.Dial, conn)
		if role == cluster.RoleZooKeeper {
			st.Controller = 0 // brokers are not asked about yet
			var zks []cluster.NodeStatus
			for _, n := range st.Nodes {
				if n.Role == role {
					zks = append(zks, n)
				}
			}
			st.Nodes = zks
		}
		ok, why := st.Healthy()
		if ok {
			return nil
		}
		select {
		case <-ctx.Done():
			name, _, _ := strings.Cut(why, ":")
			var logFile string
			if n, found := c.Node(name); found {
				logFile = n.LogFile()
			}
			return &cluster.NodeError{Node: name, Err: fmt.Errorf("not healthy in time (%s)", why), LogFile: logFile}
		case <-tick.C:
		}
	}
}

// waitListening waits until every node of role accepts connections on
// its client address.
func (c *dockerCluster) waitListening(ctx context.Context, role cluster.Role) error {
	for _, n := range c.nodes {
		if n.spec.Role != role {
			continue
		}
		for {
			if err := c.exitedOnStart(ctx, role); err != nil {
				return err
			}
			pctx, cancel := context.WithTimeout(ctx, time.Second)
			conn, err := c.Dial(pctx, "tcp", n.spec.ClientAddr())
			cancel()
			if err == nil {
				conn.Close()
				break
			}
			select {
			case <-ctx.Done():
				return &cluster.NodeError{Node: n.spec.Name, Err: fmt.Errorf("not listening in time (%v)", err), LogFile: n.files.LogFile}
			case <-time.After(100 * time.Millisecond):
			}
		}
	}
	return nil
}

// brokerAddrs lists the brokers' client addresses.
func (c *dockerCluster) brokerAddrs() []string {
	var addrs []string
	for _, b := range c.Brokers() {
		addrs = append(addrs, b.ClientAddr())
	}
	return addrs
}

func (c *dockerCluster) ZooKeeperLeader(ctx context.Context) (cluster.Node, error) {
	return cluster.ZooKeeperLeaderOf(ctx, c.ZooKeepers(), c.Dial)
}

func (c *dockerCluster) KafkaController(ctx context.Context) (cluster.Node, error) {
	if c.opts.KRaft() {
		cl, err := cluster.KafkaAdmin(c.Dial, c.brokerAddrs())
		if err != nil {
			return nil, err
		}
		defer cl.Close()
		return cluster.KRaftLeaderOf(ctx, cl, c.Nodes())
	}
	conn, err := c.zk()
	if err != nil {
		return nil, err
	}
	return cluster.KafkaControllerOf(ctx, conn, c.Brokers())
}

func (c *dockerCluster) PartitionLeaders(ctx context.Context, topic string) (map[int32]cluster.Node, error) {
	if c.opts.KRaft() {
		cl, err := cluster.KafkaAdmin(c.Dial, c.brokerAddrs())
		if err != nil {
			return nil, err
		}
		defer cl.Close()
		return cluster.PartitionLeadersFromMetadata(ctx, cl, c.Brokers(), topic)
	}
	conn, err := c.zk()
	if err != nil {
		return nil, err
	}
	return cluster.PartitionLeadersOf(ctx, conn, c.Brokers(), topic)
}
