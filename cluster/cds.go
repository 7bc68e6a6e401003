package cluster

import (
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

	mu     sync.Mutex
	making map[string]bool // archive paths some JVM of this harness is making
}

// NewClassArchives keeps archives under cacheDir/cds for JVMs that java
// runs.
func NewClassArchives(cacheDir, java string) *ClassArchives {
	return &ClassArchives{dir: filepath.Join(cacheDir, "cds"), java: java, making: map[string]bool{}}
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

// javaFeatureRelease is the feature release (17 of 17.0.15) of the JDK
// that java belongs to, as its release file says (JAVA_VERSION="17.0.15";
// "1.8.0_402" is 8); 0 when unknown.
func javaFeatureRelease(java string) int {
	real, err := filepath.EvalSymlinks(java)
	if err != nil {
		return 0
	}
	b, err := os.ReadFile(filepath.Join(filepath.Dir(filepath.Dir(real)), "release"))
	if err != nil {
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
	if _, err := os.Stat(final); err == nil {
		u.Flags = []string{"-XX:SharedArchiveFile=" + final}
		return u
	}
	if _, err := os.Stat(final + unusableSuffix); err == nil {
		return u // this java made one it could not map: do not try again
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.making[final] || os.MkdirAll(a.dir, 0o755) != nil {
		return u
	}
	a.making[final] = true
	removeOrphans(final)
	u.Making = fmt.Sprintf("%s.%d.making", final, os.Getpid())
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
	final := filepath.Join(a.dir, a.name(kind, args))
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
		a.mu.Lock()
		delete(a.making, u.final)
		a.mu.Unlock()
		_ = os.Remove(u.Making)
	}()
	if !worth {
		return fmt.Errorf("%s: the JVM that was to write the class archive was killed, failed or stopped before it served", filepath.Base(u.final))
	}
	validate := a.validate
	if validate == nil {
		validate = a.javaMaps
	}
	if err := validate(u.Making, u.args); err != nil {
		// The next JVM would make the same: note it, so that none tries
		// again (another java or jar is another archive name).
		_ = os.WriteFile(u.final+unusableSuffix, []byte(err.Error()+"\n"), 0o644)
		return fmt.Errorf("%s: the class archive the JVM wrote is not usable: %w", filepath.Base(u.final), err)
	}
	return os.Rename(u.Making, u.final)
}

// removeOrphans removes what JVMs of harnesses that are gone (killed, so
// their servers died with them) were making for final: final.<pid>.making
// of a pid that no longer runs.
func removeOrphans(final string) {
	files, _ := filepath.Glob(final + ".*.making")
	for _, f := range files {
		pid, err := strconv.Atoi(strings.TrimSuffix(strings.TrimPrefix(f, final+"."), ".making"))
		if err != nil || pid == os.Getpid() {
			continue
		}
		if err := syscall.Kill(pid, 0); errors.Is(err, syscall.ESRCH) {
			_ = os.Remove(f)
		}
	}
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

// javaMaps checks that java maps the archive with the JVM's own flags and
// classpath (-Xshare:on fails rather than starting without it) and that its
// checksums hold.
func (a *ClassArchives) javaMaps(archive string, args []string) error {
	cmdArgs := append(jvmOptions(args), "-XX:SharedArchiveFile="+archive, "-Xshare:on", "-XX:+VerifySharedSpaces")
	if cp := classpathOf(args); cp != "" {
		cmdArgs = append(cmdArgs, "-cp", cp)
	}
	out, err := exec.Command(a.java, append(cmdArgs, "-version")...).CombinedOutput()
	if err != nil {
		return fmt.Errorf("java -Xshare:on: %w: %s", err, lastLine(string(out)))
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
	stamp(filepath.Join(filepath.Dir(filepath.Dir(java)), "lib", "server", "libjvm.so"))
	for _, o := range jvmOptions(args) {
		if strings.HasPrefix(o, "-XX:") {
			fmt.Fprintf(h, "%s\x00", o)
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
