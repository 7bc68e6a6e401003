package local

import (
	"context"
	"fmt"
	"os"
	"runtime"

	"github.com/faultline/faultline/cluster"
	"github.com/spf13/pflag"
)

// Backend is the local backend: every node a JVM in its own Linux network
// namespace on this machine, joined by a bridge in a namespace of the
// run's own. It needs root.
type Backend struct{}

var _ cluster.Backend = Backend{}

// Name returns "local".
func (Backend) Name() string { return "local" }

// Summary says what the backend is.
func (Backend) Summary() string {
	return "every node a JVM in its own network namespace on this machine (needs root)"
}

// Options are the local backend's own options.
type Options struct {
	// Java is the java binary the servers run on (default $JAVA_HOME/bin/java,
	// else java on PATH).
	Java string `json:"java,omitempty"`
}

// NewOptions returns the local backend's options at their defaults.
func (Backend) NewOptions() cluster.BackendOptions { return &Options{} }

// Flags binds --java.
func (o *Options) Flags(fs *pflag.FlagSet) {
	fs.StringVar(&o.Java, "java", "", "local backend: the java binary the servers run on (default $JAVA_HOME/bin/java, else java on PATH)")
}

// Validate checks that a java given is executable.
func (o *Options) Validate() error {
	if o.Java != "" && !cluster.IsExecutable(o.Java) {
		return fmt.Errorf("--java %s is not an executable file: give the path of a java binary (a JDK 17 or later)", o.Java)
	}
	return nil
}

// decodeOptions reads the local options a cluster.Options carries.
func decodeOptions(o cluster.Options) (*Options, error) {
	bo, err := cluster.DecodeBackendOptions(Backend{}, o.BackendOptions)
	if err != nil {
		return nil, fmt.Errorf("the local backend's options are damaged (%v): fix backend_options in test.json", err)
	}
	lo := bo.(*Options)
	return lo, lo.Validate()
}

// Preflight checks for Linux, root, Java and Maven or the fetched servers.
func (Backend) Preflight(ctx context.Context, o cluster.Options) error {
	if err := Preflight(); err != nil {
		return err
	}
	lo, err := decodeOptions(o.Defaults())
	if err != nil {
		return err
	}
	if _, err := lo.findJava(); err != nil {
		return err
	}
	return nil
}

// Preflight checks that this machine can run the local backend: Linux and
// root.
func Preflight() error { return needRoot("the local cluster needs root to make network namespaces") }

// needRoot checks for Linux and root; why says what for.
func needRoot(why string) error {
	if runtime.GOOS != "linux" {
		return fmt.Errorf("the local cluster lives in Linux network namespaces and this is %s: run faultline on Linux", runtime.GOOS)
	}
	if os.Geteuid() != 0 {
		return fmt.Errorf("%s: run faultline as root (sudo faultline ...)", why)
	}
	return nil
}

// findJava returns the java binary to run the servers on.
func (o *Options) findJava() (string, error) { return cluster.FindJava(o.Java) }

// Status describes a run from its state file.
func (Backend) Status(ctx context.Context, id string) (cluster.Status, error) {
	if err := needRoot("`cluster status` needs root to look into the run's network namespaces"); err != nil {
		return cluster.Status{}, err
	}
	return StatusOf(ctx, id)
}

// Exec runs a command inside a node's network namespace.
func (Backend) Exec(ctx context.Context, id, node string, argv []string, o cluster.ExecOptions) (int, error) {
	if err := needRoot("`cluster exec` needs root to enter a node's network namespace"); err != nil {
		return 0, err
	}
	return Exec(ctx, id, node, argv, o)
}

// Down removes a run's processes, namespaces and files.
func (Backend) Down(ctx context.Context, id string, all bool) (removed, live []string, err error) {
	if err := needRoot("`cluster down` needs root to stop a run's processes and remove its network namespaces"); err != nil {
		return nil, nil, err
	}
	return Down(ctx, id, all)
}
