package local

import (
	"context"

	"github.com/faultline/faultline/cluster"
)

// formatStorage formats the storage of the KRaft nodes of role with the
// run's cluster id, before they start (cluster.FormatKRaftStorage: one
// kafka-storage format per kind of node, copied to the others). The roster
// calls it for the controllers before they start, and for the brokers while
// the controllers start.
func (c *localCluster) formatStorage(ctx context.Context, java string, role cluster.Role) error {
	var nodes []cluster.KRaftStorage
	for _, n := range c.nodes {
		if n.spec.Role != role || role == cluster.RoleZooKeeper {
			continue
		}
		nodes = append(nodes, cluster.KRaftStorage{Spec: n.spec, Files: cluster.NodeFiles{
			DataDir: n.dataDir, ConfigFile: n.configFile, Log4jFile: n.log4jFile, LogFile: n.logFile}})
	}
	if len(nodes) == 0 {
		return nil
	}
	return cluster.FormatKRaftStorage(ctx, java, c.archives, c.dist.Kafka, c.state.KRaftClusterID, nodes)
}
