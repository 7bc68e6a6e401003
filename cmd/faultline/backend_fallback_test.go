package main

import (
	"errors"
	"fmt"
	"slices"
	"testing"

	"github.com/faultline/faultline/cluster"
)

// namedBackend is a backend that has only a name, for onRunsBackendOf.
type namedBackend struct {
	cluster.Backend
	name string
}

func (b namedBackend) Name() string { return b.name }

// TestOnRunsBackendOf: `cluster status` and `exec` ask the named backend,
// then, when it has no run and --backend was not given, the others; the
// named backend's error stands unless another finds the run, and any other
// error, or a --backend given, stops at the first.
func TestOnRunsBackendOf(t *testing.T) {
	local, docker := namedBackend{name: "local"}, namedBackend{name: "docker"}
	all := []cluster.Backend{local, docker}
	noRun := fmt.Errorf("no run abc: %w", cluster.ErrNoRun)
	broken := errors.New("state file unreadable")
	for _, tc := range []struct {
		name    string
		given   bool
		results map[string]error // what each backend answers
		want    error
		asked   []string
	}{
		{"found by the named backend", false, map[string]error{"local": nil, "docker": noRun}, nil, []string{"local"}},
		{"found by another", false, map[string]error{"local": noRun, "docker": nil}, nil, []string{"local", "docker"}},
		{"found by none: the named backend's error", false, map[string]error{"local": noRun, "docker": broken}, noRun, []string{"local", "docker"}},
		{"--backend given: no other asked", true, map[string]error{"local": noRun, "docker": nil}, noRun, []string{"local"}},
		{"another error: no other asked", false, map[string]error{"local": broken, "docker": nil}, broken, []string{"local"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var asked []string
			err := onRunsBackendOf(local, all, tc.given, func(b cluster.Backend) error {
				asked = append(asked, b.Name())
				return tc.results[b.Name()]
			})
			if err != tc.want {
				t.Errorf("error %v, want %v", err, tc.want)
			}
			if !slices.Equal(asked, tc.asked) {
				t.Errorf("asked %v, want %v", asked, tc.asked)
			}
		})
	}
}
