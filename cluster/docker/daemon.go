package docker

import (
	"context"
	"fmt"
	"os"
	"time"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/moby/moby/client"
	"github.com/testcontainers/testcontainers-go"
	tclog "github.com/testcontainers/testcontainers-go/log"
)

// daemon is the connection to the Docker daemon: testcontainers' provider
// and the Docker client it brings, for what testcontainers has no call.
type daemon struct {
	provider *testcontainers.DockerProvider
	api      client.APIClient
}

// ryukEnv turns off testcontainers' reaper container, which would be
// pulled from a registry: faultline removes what it makes by label.
const ryukEnv = "TESTCONTAINERS_RYUK_DISABLED"

// connect opens the daemon at DOCKER_HOST, else /var/run/docker.sock, and
// checks that it answers; the error is one line with the fix.
func connect(ctx context.Context) (*daemon, error) {
	// testcontainers reads its configuration once per process, from the
	// environment: this must come before its first call.
	if err := os.Setenv(ryukEnv, "true"); err != nil {
		return nil, fmt.Errorf("set %s: %w", ryukEnv, err)
	}
	// Its default logger prints to standard error, which is the user's.
	tclog.SetDefault(tclog.NewNoopLogger())
	p, err := testcontainers.NewDockerProvider(testcontainers.WithLogger(tclog.NewNoopLogger()))
	if err != nil {
		return nil, noDaemon(err)
	}
	pctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if _, err := p.Client().Ping(pctx, client.PingOptions{}); err != nil {
		return nil, noDaemon(err)
	}
	return &daemon{provider: p, api: p.Client()}, nil
}

// daemonAddr is where the daemon is looked for.
func daemonAddr() string {
	if h := os.Getenv("DOCKER_HOST"); h != "" {
		return h
	}
	return "unix:///var/run/docker.sock"
}

// noDaemon is the one-line error for a daemon that does not answer.
func noDaemon(err error) error {
	return fmt.Errorf("no Docker daemon answers at %s (%v): start one (sudo scripts/start-dockerd.sh, or apt-get install docker.io and run dockerd), or set DOCKER_HOST", daemonAddr(), oneLine(err))
}

// oneLine keeps the first line of an error's text.
func oneLine(err error) string {
	s := err.Error()
	for i, r := range s {
		if r == '\n' {
			return s[:i]
		}
	}
	return s
}

func (d *daemon) close() { _ = d.provider.Close() }

// isNotFound says whether the daemon answered that a thing does not exist.
func isNotFound(err error) bool { return cerrdefs.IsNotFound(err) }
