package local

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"os/exec"
	"sync"

	"github.com/faultline/faultline/cluster"
)

// newKRaftClusterID makes a KRaft cluster id: 16 random bytes in URL-safe
// base64 without padding, as `kafka-storage random-uuid` prints.
func newKRaftClusterID() (string, error) {
	b := make([]byte, 16)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("make a KRaft cluster id: %w", err)
	}
	b[6] = b[6]&0x0f | 0x40 // a version 4 UUID, as Kafka makes them
	b[8] = b[8]&0x3f | 0x80
	return base64.RawURLEncoding.EncodeToString(b), nil
}

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
