package runner

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/faultline/faultline/cluster"
	"github.com/faultline/faultline/nemesis"
	"github.com/faultline/faultline/results"
)

// Record is a run's test.json: the spec and what the run found out as it
// went. It is written when the run starts and again as it learns more.
type Record struct {
	Spec
	// Start is when the run began; WorkloadStart when the workload did:
	// time zero of the history, the fault windows and the plots.
	Start         time.Time `json:"start"`
	WorkloadStart time.Time `json:"workload_start,omitzero"`
	// Dir is the run's directory.
	Dir string `json:"dir"`
	// Versions are the servers' versions; ClusterRun the backend's id of
	// the run's cluster (as `faultline cluster status --run` takes it).
	Versions   cluster.Versions `json:"versions"`
	ClusterRun string           `json:"cluster_run,omitempty"`
	// Schedule is the nemesis's schedule, drawn before the workload began.
	Schedule []nemesis.Step `json:"nemesis_schedule,omitempty"`
	// WorkloadDetails are the workload's own figures about the run.
	WorkloadDetails json.RawMessage `json:"workload_details,omitempty"`
	// EndNotes say what did not go as planned at the end of the test (the
	// cluster did not come back, the final reads did not finish): a run
	// with any is never valid.
	EndNotes []string `json:"end_notes,omitempty"`
}

// write stores the record as the run's test.json.
func (r Record) write() error {
	return results.WriteJSON(filepath.Join(r.Dir, results.TestFile), r)
}

// ReadRecord reads a run's test.json. A missing file is an error wrapping
// os.ErrNotExist; a damaged one says which file and how to go on.
func ReadRecord(dir string) (Record, error) {
	path := filepath.Join(dir, results.TestFile)
	b, err := os.ReadFile(path)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return Record{}, err
		}
		return Record{}, fmt.Errorf("read %s: %w (check it by hand with --workload, which ignores test.json)", path, err)
	}
	var r Record
	if err := json.Unmarshal(b, &r); err != nil {
		return Record{}, fmt.Errorf("%s is damaged (%v): repair it, or check the history without it by giving --workload", path, err)
	}
	return r, nil
}

// UnmarshalJSON reads a record: the spec (see Spec.UnmarshalJSON) and the
// rest.
func (r *Record) UnmarshalJSON(b []byte) error {
	var rest struct {
		Start           time.Time        `json:"start"`
		WorkloadStart   time.Time        `json:"workload_start"`
		Dir             string           `json:"dir"`
		Versions        cluster.Versions `json:"versions"`
		ClusterRun      string           `json:"cluster_run"`
		Schedule        []nemesis.Step   `json:"nemesis_schedule"`
		WorkloadDetails json.RawMessage  `json:"workload_details"`
		EndNotes        []string         `json:"end_notes"`
	}
	if err := json.Unmarshal(b, &rest); err != nil {
		return err
	}
	var spec Spec
	if err := spec.UnmarshalJSON(b); err != nil {
		return err
	}
	*r = Record{Spec: spec, Start: rest.Start, WorkloadStart: rest.WorkloadStart, Dir: rest.Dir, Versions: rest.Versions,
		ClusterRun: rest.ClusterRun, Schedule: rest.Schedule, WorkloadDetails: rest.WorkloadDetails, EndNotes: rest.EndNotes}
	return nil
}
