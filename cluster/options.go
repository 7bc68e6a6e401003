package cluster

import (
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// MaxNodesPerRole bounds --zk-nodes and --kafka-nodes.
const MaxNodesPerRole = 9

// DefaultBackend is the backend used unless --backend names another.
const DefaultBackend = "local"

// Options describe a cluster to bring up. The zero value of a field means its
// default; Defaults fills them in and Validate checks them. Options are plain
// data so that a run can record them in its test.json.
type Options struct {
	// Backend names the backend that runs the nodes (default "local").
	Backend string `json:"backend"`
	// BackendOptions are the backend's own options, as the backend
	// encodes them (see Backend.NewOptions); empty means its defaults.
	BackendOptions json.RawMessage `json:"backend_options,omitempty"`
	// ZooKeeperNodes is the ensemble size, 1 to 9 (default 3).
	ZooKeeperNodes int `json:"zookeeper_nodes"`
	// KafkaNodes is the number of brokers, 0 to 9 (0: none, a
	// ZooKeeper-only cluster).
	KafkaNodes int `json:"kafka_nodes"`
	// KafkaVersion is the Apache Kafka release, fetched from Maven Central
	// (default DefaultKafkaVersion in ZooKeeper mode, DefaultKRaftKafkaVersion
	// in KRaft mode).
	KafkaVersion string `json:"kafka_version"`
	// KafkaMode is zk (brokers keep their metadata in ZooKeeper, Kafka 2.x
	// and 3.x) or kraft (a Raft quorum of controllers, Kafka 3.3 and later;
	// 4.x has nothing else). Empty: kraft for 4.x, else zk (or kraft when
	// only the mode is wanted: see Defaults).
	KafkaMode string `json:"kafka_mode,omitempty"`
	// Controllers is, in KRaft mode, the number of dedicated controller
	// nodes ctrl1..ctrlN, 1 to 9; 0 makes every broker a controller too
	// (combined mode).
	Controllers int `json:"controllers,omitempty"`
	// ZooKeeperVersion is the Apache ZooKeeper release (default
	// DefaultZooKeeperVersion, the one Kafka depends on).
	ZooKeeperVersion string `json:"zookeeper_version"`
	// Dir is the run's work directory: a folder per node with its data,
	// configuration and log. Empty means a fresh folder under the system's
	// temporary directory, removed at Close unless KeepDir is set.
	Dir string `json:"dir,omitempty"`
	// KeepDir keeps Dir at Close even when it was made for the run.
	KeepDir bool `json:"keep_dir,omitempty"`
	// KeepData keeps the nodes' data in Dir at Close; by default only
	// their configs and logs stay.
	KeepData bool `json:"keep_data,omitempty"`
	// CacheDir holds the fetched server distributions (default
	// $XDG_CACHE_HOME/faultline, else ~/.cache/faultline).
	CacheDir string `json:"cache_dir,omitempty"`
	// NoCDS starts the server JVMs without class-data-sharing archives
	// (see ClassArchives), loading every class from the jars.
	NoCDS bool `json:"no_cds,omitempty"`
	// ZooKeeperHeapMB is each ZooKeeper JVM's heap (default 128).
	ZooKeeperHeapMB int `json:"zookeeper_heap_mb"`
	// KafkaHeapMB is each broker JVM's heap (default 320).
	KafkaHeapMB int `json:"kafka_heap_mb"`
	// StartTimeout bounds how long Up waits for the cluster to become
	// healthy (default 120s).
	StartTimeout time.Duration `json:"start_timeout"`
	// ZooKeeperTickTime is ZooKeeper's tickTime (default 2s); session,
	// init and sync limits are multiples of it.
	ZooKeeperTickTime time.Duration `json:"zookeeper_tick_time"`
	// KafkaZooKeeperSessionTimeout is the brokers' ZooKeeper session timeout
	// (default 6s): how long a dead controller keeps its role.
	KafkaZooKeeperSessionTimeout time.Duration `json:"kafka_zookeeper_session_timeout"`
	// ClientHosts is the number of client hosts c1..cN, 0 to 9: network
	// hosts of their own that client processes are spread over, which
	// partitions can cut off (0: clients connect from the harness's side).
	ClientHosts int `json:"client_hosts,omitempty"`
	// KafkaConfig adds or overrides broker properties (server.properties).
	KafkaConfig map[string]string `json:"kafka_config,omitempty"`
	// ZooKeeperConfig adds or overrides ZooKeeper properties (zoo.cfg).
	ZooKeeperConfig map[string]string `json:"zookeeper_config,omitempty"`
	// Logger receives the harness's own log lines (default: discarded).
	Logger *slog.Logger `json:"-"`
}

// propertyKey is what a server property's name may be.
var propertyKey = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9._-]*$`)

// Defaults returns o with every unset field given its default.
func (o Options) Defaults() Options {
	if o.Backend == "" {
		o.Backend = DefaultBackend
	}
	if o.KafkaVersion == "" {
		o.KafkaVersion = DefaultKafkaVersion
		if o.KafkaMode == ModeKRaft {
			o.KafkaVersion = DefaultKRaftKafkaVersion
		}
	}
	if o.KafkaMode == "" {
		o.KafkaMode = ModeZooKeeper
		if kafkaMajor(o.KafkaVersion) >= 4 {
			o.KafkaMode = ModeKRaft
		}
	}
	if o.ZooKeeperNodes == 0 && (o.KafkaMode != ModeKRaft || o.KafkaNodes == 0) {
		o.ZooKeeperNodes = 3 // a KRaft cluster needs none
	}
	if o.ZooKeeperVersion == "" {
		o.ZooKeeperVersion = DefaultZooKeeperVersion
	}
	if o.CacheDir == "" {
		o.CacheDir = defaultCacheDir()
	}
	if o.ZooKeeperHeapMB == 0 {
		o.ZooKeeperHeapMB = 128
	}
	if o.KafkaHeapMB == 0 {
		o.KafkaHeapMB = 320
	}
	if o.StartTimeout == 0 {
		o.StartTimeout = 120 * time.Second
	}
	if o.ZooKeeperTickTime == 0 {
		o.ZooKeeperTickTime = 2 * time.Second
	}
	if o.KafkaZooKeeperSessionTimeout == 0 {
		o.KafkaZooKeeperSessionTimeout = 6 * time.Second
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	return o
}

// The Kafka modes.
const (
	ModeZooKeeper = "zk"
	ModeKRaft     = "kraft"
)

// kafkaMajor is a version's major number, 0 when it has none.
func kafkaMajor(v string) int {
	major, _ := strconv.Atoi(strings.SplitN(v, ".", 2)[0])
	return major
}

// kraftCapable says whether a Kafka version has production KRaft mode
// (3.3 and later).
func kraftCapable(v string) bool {
	parts := strings.SplitN(v, ".", 3)
	if len(parts) < 2 {
		return false
	}
	major, _ := strconv.Atoi(parts[0])
	minor, _ := strconv.Atoi(parts[1])
	return major > 3 || (major == 3 && minor >= 3)
}

// KRaft says whether the cluster's Kafka runs in KRaft mode.
func (o Options) KRaft() bool { return o.KafkaMode == ModeKRaft }

var versionPattern = regexp.MustCompile(`^[0-9]+\.[0-9]+\.[0-9]+([.-][A-Za-z0-9.-]+)?$`)

// Validate checks options after Defaults; its errors say how to fix them.
func (o Options) Validate() error {
	for _, m := range []struct {
		flag  string
		props map[string]string
	}{{"--zk-config", o.ZooKeeperConfig}, {"--kafka-config", o.KafkaConfig}} {
		for k, v := range m.props {
			if !propertyKey.MatchString(k) {
				return fmt.Errorf("%s: %q is not a property name: give names such as commitLogCount or unclean.leader.election.enable", m.flag, k)
			}
			if strings.ContainsAny(v, "\n\r") {
				return fmt.Errorf("%s: the value of %s holds a line break: give a one-line value", m.flag, k)
			}
		}
	}
	if o.ClientHosts < 0 || o.ClientHosts > MaxNodesPerRole {
		return fmt.Errorf("--client-hosts %d is out of range: choose 0 (clients on the harness's side) to %d", o.ClientHosts, MaxNodesPerRole)
	}
	if o.ZooKeeperNodes < 0 || o.ZooKeeperNodes > MaxNodesPerRole {
		return fmt.Errorf("--zk-nodes %d is out of range: choose 1 to %d (0 only for a KRaft cluster)", o.ZooKeeperNodes, MaxNodesPerRole)
	}
	if o.KafkaNodes < 0 || o.KafkaNodes > MaxNodesPerRole {
		return fmt.Errorf("--kafka-nodes %d is out of range: choose 0 (none) to %d", o.KafkaNodes, MaxNodesPerRole)
	}
	if !versionPattern.MatchString(o.KafkaVersion) {
		return fmt.Errorf("--kafka-version %q is not a version: give one like %s", o.KafkaVersion, DefaultKafkaVersion)
	}
	switch o.KafkaMode {
	case ModeZooKeeper:
		if major := kafkaMajor(o.KafkaVersion); major < 2 || major > 3 {
			return fmt.Errorf("--kafka-version %s has no ZooKeeper mode: give --kafka-mode kraft, or a 2.x or 3.x release such as %s", o.KafkaVersion, DefaultKafkaVersion)
		}
		if o.Controllers != 0 {
			return fmt.Errorf("--controllers %d: ZooKeeper mode has no KRaft controllers (ZooKeeper keeps the metadata): drop it, or give --kafka-mode kraft", o.Controllers)
		}
		if o.KafkaNodes > 0 && o.ZooKeeperNodes == 0 {
			return fmt.Errorf("brokers in ZooKeeper mode need ZooKeeper nodes: give --zk-nodes 1 or more, or --kafka-mode kraft")
		}
	case ModeKRaft:
		if !kraftCapable(o.KafkaVersion) {
			return fmt.Errorf("--kafka-version %s has no production KRaft mode: give 3.3 or later (such as %s), or --kafka-mode zk", o.KafkaVersion, DefaultKRaftKafkaVersion)
		}
		if o.Controllers < 0 || o.Controllers > MaxNodesPerRole {
			return fmt.Errorf("--controllers %d is out of range: choose 1 to %d dedicated controllers, or 0 to make every broker a controller too", o.Controllers, MaxNodesPerRole)
		}
	default:
		return fmt.Errorf("--kafka-mode %q is not a mode: choose zk or kraft", o.KafkaMode)
	}
	if o.ZooKeeperNodes+o.KafkaNodes+o.Controllers == 0 {
		return fmt.Errorf("the cluster has no node: give --zk-nodes or --kafka-nodes")
	}
	if !versionPattern.MatchString(o.ZooKeeperVersion) {
		return fmt.Errorf("--zookeeper-version %q is not a version: give one like %s", o.ZooKeeperVersion, DefaultZooKeeperVersion)
	}
	if o.ZooKeeperHeapMB < 32 || o.ZooKeeperHeapMB > 65536 {
		return fmt.Errorf("--zk-heap %d is out of range: give 32 to 65536 MiB", o.ZooKeeperHeapMB)
	}
	if o.KafkaHeapMB < 64 || o.KafkaHeapMB > 65536 {
		return fmt.Errorf("--kafka-heap %d is out of range: give 64 to 65536 MiB", o.KafkaHeapMB)
	}
	if o.StartTimeout < time.Second {
		return fmt.Errorf("--start-timeout %s is too short: give at least 1s", o.StartTimeout)
	}
	if o.ZooKeeperTickTime < 100*time.Millisecond {
		return fmt.Errorf("ZooKeeper tick time %s is too short: give at least 100ms", o.ZooKeeperTickTime)
	}
	return nil
}

func defaultCacheDir() string {
	if d := os.Getenv("XDG_CACHE_HOME"); d != "" {
		return filepath.Join(d, "faultline")
	}
	if home, err := os.UserHomeDir(); err == nil {
		return filepath.Join(home, ".cache", "faultline")
	}
	return filepath.Join(os.TempDir(), "faultline-cache")
}
