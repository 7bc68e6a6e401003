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
	controllerPort = 9093 // KRaft controllers' listener
)

// controllerIDBase is added to a dedicated KRaft controller's number to make
// its node.id, so that it never clashes with a broker's.
const controllerIDBase = 100

// NodeSpec is everything that identifies a node before it runs: the plan
// every backend follows, so a node has the same name, id and address on
// every backend.
type NodeSpec struct {
	Name string     `json:"name"`
	Role Role       `json:"role"`
	ID   int        `json:"id"`
	Addr netip.Addr `json:"addr"`
	// Controller says that a broker is a KRaft controller too (combined
	// mode).
	Controller bool `json:"controller,omitempty"`
}

// ClientAddr is where clients connect (host:port): a ZooKeeper node's
// client port, a broker's listener, a dedicated controller's listener.
func (s NodeSpec) ClientAddr() string {
	port := zkClientPort
	switch s.Role {
	case RoleKafka:
		port = kafkaPort
	case RoleController:
		port = controllerPort
	}
	return netip.AddrPortFrom(s.Addr, uint16(port)).String()
}

// ControllerAddr is where a KRaft controller (dedicated, or a combined
// broker) listens to the quorum.
func (s NodeSpec) ControllerAddr() string {
	return netip.AddrPortFrom(s.Addr, controllerPort).String()
}

// KafkaNodeID is a broker's or controller's node.id (broker.id).
func (s NodeSpec) KafkaNodeID() int {
	if s.Role == RoleController {
		return controllerIDBase + s.ID
	}
	return s.ID
}

// IsController says whether the node is a KRaft controller.
func (s NodeSpec) IsController() bool { return s.Role == RoleController || s.Controller }

// The run's private network: one /24 that exists only inside the run's
// namespaces. The harness's side of the bridge is .1; ZooKeeper node i is
// .10+i, broker i .20+i, KRaft controller i .30+i and client host i .40+i.
var (
	// RunPrefix is the run's network.
	RunPrefix = netip.MustParsePrefix("10.213.0.0/24")
	// HarnessAddr is where the harness and its clients connect from; no
	// fault ever drops it.
	HarnessAddr = netip.MustParseAddr("10.213.0.1")
)

// HostAddr is the address with last octet host on a run's /24 network:
// the harness's side is 1, ZooKeeper node i 10+i, broker i 20+i, KRaft
// controller i 30+i, client host i 40+i, on every backend.
func HostAddr(network netip.Prefix, host int) netip.Addr {
	a := network.Masked().Addr().As4()
	a[3] = byte(host)
	return netip.AddrFrom4(a)
}

// HarnessAddrOn is the harness's address on a run's network: .1.
func HarnessAddrOn(network netip.Prefix) netip.Addr { return HostAddr(network, 1) }

// planNodes names and addresses the nodes on network: zk1..zkN,
// kafka1..kafkaM, ctrl1..ctrlC; with combined set, the brokers are
// controllers too.
func planNodes(network netip.Prefix, zk, kafka, controllers int, combined bool) []NodeSpec {
	at := func(host int) netip.Addr { return HostAddr(network, host) }
	var specs []NodeSpec
	for i := 1; i <= zk; i++ {
		specs = append(specs, NodeSpec{Name: fmt.Sprintf("zk%d", i), Role: RoleZooKeeper, ID: i, Addr: at(10 + i)})
	}
	for i := 1; i <= kafka; i++ {
		specs = append(specs, NodeSpec{Name: fmt.Sprintf("kafka%d", i), Role: RoleKafka, ID: i, Addr: at(20 + i), Controller: combined})
	}
	for i := 1; i <= controllers; i++ {
		specs = append(specs, NodeSpec{Name: fmt.Sprintf("ctrl%d", i), Role: RoleController, ID: i, Addr: at(30 + i)})
	}
	return specs
}

// HostSpec is a client host as planned: its name and address.
type HostSpec struct {
	Name string
	Addr netip.Addr
}

// PlanClientHosts names and addresses the client hosts of o: c1..cN at
// .40+i on the run's network.
func PlanClientHosts(o Options) []HostSpec { return PlanClientHostsOn(o, RunPrefix) }

// PlanClientHostsOn is PlanClientHosts on another /24 network (a backend
// whose runs share one network space gives each its own).
func PlanClientHostsOn(o Options, network netip.Prefix) []HostSpec {
	var hosts []HostSpec
	for i := 1; i <= o.ClientHosts; i++ {
		hosts = append(hosts, HostSpec{Name: fmt.Sprintf("c%d", i), Addr: HostAddr(network, 40+i)})
	}
	return hosts
}

// quorumVoters is controller.quorum.voters: id@host:port of every
// controller.
func quorumVoters(specs []NodeSpec) string {
	var voters []string
	for _, s := range specs {
		if s.IsController() {
			voters = append(voters, fmt.Sprintf("%d@%s", s.KafkaNodeID(), s.ControllerAddr()))
		}
	}
	return strings.Join(voters, ",")
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
//
// In KRaft mode it is the same file for a broker, a dedicated controller
// (process.roles=controller: only the quorum's settings) or a combined
// node, with the quorum's voters listed statically.
func KafkaProperties(self NodeSpec, specs []NodeSpec, logDir string, o Options) string {
	brokers := 0
	for _, s := range specs {
		if s.Role == RoleKafka {
			brokers++
		}
	}
	if o.KRaft() && self.Role == RoleController {
		props := map[string]string{
			"process.roles":                         "controller",
			"node.id":                               strconv.Itoa(self.KafkaNodeID()),
			"controller.quorum.voters":              quorumVoters(specs),
			"listeners":                             "CONTROLLER://" + self.ControllerAddr(),
			"controller.listener.names":             "CONTROLLER",
			"listener.security.protocol.map":        "CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT",
			"log.dirs":                              logDir,
			"num.io.threads":                        "2",
			"num.network.threads":                   "2",
			"background.threads":                    "2",
			"controller.quorum.election.timeout.ms": "2000",
			"controller.quorum.fetch.timeout.ms":    "4000",
			"broker.session.timeout.ms":             "6000",
			"broker.heartbeat.interval.ms":          "1000",
		}
		maps.Copy(props, o.KafkaConfig)
		return renderProperties("server.properties for controller "+self.Name+", written by faultline", props)
	}
	rf := strconv.Itoa(min(3, brokers))
	minISR := strconv.Itoa(min(2, brokers))
	props := map[string]string{
		"listeners":                                "PLAINTEXT://" + self.ClientAddr(),
		"advertised.listeners":                     "PLAINTEXT://" + self.ClientAddr(),
		"log.dirs":                                 logDir,
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
	if o.KRaft() {
		props["node.id"] = strconv.Itoa(self.KafkaNodeID())
		props["process.roles"] = "broker"
		props["listeners"] = "PLAINTEXT://" + self.ClientAddr()
		if self.Controller {
			props["process.roles"] = "broker,controller"
			props["listeners"] = "PLAINTEXT://" + self.ClientAddr() + ",CONTROLLER://" + self.ControllerAddr()
		}
		props["controller.quorum.voters"] = quorumVoters(specs)
		props["controller.listener.names"] = "CONTROLLER"
		props["inter.broker.listener.name"] = "PLAINTEXT"
		props["listener.security.protocol.map"] = "CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT"
		// A broker that stops heartbeating is fenced in seconds, as a
		// ZooKeeper-mode controller is replaced.
		props["broker.session.timeout.ms"] = "6000"
		props["broker.heartbeat.interval.ms"] = "1000"
		props["controller.quorum.election.timeout.ms"] = "2000"
		props["controller.quorum.fetch.timeout.ms"] = "4000"
	} else {
		props["broker.id"] = strconv.Itoa(self.ID)
		props["zookeeper.connect"] = zkConnectString(specs)
		props["zookeeper.session.timeout.ms"] = strconv.FormatInt(o.KafkaZooKeeperSessionTimeout.Milliseconds(), 10)
		props["zookeeper.connection.timeout.ms"] = strconv.FormatInt((30 * time.Second).Milliseconds(), 10)
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

// Log4j2Properties is Log4jProperties for Kafka 4, which logs with log4j 2.
const Log4j2Properties = `# written by faultline
status = warn
appender.stdout.type = Console
appender.stdout.name = STDOUT
appender.stdout.layout.type = PatternLayout
appender.stdout.layout.pattern = [%d] %p %m (%c)%n
rootLogger.level = info
rootLogger.appenderRef.stdout.ref = STDOUT
logger.request.name = kafka.request.logger
logger.request.level = warn
logger.cleaner.name = kafka.log.LogCleaner
logger.cleaner.level = warn
`

// Log4j2 says whether a Kafka version logs with log4j 2 (4.0 and later).
func Log4j2(kafkaVersion string) bool { return kafkaMajor(kafkaVersion) >= 4 }

// JVMArgs is the java command line of a node: small heaps and few threads,
// because six JVMs share two cores. log4jFile is a log4j 1 properties file,
// or a log4j 2 one for Kafka 4 (see Log4j2).
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
		"-Dlog4j2.configurationFile=" + log4jFile,
		"-cp", classpath,
	}
	switch spec.Role {
	case RoleZooKeeper:
		args = append(args, "-Dzookeeper.admin.enableServer=false", "org.apache.zookeeper.server.quorum.QuorumPeerMain", configFile)
	case RoleKafka, RoleController:
		args = append(args, "kafka.Kafka", configFile)
	}
	return args
}

// StorageFormatArgs is the java command line that formats a KRaft node's
// storage for the run's cluster id (kafka-storage format).
func StorageFormatArgs(classpath, configFile, log4jFile, clusterID string) []string {
	return []string{"-Xmx128m", "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1", "-XX:-UsePerfData",
		"-Dlog4j.configuration=file:" + log4jFile, "-Dlog4j2.configurationFile=" + log4jFile,
		"-cp", classpath, "kafka.tools.StorageTool", "format", "-t", clusterID, "-c", configFile, "--ignore-formatted"}
}

// PlanNodes lists the nodes a cluster with options o will have, before it
// exists: the same names, ids and last octets on every backend.
func PlanNodes(o Options) []NodeSpec { return PlanNodesOn(o, RunPrefix) }

// PlanNodesOn is PlanNodes on another /24 network (a backend whose runs
// share one network space gives each its own).
func PlanNodesOn(o Options, network netip.Prefix) []NodeSpec {
	o = o.Defaults()
	controllers := 0
	if o.KRaft() && o.KafkaNodes > 0 {
		controllers = o.Controllers
	}
	return planNodes(network, o.ZooKeeperNodes, o.KafkaNodes, controllers, o.KRaft() && o.Controllers == 0)
}
