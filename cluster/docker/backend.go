package docker

import (
	"context"
	"fmt"
	"net/netip"
	"os"
	"runtime"

	"github.com/faultline/faultline/cluster"
	"github.com/spf13/pflag"
)

// Backend is the Docker backend: every node a container on a network of
// the run's own. It needs a Docker daemon and root (faults are applied
// inside the containers' network namespaces).
type Backend struct{}

var _ cluster.Backend = Backend{}

// Name returns "docker".
func (Backend) Name() string { return "docker" }

// Summary says what the backend is.
func (Backend) Summary() string {
	return "every node a Docker container on a network of the run's own (needs a Docker daemon, root, and `faultline docker setup` once)"
}

// Options are the Docker backend's own options.
type Options struct {
	// Java is the java whose runtime the image was made from (default
	// $JAVA_HOME/bin/java, else java on PATH): it names the image.
	Java string `json:"java,omitempty"`
	// Image overrides the runtime image (default: the one `faultline
	// docker setup` makes from Java). It must be on the daemon and have
	// java at the path Java resolves to.
	Image string `json:"image,omitempty"`
	// Pool is where the run's /24 network is drawn from (default
	// DefaultPool).
	Pool string `json:"pool,omitempty"`
}

// NewOptions returns the Docker backend's options at their defaults.
func (Backend) NewOptions() cluster.BackendOptions { return &Options{} }

// Flags binds --docker-java, --docker-image and --docker-pool.
func (o *Options) Flags(fs *pflag.FlagSet) {
	fs.StringVar(&o.Java, "docker-java", "", "docker backend: the java whose runtime the image was made from (default $JAVA_HOME/bin/java, else java on PATH)")
	fs.StringVar(&o.Image, "docker-image", "", "docker backend: the image the containers run (default the one faultline docker setup makes)")
	fs.StringVar(&o.Pool, "docker-pool", "", "docker backend: the network each run's /24 is drawn from (default "+DefaultPool+")")
}

// Validate checks the pool.
func (o *Options) Validate() error {
	_, err := o.pool()
	return err
}

func (o *Options) pool() (netip.Prefix, error) {
	s := o.Pool
	if s == "" {
		s = DefaultPool
	}
	p, err := netip.ParsePrefix(s)
	if err != nil || !p.Addr().Is4() || p.Bits() > 24 {
		return netip.Prefix{}, fmt.Errorf("--docker-pool %q is not an IPv4 network of /24 or larger: give one such as %s", o.Pool, DefaultPool)
	}
	return p, nil
}

// decodeOptions reads the Docker options a cluster.Options carries.
func decodeOptions(o cluster.Options) (*Options, error) {
	bo, err := cluster.DecodeBackendOptions(Backend{}, o.BackendOptions)
	if err != nil {
		return nil, fmt.Errorf("the docker backend's options are damaged (%v): fix backend_options in test.json", err)
	}
	do := bo.(*Options)
	return do, do.Validate()
}

// needRoot checks for Linux and root; why says what for.
func needRoot(why string) error {
	if runtime.GOOS != "linux" {
		return fmt.Errorf("the docker backend enters containers' Linux network namespaces and this is %s: run faultline on Linux", runtime.GOOS)
	}
	if os.Geteuid() != 0 {
		return fmt.Errorf("%s: run faultline as root (sudo faultline ...)", why)
	}
	return nil
}

// image resolves the runtime and the image the run uses.
func (o *Options) image() (javaRuntime, string, error) {
	rt, err := findRuntime(o.Java)
	if err != nil {
		return javaRuntime{}, "", err
	}
	if o.Image != "" {
		return rt, o.Image, nil
	}
	ref, err := imageRef(rt)
	return rt, ref, err
}

// Preflight checks for root, a daemon that answers, and the image.
func (Backend) Preflight(ctx context.Context, o cluster.Options) error {
	if err := needRoot("the docker backend applies network faults inside containers' namespaces"); err != nil {
		return err
	}
	do, err := decodeOptions(o.Defaults())
	if err != nil {
		return err
	}
	_, ref, err := do.image()
	if err != nil {
		return err
	}
	d, err := connect(ctx)
	if err != nil {
		return err
	}
	defer d.close()
	has, err := d.hasImage(ctx, ref)
	if err != nil {
		return err
	}
	if !has {
		return errNoImage(ref)
	}
	return nil
}

// Status describes a run from Docker's labels.
func (Backend) Status(ctx context.Context, id string) (cluster.Status, error) {
	if err := needRoot("`cluster status` of a docker run needs root"); err != nil {
		return cluster.Status{}, err
	}
	return StatusOf(ctx, id)
}

// Exec runs a command in a node's container.
func (Backend) Exec(ctx context.Context, id, node string, argv []string, o cluster.ExecOptions) (int, error) {
	return Exec(ctx, id, node, argv, o)
}

// Down removes a run's containers and network, found by label.
func (Backend) Down(ctx context.Context, id string, all bool) (removed, live []string, err error) {
	return Down(ctx, id, all)
}
