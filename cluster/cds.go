package cluster

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// A server JVM spends most of its start loading, parsing and verifying
// classes from jars: a Kafka controller about 2.9 s of CPU, of which class
// data sharing (CDS) saves half. ClassArchives keeps a CDS archive per kind
// of JVM (a ZooKeeper node, a KRaft controller, a broker, kafka-storage
// format; per distribution and java) in the cache folder. The first JVM of
// a kind with no archive makes it as it exits (-XX:ArchiveClassesAtExit,
// Java 13 and later); the archive is kept only when that JVM exited on its
// own or on SIGTERM and a java -Xshare:on maps it. Every later JVM of the
// kind starts with it (-XX:SharedArchiveFile). An archive the JVM cannot
// use (another java, a jar changed) costs only the time it would have
// saved: the JVM says so in its log and loads the classes from the jars.
//
// A nil *ClassArchives gives no flags: JVMs start as they would without.
type ClassArchives struct {
	dir  string // <cache dir>/cds
	java string
	// validate checks a made archive; nil runs java -Xshare:on (tests
	// replace it).
	validate func(archive string, args []string) error
}

// making holds the archives some JVM of this harness is making, whichever
// cluster started it (two clusters in one process share the cache).
var making = struct {
	sync.Mutex
	paths map[string]bool
}{paths: map[string]bool{}}

// NewClassArchives keeps archives under cacheDir/cds for JVMs that java
// runs.
func NewClassArchives(cacheDir, java string) *ClassArchives {
	return &ClassArchives{dir: filepath.Join(cacheDir, "cds"), java: java}
}

// ClassArchivesFor is the archives a cluster with options o uses: nil when
// o.NoCDS turns them off, or when java cannot make them (older than Java
// 13, or a java whose release file does not say: an option the JVM does
// not know would stop it from starting at all).
func ClassArchivesFor(o Options, java string) *ClassArchives {
	if o.NoCDS || javaFeatureRelease(java) < 13 {
		return nil
	}
	return NewClassArchives(o.CacheDir, java)
}

// javaFeatureRelease is the feature release (17 of 17.0.15) of the
// HotSpot JDK that java belongs to, as its release file says
// (JAVA_VERSION="17.0.15"; "1.8.0_402" is 8); 0 when unknown, and for
// OpenJ9, whose options these are not.
func javaFeatureRelease(java string) int {
	real, err := filepath.EvalSymlinks(java)
	if err != nil {
		return 0
	}
	b, err := os.ReadFile(filepath.Join(filepath.Dir(filepath.Dir(real)), "release"))
	if err != nil || strings.Contains(strings.ToLower(string(b)), "openj9") {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		v, ok := strings.CutPrefix(strings.TrimSpace(line), "JAVA_VERSION=")
		if !ok {
			continue
		}
		v = strings.TrimPrefix(strings.Trim(v, `"`), "1.")
		major, _, _ := strings.Cut(v, ".")
		major, _, _ = strings.Cut(major, "_")
		n, err := strconv.Atoi(major)
		if err != nil {
			return 0
		}
		return n
	}
	return 0
}

// ClassArchiveUse is what one start of a JVM does with the archives.
type ClassArchiveUse struct {
	// Flags go before the JVM's other arguments.
	Flags []string
	// Making is the archive this JVM makes at exit, empty when it makes
	// none.
	Making string
	a      *ClassArchives
	final  string
	args   []string
}

// Use is what a JVM of kind (zookeeper, controller, broker, storage-format,
// ...) started with args (its java arguments, -cp among them) does: start
// with the kind's archive when there is one, else make it when no other JVM
// of this harness is making it. Call Exited once the JVM has exited.
func (a *ClassArchives) Use(kind string, args []string) *ClassArchiveUse {
	if a == nil {
		return &ClassArchiveUse{}
	}
	final := filepath.Join(a.dir, a.name(kind, args))
	u := &ClassArchiveUse{a: a, final: final, args: args}
	if u.Flags = sharedFlags(final); u.Flags != nil {
		return u
	}
	if _, err := os.Stat(final + unusableSuffix); err == nil {
		return u // this java made one it could not map: do not try again
	}
	making.Lock()
	defer making.Unlock()
	if u.Flags = sharedFlags(final); u.Flags != nil { // made while we looked
		return u
	}
	if making.paths[final] || os.MkdirAll(a.dir, 0o755) != nil {
		return u
	}
	making.paths[final] = true
	a.removeOrphans()
	u.Making = fmt.Sprintf("%s.%d.%s.making", final, os.Getpid(), randomSuffix())
	// The JVM's notes on the classes it could not archive (old class
	// file versions) would only be noise in the node's log.
	u.Flags = []string{"-XX:ArchiveClassesAtExit=" + u.Making, "-Xlog:cds=error,cds+dynamic=error"}
	return u
}

// Existing gives the flags that start a JVM of kind with args with its
// archive when one has been made, and none otherwise: for JVMs that may not
// make one (a container's, which sees the archives read-only).
func (a *ClassArchives) Existing(kind string, args []string) []string {
	if a == nil {
		return nil
	}
	return sharedFlags(filepath.Join(a.dir, a.name(kind, args)))
}

// sharedFlags start a JVM with archive final when it exists; nil when not.
func sharedFlags(final string) []string {
	if _, err := os.Stat(final); err != nil {
		return nil
	}
	return []string{"-XX:SharedArchiveFile=" + final}
}

// Dir is where the archives are kept.
func (a *ClassArchives) Dir() string { return a.dir }

// Exited is told, once the JVM has exited, whether what it made is worth
// keeping: it ran what its kind runs (a server that served and was then
// stopped with SIGTERM, a tool that succeeded), and exited through its exit
// hooks, which write the archive (see ExitedNormally), rather than being
// killed. The archive is kept when so and java maps it; otherwise it is
// removed, and the next JVM of the kind makes one. It returns why an
// archive made was not kept, nil when none was made or it was kept.
func (u *ClassArchiveUse) Exited(worth bool) error {
	if u == nil || u.Making == "" {
		return nil
	}
	a := u.a
	defer func() {
		making.Lock()
		delete(making.paths, u.final)
		making.Unlock()
		_ = os.Remove(u.Making)
	}()
	if !worth {
		return fmt.Errorf("%s: the JVM that was to write the class archive was killed, failed or stopped before it served", filepath.Base(u.final))
	}
	validate := a.validate
	if validate == nil {
		validate = a.javaMaps
	}
	if _, err := os.Stat(u.Making); err != nil {
		return fmt.Errorf("%s: the JVM wrote no class archive: %w", filepath.Base(u.final), err)
	}
	if err := validate(u.Making, u.args); err != nil {
		var refused *archiveRefused
		if errors.As(err, &refused) {
			// java itself refused what its JVM wrote: the next JVM would
			// make the same, so note it and let none try again (another
			// java or jar is another archive name).
			_ = os.WriteFile(u.final+unusableSuffix, []byte(err.Error()+"\n"), 0o644)
		}
		return fmt.Errorf("%s: the class archive the JVM wrote is not usable: %w", filepath.Base(u.final), err)
	}
	return os.Rename(u.Making, u.final)
}

// removeOrphans removes what the JVMs of harnesses that are gone (killed,
// so their servers died with them) were making, of any kind:
// <archive>.<pid>.<random>.making of a pid that no longer runs.
func (a *ClassArchives) removeOrphans() {
	files, _ := filepath.Glob(filepath.Join(a.dir, "*.making"))
	for _, f := range files {
		parts := strings.Split(filepath.Base(f), ".")
		if len(parts) < 4 {
			continue
		}
		pid, err := strconv.Atoi(parts[len(parts)-3])
		if err != nil || pid == os.Getpid() {
			continue
		}
		if err := syscall.Kill(pid, 0); errors.Is(err, syscall.ESRCH) {
			_ = os.Remove(f)
		}
	}
}

// randomSuffix tells apart the archives two JVMs of one harness make.
func randomSuffix() string {
	b := make([]byte, 4)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// unusableSuffix marks an archive name whose making failed (the reason is
// in the file): no JVM makes it again.
const unusableSuffix = ".unusable"

// ExitedNormally says whether a JVM that has exited (st from its Wait)
// ended through exit, on its own or on SIGTERM, running its exit hooks (the
// archive is written then), rather than being killed.
func ExitedNormally(st *os.ProcessState) bool {
	return st != nil && st.Exited()
}

// archiveRefused is java saying it cannot map an archive (not a java that
// could not be run at all).
type archiveRefused struct{ msg string }

func (e *archiveRefused) Error() string { return e.msg }

// validateTimeout bounds the java that checks a made archive.
const validateTimeout = 30 * time.Second

// javaMaps checks that java maps the archive with the JVM's own flags and
// classpath (-Xshare:on fails rather than starting without it, and a top
// layer it cannot map it says it could not use) and that its checksums
// hold.
func (a *ClassArchives) javaMaps(archive string, args []string) error {
	cmdArgs := append(jvmOptions(args), "-XX:SharedArchiveFile="+archive, "-Xshare:on", "-XX:+VerifySharedSpaces")
	if cp := classpathOf(args); cp != "" {
		cmdArgs = append(cmdArgs, "-cp", cp)
	}
	ctx, cancel := context.WithTimeout(context.Background(), validateTimeout)
	defer cancel()
	out, err := exec.CommandContext(ctx, a.java, append(cmdArgs, "-version")...).CombinedOutput()
	var exit *exec.ExitError
	switch {
	case ctx.Err() != nil:
		return fmt.Errorf("java -Xshare:on took over %s", validateTimeout)
	case errors.As(err, &exit) && exit.Exited():
		return &archiveRefused{fmt.Sprintf("java -Xshare:on: %v: %s", err, lastLine(string(out)))}
	case err != nil:
		return fmt.Errorf("java -Xshare:on: %w", err)
	case strings.Contains(string(out), "Unable to use shared archive"):
		return &archiveRefused{"java -Xshare:on: " + lastLine(string(out))}
	}
	return nil
}

// name is the archive's file name: the kind, and a digest of what makes an
// archive usable by a JVM (the java and its libjvm, the -XX options, the
// classpath with each jar's size and time).
func (a *ClassArchives) name(kind string, args []string) string {
	h := sha256.New()
	stamp := func(path string) {
		fmt.Fprintf(h, "%s\x00", path)
		if st, err := os.Stat(path); err == nil {
			fmt.Fprintf(h, "%d %d\x00", st.Size(), st.ModTime().UnixNano())
		}
	}
	java, err := filepath.EvalSymlinks(a.java)
	if err != nil {
		java = a.java
	}
	stamp(java)
	home := filepath.Dir(filepath.Dir(java))
	// The JVM, the base archive the dynamic one sits on (a distribution
	// may make it anew on its own), the runtime's classes.
	stamp(filepath.Join(home, "lib", "server", "libjvm.so"))
	stamp(filepath.Join(home, "lib", "server", "classes.jsa"))
	stamp(filepath.Join(home, "lib", "modules"))
	for _, o := range jvmOptions(args) {
		if strings.HasPrefix(o, "-XX:") {
			fmt.Fprintf(h, "%s\x00", o)
		}
		// From 32 GiB of heap on, the JVM has no compressed oops, and an
		// archive made with them does not map.
		if v, ok := strings.CutPrefix(o, "-Xmx"); ok && heapMiB(v) >= 32<<10 {
			fmt.Fprintf(h, "big heap\x00")
		}
	}
	for _, jar := range filepath.SplitList(classpathOf(args)) {
		stamp(jar)
	}
	safe := strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '.' || r == '-' {
			return r
		}
		return '_'
	}, kind)
	return safe + "-" + hex.EncodeToString(h.Sum(nil))[:16] + ".jsa"
}

// heapMiB reads a -Xmx size (512m, 2g, 1048576k, or bytes) in MiB; 0 when
// unreadable.
func heapMiB(v string) int64 {
	shift := map[string]uint{"k": 10, "m": 20, "g": 30, "t": 40}
	unit := uint(0)
	if n := len(v); n > 0 {
		if sh, ok := shift[strings.ToLower(v[n-1:])]; ok {
			unit, v = sh, v[:n-1]
		}
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil {
		return 0
	}
	return n << unit >> 20
}

// jvmOptions are the JVM's options in args: those before -cp (the main
// class and its arguments come after the classpath).
func jvmOptions(args []string) []string {
	if i := slices.Index(args, "-cp"); i >= 0 {
		return slices.Clone(args[:i])
	}
	return nil
}

// classpathOf is the -cp value in args, "" without one.
func classpathOf(args []string) string {
	if i := slices.Index(args, "-cp"); i >= 0 && i+1 < len(args) {
		return args[i+1]
	}
	return ""
}

// ClassArchiveKind is the kind of JVM a node runs, for its archive: the
// role, and for a broker the mode (a broker of 3.9 loads other classes in
// ZooKeeper mode than in KRaft mode) and whether it is a controller too.
func ClassArchiveKind(s NodeSpec, kraft bool) string {
	switch {
	case s.Role == RoleKafka && s.Controller:
		return "broker-controller"
	case s.Role == RoleKafka && kraft:
		return "broker-kraft"
	case s.Role == RoleKafka:
		return "broker-zk"
	}
	return string(s.Role)
}
