package local

import (
	"context"

	"github.com/faultline/faultline/cluster"
)

// formatStorage formats every KRaft node's storage with the run's cluster
// id, before any starts (cluster.FormatKRaftStorage: one kafka-storage
// format per kind of node, copied to the others).
func (c *localCluster) formatStorage(ctx context.Context, java string) error {
	var nodes []cluster.KRaftStorage
	for _, n := range c.nodes {
		if n.spec.Role == cluster.RoleZooKeeper {
			continue
		}
		nodes = append(nodes, cluster.KRaftStorage{Spec: n.spec, Files: cluster.NodeFiles{
			DataDir: n.dataDir, ConfigFile: n.configFile, Log4jFile: n.log4jFile, LogFile: n.logFile}})
	}
	return cluster.FormatKRaftStorage(ctx, java, c.dist.Kafka, c.state.KRaftClusterID, nodes)
}
