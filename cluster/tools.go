package cluster

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// The command-line tools a run provides in <dir>/bin, for `cluster exec`:
// each runs a class of the servers' distribution. Without arguments naming
// a server they talk to the node the command runs on.
var tools = map[string]string{
	"zkCli":                  "org.apache.zookeeper.ZooKeeperMain",
	"kafka-topics":           "org.apache.kafka.tools.TopicCommand",
	"kafka-console-producer": "kafka.tools.ConsoleProducer",
	"kafka-console-consumer": "org.apache.kafka.tools.consumer.ConsoleConsumer",
	"kafka-metadata-quorum":  "org.apache.kafka.tools.MetadataQuorumCommand",
}

// toolClass is a tool's class in a Kafka version: the console producer
// moved to the tools module in 4.0.
func toolClass(name, kafkaVersion string) string {
	if name == "kafka-console-producer" && Log4j2(kafkaVersion) {
		return "org.apache.kafka.tools.ConsoleProducer"
	}
	return tools[name]
}

// toolScript is a tool's shell wrapper. zkCli gets -server and the Kafka
// tools --bootstrap-server when the caller gives none.
func toolScript(name, class, java, classpath string) string {
	var b strings.Builder
	b.WriteString("#!/bin/sh\n# written by faultline: runs " + class + "\n")
	switch name {
	case "zkCli":
		b.WriteString(`case " $* " in *" -server "*) ;; *) set -- -server "${FAULTLINE_ZK_CONNECT}" "$@" ;; esac` + "\n")
	default:
		b.WriteString(`case " $* " in *" --bootstrap-server "*) ;; *) set -- --bootstrap-server "${FAULTLINE_BOOTSTRAP}" "$@" ;; esac` + "\n")
	}
	fmt.Fprintf(&b, "exec %q -Xmx256m -XX:TieredStopAtLevel=1 -Dlog4j.configuration=file:\"$(dirname \"$0\")/log4j.properties\" -Dlog4j2.configurationFile=\"$(dirname \"$0\")/log4j2.properties\" -cp %q %s \"$@\"\n",
		java, classpath, class)
	return b.String()
}

// WriteTools writes the tools' scripts into dir, for `cluster exec`: zkCli runs ZooKeeper's
// jars, the others Kafka's.
func WriteTools(dir, java string, dist Dist, kafkaVersion string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("make %s: %w", dir, err)
	}
	if err := os.WriteFile(filepath.Join(dir, "log4j.properties"), []byte(toolsLog4j), 0o644); err != nil {
		return fmt.Errorf("write tools' log4j config: %w", err)
	}
	if err := os.WriteFile(filepath.Join(dir, "log4j2.properties"), []byte(toolsLog4j2), 0o644); err != nil {
		return fmt.Errorf("write tools' log4j 2 config: %w", err)
	}
	for name := range tools {
		classpath := dist.Kafka
		if name == "zkCli" {
			classpath = dist.ZooKeeper
		}
		if err := os.WriteFile(filepath.Join(dir, name), []byte(toolScript(name, toolClass(name, kafkaVersion), java, classpath)), 0o755); err != nil {
			return fmt.Errorf("write tool %s: %w", name, err)
		}
	}
	return nil
}

// toolsLog4j2 is toolsLog4j for Kafka 4's tools, which log with log4j 2.
const toolsLog4j2 = `# written by faultline
status = error
appender.stderr.type = Console
appender.stderr.name = STDERR
appender.stderr.target = SYSTEM_ERR
appender.stderr.layout.type = PatternLayout
appender.stderr.layout.pattern = %p %m (%c)%n
rootLogger.level = warn
rootLogger.appenderRef.stderr.ref = STDERR
`

// toolsLog4j keeps the tools quiet but for warnings, on standard error.
const toolsLog4j = `# written by faultline
log4j.rootLogger=WARN, stderr
log4j.appender.stderr=org.apache.log4j.ConsoleAppender
log4j.appender.stderr.Target=System.err
log4j.appender.stderr.layout=org.apache.log4j.PatternLayout
log4j.appender.stderr.layout.ConversionPattern=%p %m (%c)%n
`

// ExecEnv is the environment `cluster exec` gives a command on node self
// of run runID, besides the PATH that finds the run's tools: the run, the
// node and its addresses (FAULTLINE_RUN, FAULTLINE_NODE,
// FAULTLINE_NODE_ADDR, FAULTLINE_CLIENT_ADDR), the ensemble and brokers
// of nodes (FAULTLINE_ZK_CONNECT, FAULTLINE_BOOTSTRAP; on a node that
// serves one, that node alone, so the shell talks to the node it runs
// on), and the classpath of self's server (FAULTLINE_CLASSPATH).
func ExecEnv(runID string, self NodeSpec, nodes []NodeSpec, classpath string) []string {
	var zks, brokers []string
	for _, n := range nodes {
		switch n.Role {
		case RoleZooKeeper:
			zks = append(zks, n.ClientAddr())
		case RoleKafka:
			brokers = append(brokers, n.ClientAddr())
		}
	}
	zkConnect, bootstrap := strings.Join(zks, ","), strings.Join(brokers, ",")
	switch self.Role {
	case RoleZooKeeper:
		zkConnect = self.ClientAddr()
	case RoleKafka:
		bootstrap = self.ClientAddr()
	}
	return []string{
		"FAULTLINE_RUN=" + runID,
		"FAULTLINE_NODE=" + self.Name,
		"FAULTLINE_NODE_ADDR=" + self.Addr.String(),
		"FAULTLINE_CLIENT_ADDR=" + self.ClientAddr(),
		"FAULTLINE_ZK_CONNECT=" + zkConnect,
		"FAULTLINE_BOOTSTRAP=" + bootstrap,
		"FAULTLINE_CLASSPATH=" + classpath,
	}
}
