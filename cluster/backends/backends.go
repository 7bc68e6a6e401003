// Package backends lists the cluster backends faultline has. Adding one is
// a package under cluster/ and a line in All.
package backends

import (
	"fmt"
	"strings"

	"github.com/faultline/faultline/cluster"
	"github.com/faultline/faultline/cluster/docker"
	"github.com/faultline/faultline/cluster/local"
)

// All returns every backend, the default first.
func All() []cluster.Backend {
	return []cluster.Backend{
		local.Backend{},
		docker.Backend{},
	}
}

// Get finds a backend by name.
func Get(name string) (cluster.Backend, error) {
	var names []string
	for _, b := range All() {
		if b.Name() == name {
			return b, nil
		}
		names = append(names, b.Name())
	}
	return nil, fmt.Errorf("--backend %q is not a backend: choose %s", name, strings.Join(names, " or "))
}
