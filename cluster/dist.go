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
	"strings"
	"text/template"
)

// The server versions faultline runs by default, pinned here and only here.
const (
	// DefaultKafkaVersion is the newest 3.9 release: the last line of Kafka
	// with ZooKeeper mode.
	DefaultKafkaVersion = "3.9.2"
	// DefaultZooKeeperVersion is the ZooKeeper release Kafka 3.9 depends on.
	DefaultZooKeeperVersion = "3.8.4"
	// slf4jVersion and reload4jVersion give both servers a logging backend.
	slf4jVersion    = "1.7.36"
	reload4jVersion = "1.2.25"
	// scalaVersion is the Scala build of the Kafka server artifact.
	scalaVersion = "2.13"
)

// Dist is a server distribution on disk: the jars both servers run from.
type Dist struct {
	// Dir holds the jars.
	Dir string
	// Classpath lists every jar, joined for java -cp.
	Classpath string
	// Versions of the servers in Dir.
	Versions Versions
}

// completeMarker is written after a fetch finished, so a half-done fetch is redone.
const completeMarker = ".complete"

// FetchDist returns the distribution for the given versions, fetching it from
// Maven Central with Maven into cacheDir when it is not there yet.
func FetchDist(ctx context.Context, cacheDir string, v Versions) (Dist, error) {
	dir := filepath.Join(cacheDir, "dist", fmt.Sprintf("kafka-%s-zookeeper-%s", v.Kafka, v.ZooKeeper))
	lib := filepath.Join(dir, "lib")
	if _, err := os.Stat(filepath.Join(dir, completeMarker)); err != nil {
		if err := fetchWithMaven(ctx, dir, v); err != nil {
			return Dist{}, err
		}
	}
	jars, err := filepath.Glob(filepath.Join(lib, "*.jar"))
	if err != nil || len(jars) == 0 {
		return Dist{}, fmt.Errorf("server distribution in %s has no jars: remove %s and run again to fetch it anew", lib, dir)
	}
	sort.Strings(jars)
	return Dist{Dir: lib, Classpath: strings.Join(jars, string(os.PathListSeparator)), Versions: v}, nil
}

var pomTemplate = template.Must(template.New("pom").Parse(`<project xmlns="http://maven.apache.org/POM/4.0.0">
  <modelVersion>4.0.0</modelVersion>
  <groupId>dev.faultline</groupId>
  <artifactId>servers</artifactId>
  <version>1</version>
  <packaging>pom</packaging>
  <dependencyManagement>
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
    </dependencies>
  </dependencyManagement>
  <dependencies>
    <dependency>
      <groupId>org.apache.kafka</groupId>
      <artifactId>kafka_{{.Scala}}</artifactId>
      <version>{{.Kafka}}</version>
    </dependency>
    <dependency>
      <groupId>org.apache.kafka</groupId>
      <artifactId>kafka-tools</artifactId>
      <version>{{.Kafka}}</version>
    </dependency>
    <dependency>
      <groupId>org.apache.zookeeper</groupId>
      <artifactId>zookeeper</artifactId>
    </dependency>
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
  </dependencies>
</project>
`))

// renderPOM writes the Maven project whose dependencies are the servers.
func renderPOM(v Versions) (string, error) {
	var b bytes.Buffer
	err := pomTemplate.Execute(&b, map[string]string{
		"Kafka": v.Kafka, "ZooKeeper": v.ZooKeeper, "Scala": scalaVersion,
		"SLF4J": slf4jVersion, "Reload4j": reload4jVersion,
	})
	return b.String(), err
}

func fetchWithMaven(ctx context.Context, dir string, v Versions) error {
	mvn, err := exec.LookPath("mvn")
	if err != nil {
		return fmt.Errorf("Kafka %s is not in %s and Maven (mvn) is not installed to fetch it: install maven (apt-get install maven)", v.Kafka, dir)
	}
	pom, err := renderPOM(v)
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
			return fmt.Errorf("fetch Kafka %s and ZooKeeper %s: %w", v.Kafka, v.ZooKeeper, ctx.Err())
		}
		return fmt.Errorf("fetch Kafka %s and ZooKeeper %s from Maven Central failed (%v): check the versions exist and Maven Central is reachable; Maven said: %s",
			v.Kafka, v.ZooKeeper, err, lastLines(out.String(), 3))
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
