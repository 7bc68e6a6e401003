package docker

import (
	"context"
	"fmt"
	"io"
	"time"
)

// Setup gets this machine ready for the Docker backend: it checks that a
// daemon answers (DOCKER_HOST, else /var/run/docker.sock) and makes the
// runtime image from the Java runtime (java given, else $JAVA_HOME or
// PATH) when the daemon does not have it. It says what it did on w.
func Setup(ctx context.Context, java string, w io.Writer) (ref string, err error) {
	rt, err := findRuntime(java)
	if err != nil {
		return "", err
	}
	if ref, err = imageRef(rt); err != nil {
		return "", err
	}
	d, err := connect(ctx)
	if err != nil {
		return "", err
	}
	defer d.close()
	fmt.Fprintf(w, "Docker daemon at %s answers\n", d.api.DaemonHost())
	has, err := d.hasImage(ctx, ref)
	if err != nil {
		return "", err
	}
	if has {
		fmt.Fprintf(w, "image %s is there\n", ref)
		return ref, nil
	}
	start := time.Now()
	fmt.Fprintf(w, "making image %s from %s ...\n", ref, rt.Home)
	if err := d.buildImage(ctx, rt, ref); err != nil {
		return "", err
	}
	fmt.Fprintf(w, "made image %s in %.1fs\n", ref, time.Since(start).Seconds())
	return ref, nil
}
