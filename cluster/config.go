package cluster

import (
	"fmt"
	"maps"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Ports the servers listen on, on their own addresses.
const (
	zkClientPort   = 2181
	zkQuorumPort   = 2888
	zkElectionPort = 3888
	kafkaPort      = 9092
)

// NodeSpec is everything that identifies a node before it runs: the plan
// every backend follows, so a node has the same name, id and address on
// every backend.
type NodeSpec struct {
	Name string     `json:"name"`
	Role Role       `json:"role"`
	ID   int        `json:"id"`
	Addr netip.Addr `json:"addr"`
}

// ClientAddr is where clients connect (host:port).
func (s NodeSpec) ClientAddr() string {
	port := zkClientPort
	if s.Role == RoleKafka {
		port = kafkaPort
	}
	return netip.AddrPortFrom(s.Addr, uint16(port)).String()
}

// The run's private network: one /24 that exists only inside the run's
// namespaces. The harness's side of the bridge is .1; ZooKeeper node i is
// .10+i and broker i is .20+i.
var (
	// RunPrefix is the run's network.
	RunPrefix = netip.MustParsePrefix("10.213.0.0/24")
	// HarnessAddr is where the harness and its clients connect from; no
	// fault ever drops it.
	HarnessAddr = netip.MustParseAddr("10.213.0.1")
)

// planNodes names and addresses the nodes: zk1..zkN, kafka1..kafkaM.
func planNodes(zk, kafka int) []NodeSpec {
	base := RunPrefix.Addr().As4()
	at := func(host int) netip.Addr {
		a := base
		a[3] = byte(host)
		return netip.AddrFrom4(a)
	}
	var specs []NodeSpec
	for i := 1; i <= zk; i++ {
		specs = append(specs, NodeSpec{Name: fmt.Sprintf("zk%d", i), Role: RoleZooKeeper, ID: i, Addr: at(10 + i)})
	}
	for i := 1; i <= kafka; i++ {
		specs = append(specs, NodeSpec{Name: fmt.Sprintf("kafka%d", i), Role: RoleKafka, ID: i, Addr: at(20 + i)})
	}
	return specs
}

// zkConnectString lists the ensemble's client addresses.
func zkConnectString(specs []NodeSpec) string {
	var addrs []string
	for _, s := range specs {
		if s.Role == RoleZooKeeper {
			addrs = append(addrs, s.ClientAddr())
		}
	}
	return strings.Join(addrs, ",")
}

// renderProperties writes key=value lines in a stable order.
func renderProperties(header string, props map[string]string) string {
	var b strings.Builder
	b.WriteString("# " + header + "\n")
	for _, k := range slices.Sorted(maps.Keys(props)) {
		fmt.Fprintf(&b, "%s=%s\n", k, props[k])
	}
	return b.String()
}

// ZooCfg renders zoo.cfg for one ZooKeeper node of the ensemble.
func ZooCfg(self NodeSpec, specs []NodeSpec, dataDir string, o Options) string {
	props := map[string]string{
		"tickTime":                  strconv.FormatInt(o.ZooKeeperTickTime.Milliseconds(), 10),
		"initLimit":                 "10",
		"syncLimit":                 "5",
		"dataDir":                   dataDir,
		"clientPort":                strconv.Itoa(zkClientPort),
		"clientPortAddress":         self.Addr.String(),
		"maxClientCnxns":            "0",
		"4lw.commands.whitelist":    "srvr,stat,ruok,mntr,conf,cons",
		"admin.enableServer":        "false",
		"autopurge.snapRetainCount": "3",
		"autopurge.purgeInterval":   "1",
	}
	for _, s := range specs {
		if s.Role == RoleZooKeeper {
			props["server."+strconv.Itoa(s.ID)] = fmt.Sprintf("%s:%d:%d", s.Addr, zkQuorumPort, zkElectionPort)
		}
	}
	maps.Copy(props, o.ZooKeeperConfig)
	return renderProperties("zoo.cfg for "+self.Name+", written by faultline", props)
}

// KafkaProperties renders server.properties for one broker. Replication
// defaults follow the cluster size: factor 3 and min ISR 2 on three or more
// brokers, less on smaller clusters so that topics can be made at all.
func KafkaProperties(self NodeSpec, specs []NodeSpec, logDir string, o Options) string {
	brokers := 0
	for _, s := range specs {
		if s.Role == RoleKafka {
			brokers++
		}
	}
	rf := strconv.Itoa(min(3, brokers))
	minISR := strconv.Itoa(min(2, brokers))
	props := map[string]string{
		"broker.id":                                strconv.Itoa(self.ID),
		"listeners":                                "PLAINTEXT://" + self.ClientAddr(),
		"advertised.listeners":                     "PLAINTEXT://" + self.ClientAddr(),
		"log.dirs":                                 logDir,
		"zookeeper.connect":                        zkConnectString(specs),
		"zookeeper.session.timeout.ms":             strconv.FormatInt(o.KafkaZooKeeperSessionTimeout.Milliseconds(), 10),
		"zookeeper.connection.timeout.ms":          strconv.FormatInt((30 * time.Second).Milliseconds(), 10),
		"default.replication.factor":               rf,
		"min.insync.replicas":                      minISR,
		"offsets.topic.replication.factor":         rf,
		"transaction.state.log.replication.factor": rf,
		"transaction.state.log.min.isr":            minISR,
		"unclean.leader.election.enable":           "false",
		"auto.create.topics.enable":                "false",
		"num.partitions":                           "1",
		"offsets.topic.num.partitions":             "10",
		"group.initial.rebalance.delay.ms":         "0",
		"num.network.threads":                      "2",
		"num.io.threads":                           "4",
		"num.recovery.threads.per.data.dir":        "1",
		"background.threads":                       "4",
		"log.cleaner.threads":                      "1",
		"log.cleaner.dedupe.buffer.size":           strconv.Itoa(2 << 20),
		"delete.topic.enable":                      "true",
	}
	maps.Copy(props, o.KafkaConfig)
	return renderProperties("server.properties for "+self.Name+", written by faultline", props)
}

// Log4jProperties sends every logger to standard output, which the harness
// writes to the node's log file: one file per node holds all it said.
const Log4jProperties = `# written by faultline
log4j.rootLogger=INFO, stdout
log4j.appender.stdout=org.apache.log4j.ConsoleAppender
log4j.appender.stdout.layout=org.apache.log4j.PatternLayout
log4j.appender.stdout.layout.ConversionPattern=[%d] %p %m (%c)%n
log4j.logger.org.apache.zookeeper=INFO
log4j.logger.kafka=INFO
log4j.logger.org.apache.kafka=INFO
log4j.logger.kafka.request.logger=WARN
log4j.logger.kafka.log.LogCleaner=WARN
log4j.logger.state.change.logger=INFO
`

// JVMArgs is the java command line of a node: small heaps and few threads,
// because six JVMs share two cores.
func JVMArgs(spec NodeSpec, heapMB int, classpath, configFile, log4jFile string) []string {
	heap := fmt.Sprintf("%dm", heapMB)
	args := []string{
		"-Xms" + heap, "-Xmx" + heap,
		"-XX:+UseSerialGC",
		"-XX:TieredStopAtLevel=1",
		"-XX:-UsePerfData",
		"-Xss512k",
		"-Djava.awt.headless=true",
		"-Djava.net.preferIPv4Stack=true",
		"-Dlog4j.configuration=file:" + log4jFile,
		"-cp", classpath,
	}
	switch spec.Role {
	case RoleZooKeeper:
		args = append(args, "-Dzookeeper.admin.enableServer=false", "org.apache.zookeeper.server.quorum.QuorumPeerMain", configFile)
	case RoleKafka:
		args = append(args, "kafka.Kafka", configFile)
	}
	return args
}

// PlanNodes lists the nodes a cluster with options o will have, before it
// exists: the same on every backend.
func PlanNodes(o Options) []NodeSpec {
	o = o.Defaults()
	return planNodes(o.ZooKeeperNodes, o.KafkaNodes)
}
