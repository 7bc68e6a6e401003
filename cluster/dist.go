package cluster

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"text/template"
)

// The server versions faultline runs by default, pinned here and only here.
const (
	// DefaultKafkaVersion is the newest 3.9 release: the last line of Kafka
	// with ZooKeeper mode.
	DefaultKafkaVersion = "3.9.2"
	// DefaultKRaftKafkaVersion is the newest Kafka release: KRaft mode's
	// default.
	DefaultKRaftKafkaVersion = "4.4.0"
	// DefaultZooKeeperVersion is the ZooKeeper release Kafka 3.9 depends on.
	DefaultZooKeeperVersion = "3.8.4"
	// slf4jVersion and reload4jVersion give both servers a logging backend.
	slf4jVersion    = "1.7.36"
	slf4j2Version   = "2.0.13"
	reload4jVersion = "1.2.25"
	// scalaVersion is the Scala build of the Kafka server artifact.
	scalaVersion = "2.13"
)

// Dist is the servers' distributions on disk: the jars each kind of node
// runs from. ZooKeeper nodes run ZooKeeper's own release, whatever Kafka's
// is; brokers and controllers run Kafka's (with the ZooKeeper client Kafka
// itself depends on, in ZooKeeper mode).
type Dist struct {
	// ZooKeeper and Kafka are java -cp classpaths.
	ZooKeeper string
	Kafka     string
	// Versions of the servers.
	Versions Versions
}

// Classpath is the classpath a node of role runs with.
func (d Dist) Classpath(role Role) string {
	if role == RoleZooKeeper {
		return d.ZooKeeper
	}
	return d.Kafka
}

// completeMarker is written after a fetch finished, so a half-done fetch is redone.
const completeMarker = ".complete"

// FetchDist returns the distributions for the given versions, fetching
// each from Maven Central with Maven into cacheDir when it is not there yet.
func FetchDist(ctx context.Context, cacheDir string, v Versions) (Dist, error) {
	zk, err := fetchJars(ctx, filepath.Join(cacheDir, "dist", "zookeeper-"+v.ZooKeeper), "ZooKeeper "+v.ZooKeeper, zooKeeperPOM, v)
	if err != nil {
		return Dist{}, err
	}
	kafka, err := fetchJars(ctx, filepath.Join(cacheDir, "dist", "kafka-"+v.Kafka), "Kafka "+v.Kafka, kafkaPOM, v)
	if err != nil {
		return Dist{}, err
	}
	return Dist{ZooKeeper: zk, Kafka: kafka, Versions: v}, nil
}

// fetchJars returns the classpath of the jars in dir/lib, fetching them
// with the pom first when dir is not complete.
func fetchJars(ctx context.Context, dir, what string, pom *template.Template, v Versions) (string, error) {
	lib := filepath.Join(dir, "lib")
	if _, err := os.Stat(filepath.Join(dir, completeMarker)); err != nil {
		if err := fetchWithMaven(ctx, dir, what, pom, v); err != nil {
			return "", err
		}
	}
	jars, err := filepath.Glob(filepath.Join(lib, "*.jar"))
	if err != nil || len(jars) == 0 {
		return "", fmt.Errorf("%s in %s has no jars: remove %s and run again to fetch it anew", what, lib, dir)
	}
	sort.Strings(jars)
	return strings.Join(jars, string(os.PathListSeparator)), nil
}

// zooKeeperPOM fetches a ZooKeeper release with a log4j 1 (reload4j)
// backend instead of logback.
var zooKeeperPOM = template.Must(template.New("zookeeper").Parse(`<project xmlns="http://maven.apache.org/POM/4.0.0">
  <modelVersion>4.0.0</modelVersion>
  <groupId>dev.faultline</groupId>
  <artifactId>zookeeper-server</artifactId>
  <version>1</version>
  <packaging>pom</packaging>
  <dependencies>
    <dependency>
      <groupId>org.apache.zookeeper</groupId>
      <artifactId>zookeeper</artifactId>
      <version>{{.ZooKeeper}}</version>
      <exclusions>
        <exclusion><groupId>ch.qos.logback</groupId><artifactId>*</artifactId></exclusion>
        <exclusion><groupId>log4j</groupId><artifactId>log4j</artifactId></exclusion>
        <exclusion><groupId>org.slf4j</groupId><artifactId>slf4j-log4j12</artifactId></exclusion>
      </exclusions>
    </dependency>
    <!-- What ZooKeeper's pom leaves to its distribution (scope provided)
         and the server or zkCli needs: metrics, snapshot compression, the
         command line's parser. -->
    <dependency>
      <groupId>io.dropwizard.metrics</groupId>
      <artifactId>metrics-core</artifactId>
      <version>{{.Metrics}}</version>
    </dependency>
    <dependency>
      <groupId>org.xerial.snappy</groupId>
      <artifactId>snappy-java</artifactId>
      <version>{{.Snappy}}</version>
    </dependency>
    <dependency>
      <groupId>commons-cli</groupId>
      <artifactId>commons-cli</artifactId>
      <version>{{.CommonsCLI}}</version>
    </dependency>
    <dependency>
      <groupId>org.slf4j</groupId>
      <artifactId>slf4j-reload4j</artifactId>
      <version>{{.ZooKeeperSLF4J}}</version>
    </dependency>
    <dependency>
      <groupId>ch.qos.reload4j</groupId>
      <artifactId>reload4j</artifactId>
      <version>{{.Reload4j}}</version>
    </dependency>
  </dependencies>
</project>
`))

// zooKeeperSLF4J is the slf4j binding for a ZooKeeper release's slf4j API:
// 2.x from ZooKeeper 3.9, 1.7 before.
func zooKeeperSLF4J(v string) string {
	parts := strings.SplitN(v, ".", 3)
	if len(parts) >= 2 {
		major, _ := strconv.Atoi(parts[0])
		minor, _ := strconv.Atoi(parts[1])
		if major > 3 || (major == 3 && minor >= 9) {
			return slf4j2Version
		}
	}
	return slf4jVersion
}

// The releases ZooKeeper's distributions ship with, of what its pom leaves
// to them.
const (
	metricsVersion    = "4.1.12.1"
	snappyVersion     = "1.1.10.5"
	commonsCLIVersion = "1.5.0"
)

// kafkaPOM fetches a Kafka release and its tools, with the logging backend
// its version expects: reload4j (log4j 1) before 4.0, log4j 2 from 4.0.
var kafkaPOM = template.Must(template.New("kafka").Parse(`<project xmlns="http://maven.apache.org/POM/4.0.0">
  <modelVersion>4.0.0</modelVersion>
  <groupId>dev.faultline</groupId>
  <artifactId>kafka-server</artifactId>
  <version>1</version>
  <packaging>pom</packaging>
  <dependencies>
    <dependency>
      <groupId>org.apache.kafka</groupId>
      <artifactId>kafka_{{.Scala}}</artifactId>
      <version>{{.Kafka}}</version>
      <exclusions>
        <exclusion><groupId>ch.qos.logback</groupId><artifactId>*</artifactId></exclusion>
        <exclusion><groupId>org.slf4j</groupId><artifactId>slf4j-log4j12</artifactId></exclusion>
      </exclusions>
    </dependency>
    <dependency>
      <groupId>org.apache.kafka</groupId>
      <artifactId>kafka-tools</artifactId>
      <version>{{.Kafka}}</version>
    </dependency>
{{- if .Log4j2}}
    <dependency>
      <groupId>org.apache.logging.log4j</groupId>
      <artifactId>log4j-slf4j-impl</artifactId>
      <version>{{.Log4j2Version}}</version>
    </dependency>
{{- else}}
    <dependency>
      <groupId>org.slf4j</groupId>
      <artifactId>slf4j-reload4j</artifactId>
      <version>{{.SLF4J}}</version>
    </dependency>
    <dependency>
      <groupId>ch.qos.reload4j</groupId>
      <artifactId>reload4j</artifactId>
      <version>{{.Reload4j}}</version>
    </dependency>
{{- end}}
  </dependencies>
</project>
`))

// log4j2Version is the log4j-slf4j-impl release that binds Kafka 4's slf4j
// logging to the log4j 2 it brings.
const log4j2Version = "2.25.5"

// renderPOM writes the Maven project whose dependencies are a server.
func renderPOM(pom *template.Template, v Versions) (string, error) {
	var b bytes.Buffer
	err := pom.Execute(&b, map[string]any{
		"Kafka": v.Kafka, "ZooKeeper": v.ZooKeeper, "Scala": scalaVersion,
		"SLF4J": slf4jVersion, "Reload4j": reload4jVersion,
		"Log4j2": Log4j2(v.Kafka), "Log4j2Version": log4j2Version, "Metrics": metricsVersion,
		"ZooKeeperSLF4J": zooKeeperSLF4J(v.ZooKeeper), "Snappy": snappyVersion, "CommonsCLI": commonsCLIVersion,
	})
	return b.String(), err
}

func fetchWithMaven(ctx context.Context, dir, what string, pomT *template.Template, v Versions) error {
	mvn, err := exec.LookPath("mvn")
	if err != nil {
		return fmt.Errorf("%s is not in %s and Maven (mvn) is not installed to fetch it: install maven (apt-get install maven)", what, dir)
	}
	pom, err := renderPOM(pomT, v)
	if err != nil {
		return fmt.Errorf("render pom: %w", err)
	}
	if err := os.RemoveAll(dir); err != nil {
		return fmt.Errorf("clear %s: %w", dir, err)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("make %s: %w", dir, err)
	}
	if err := os.WriteFile(filepath.Join(dir, "pom.xml"), []byte(pom), 0o644); err != nil {
		return fmt.Errorf("write pom: %w", err)
	}
	var out bytes.Buffer
	cmd := exec.CommandContext(ctx, mvn, "-B", "-q", "-f", filepath.Join(dir, "pom.xml"),
		"dependency:copy-dependencies", "-DincludeScope=runtime", "-DoutputDirectory="+filepath.Join(dir, "lib"))
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		if errors.Is(ctx.Err(), context.DeadlineExceeded) || errors.Is(ctx.Err(), context.Canceled) {
			return fmt.Errorf("fetch %s: %w", what, ctx.Err())
		}
		return fmt.Errorf("fetch %s from Maven Central failed (%v): check the version exists and Maven Central is reachable; Maven said: %s",
			what, err, lastLines(out.String(), 3))
	}
	return os.WriteFile(filepath.Join(dir, completeMarker), nil, 0o644)
}

// lastLines returns the last n non-empty lines of s, joined by " | ".
func lastLines(s string, n int) string {
	var lines []string
	for _, l := range strings.Split(s, "\n") {
		if l = strings.TrimSpace(l); l != "" {
			lines = append(lines, l)
		}
	}
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, " | ")
}
