package cluster

import (
	"fmt"
	"os"
	"path/filepath"
)

// NodeFiles are a node's folder in the run's work directory and what the
// server runs with, the same on every backend: its config, its log4j
// config, its data and the java command line (a backend that runs the
// server elsewhere makes the folder appear at the same path there).
type NodeFiles struct {
	// Dir is the node's folder: config, data, log.
	Dir     string
	DataDir string
	// ConfigFile is zoo.cfg or server.properties.
	ConfigFile string
	// LogFile is where the server's output goes: zookeeper.log or server.log.
	LogFile   string
	Log4jFile string
	// Args are java's arguments (see JVMArgs).
	Args []string
}

// WriteNodeFiles makes node s's folder under runDir: its data folder (with
// ZooKeeper's myid), its config and its log4j config, and returns them
// with the java command line that runs the server on dist.
func WriteNodeFiles(runDir string, s NodeSpec, specs []NodeSpec, o Options, dist Dist) (NodeFiles, error) {
	dir := filepath.Join(runDir, s.Name)
	f := NodeFiles{Dir: dir, DataDir: filepath.Join(dir, "data"), Log4jFile: filepath.Join(dir, "log4j.properties")}
	if err := os.MkdirAll(f.DataDir, 0o755); err != nil {
		return NodeFiles{}, fmt.Errorf("make %s: %w", f.DataDir, err)
	}
	var config string
	var heap int
	switch s.Role {
	case RoleZooKeeper:
		f.ConfigFile = filepath.Join(dir, "zoo.cfg")
		f.LogFile = filepath.Join(dir, "zookeeper.log")
		config, heap = ZooCfg(s, specs, f.DataDir, o), o.ZooKeeperHeapMB
		if err := os.WriteFile(filepath.Join(f.DataDir, "myid"), fmt.Appendf(nil, "%d\n", s.ID), 0o644); err != nil {
			return NodeFiles{}, fmt.Errorf("write myid of %s: %w", s.Name, err)
		}
	case RoleKafka, RoleController:
		f.ConfigFile = filepath.Join(dir, "server.properties")
		f.LogFile = filepath.Join(dir, "server.log")
		config, heap = KafkaProperties(s, specs, f.DataDir, o), o.KafkaHeapMB
		if s.Role == RoleController {
			heap = min(heap, 256) // the metadata log is small
		}
	default:
		return NodeFiles{}, fmt.Errorf("node %s has role %q, which runs no server", s.Name, s.Role)
	}
	if err := os.WriteFile(f.ConfigFile, []byte(config), 0o644); err != nil {
		return NodeFiles{}, fmt.Errorf("write config of %s: %w", s.Name, err)
	}
	logConfig := Log4jProperties
	if s.Role != RoleZooKeeper && Log4j2(o.KafkaVersion) {
		logConfig = Log4j2Properties
	}
	if err := os.WriteFile(f.Log4jFile, []byte(logConfig), 0o644); err != nil {
		return NodeFiles{}, fmt.Errorf("write log4j config of %s: %w", s.Name, err)
	}
	f.Args = JVMArgs(s, heap, dist.Classpath(s.Role), f.ConfigFile, f.Log4jFile)
	return f, nil
}
