// Package docker is the Docker backend: every node of a run a container on
// a user-defined Docker network of the run's own, with pinned addresses on
// the same last-octet plan as the local backend, the servers' configs
// written by package cluster into the run's directory and bind-mounted at
// the same path, the fetched distributions mounted read-only, and the
// image a local one made from this machine's Java runtime (never pulled).
// Containers and networks are made, inspected and removed through
// testcontainers-go, and through the Docker client it brings where it has
// no call; every one carries the labels faultline.run and faultline.node,
// so `faultline cluster down` finds them after the harness died.
// Network faults are applied by netfault inside each container's network
// namespace, and put back after every start (a started container has a new
// namespace).
package docker
