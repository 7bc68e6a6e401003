package local

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os/exec"
	"sync"

	"github.com/faultline/faultline/cluster"
)

// formatStorage formats every KRaft node's storage (kafka-storage format)
// with the run's cluster id, all at once, before any starts.
func (c *localCluster) formatStorage(ctx context.Context, java string) error {
	var wg sync.WaitGroup
	errs := make([]error, len(c.nodes))
	for i, n := range c.nodes {
		if n.spec.Role == cluster.RoleZooKeeper {
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			args := cluster.StorageFormatArgs(c.dist.Kafka, n.configFile, n.log4jFile, c.state.KRaftClusterID)
			cmd := exec.CommandContext(ctx, java, args...)
			var out bytes.Buffer
			cmd.Stdout, cmd.Stderr = &out, &out
			if err := cmd.Run(); err != nil {
				errs[i] = &cluster.NodeError{Node: n.spec.Name, Err: fmt.Errorf("format its KRaft storage: %w: %s", err, lastLine(out.String())), LogFile: n.logFile}
			}
		}()
	}
	wg.Wait()
	return errors.Join(errs...)
}

// lastLine is the last non-empty line of s.
func lastLine(s string) string {
	lines := bytes.Split(bytes.TrimSpace([]byte(s)), []byte("\n"))
	return string(lines[len(lines)-1])
}
