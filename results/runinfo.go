package results

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"time"
)

// RunInfo is what the report, the listing and JUnit read of a run's
// test.json (the runner's Record): a few fields by name, and the whole
// file as it is, to show the options without knowing every workload's.
type RunInfo struct {
	Name          string        `json:"name"`
	Workload      string        `json:"workload"`
	Seed          uint64        `json:"seed"`
	TimeLimit     time.Duration `json:"time_limit"`
	Concurrency   int           `json:"concurrency"`
	Start         time.Time     `json:"start"`
	WorkloadStart time.Time     `json:"workload_start"`
	Dir           string        `json:"dir"`
	Versions      struct {
		Kafka     string `json:"kafka"`
		ZooKeeper string `json:"zookeeper"`
	} `json:"versions"`
	Cluster struct {
		ZooKeeperNodes int `json:"zookeeper_nodes"`
		KafkaNodes     int `json:"kafka_nodes"`
	} `json:"cluster"`
	Nemesis struct {
		Kinds     []string      `json:"kinds"`
		Interval  time.Duration `json:"interval"`
		Partition string        `json:"partition"`
	} `json:"nemesis"`
	EndNotes []string `json:"end_notes"`

	// Raw is test.json as stored.
	Raw json.RawMessage `json:"-"`
}

// ReadRunInfo reads a run's test.json. A missing file is an error
// wrapping os.ErrNotExist.
func ReadRunInfo(dir string) (RunInfo, error) {
	b, err := os.ReadFile(filepath.Join(dir, TestFile))
	if err != nil {
		return RunInfo{}, err
	}
	var ri RunInfo
	if err := json.Unmarshal(b, &ri); err != nil {
		return RunInfo{}, fmt.Errorf("%s is damaged: %w", filepath.Join(dir, TestFile), err)
	}
	ri.Raw = b
	return ri, nil
}

// NemesisText names the faults a run asked for, "none" when it asked for
// none.
func (ri RunInfo) NemesisText() string {
	if len(ri.Nemesis.Kinds) == 0 {
		return "none"
	}
	s := ""
	for i, k := range ri.Nemesis.Kinds {
		if i > 0 {
			s += ","
		}
		s += k
	}
	return s
}

// VersionsText names the servers' versions, e.g. "zk 3.8.4, kafka 3.9.2"
// (kafka left out when the run had no brokers).
func (ri RunInfo) VersionsText() string {
	s := ""
	if ri.Versions.ZooKeeper != "" {
		s = "zk " + ri.Versions.ZooKeeper
	}
	if ri.Versions.Kafka != "" && ri.Cluster.KafkaNodes > 0 {
		if s != "" {
			s += ", "
		}
		s += "kafka " + ri.Versions.Kafka
	}
	return s
}
