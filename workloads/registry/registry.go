// Package registry lists the workloads faultline has. Adding a workload is
// a package under workloads/ and a line in All.
package registry

import (
	"github.com/faultline/faultline/workloads"
	"github.com/faultline/faultline/workloads/kafkaqueue"
	"github.com/faultline/faultline/workloads/zklock"
	"github.com/faultline/faultline/workloads/zkregister"
)

// All returns every workload, the default first.
func All() []workloads.Definition {
	return []workloads.Definition{
		zkregister.Definition,
		kafkaqueue.Definition,
		zklock.Definition,
	}
}

// Lookup finds a workload by name.
func Lookup(name string) (workloads.Definition, error) {
	return workloads.Lookup(All(), name)
}
