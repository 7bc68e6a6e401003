package cluster

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// fakeJava makes a JDK layout (bin/java, lib/server/libjvm.so, release
// saying version) that no test runs, and returns its java.
func fakeJava(t *testing.T, version string) string {
	t.Helper()
	home := t.TempDir()
	java := filepath.Join(home, "bin", "java")
	for path, body := range map[string]string{
		java: "#!/bin/false\n",
		filepath.Join(home, "lib", "server", "libjvm.so"): "jvm",
		filepath.Join(home, "release"):                    "IMPLEMENTOR=\"Debian\"\nJAVA_VERSION=\"" + version + "\"\n",
	} {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(body), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	return java
}

// fakeJars makes n jar files and returns their classpath.
func fakeJars(t *testing.T, n int) string {
	t.Helper()
	dir := t.TempDir()
	var jars []string
	for i := range n {
		p := filepath.Join(dir, string(rune('a'+i))+".jar")
		if err := os.WriteFile(p, []byte("jar"), 0o644); err != nil {
			t.Fatal(err)
		}
		jars = append(jars, p)
	}
	return strings.Join(jars, string(os.PathListSeparator))
}

func testArgs(cp string) []string {
	return []string{"-Xmx128m", "-XX:+UseSerialGC", "-cp", cp, "kafka.Kafka", "/run/x/ctrl1/server.properties"}
}

// flagValue is the value of -XX:name= in flags, "" without it.
func flagValue(flags []string, name string) string {
	for _, f := range flags {
		if v, ok := strings.CutPrefix(f, "-XX:"+name+"="); ok {
			return v
		}
	}
	return ""
}

// TestClassArchiveLifecycle: the first JVM of a kind makes the archive, at
// a name of its own, while the others of the kind start without; a JVM
// that was killed leaves nothing and the next makes it again; one that ran
// keeps it after java maps it, and every later JVM starts with it.
func TestClassArchiveLifecycle(t *testing.T) {
	a := NewClassArchives(t.TempDir(), fakeJava(t, "17.0.15"))
	validated := 0
	a.validate = func(archive string, args []string) error {
		validated++
		if _, err := os.Stat(archive); err != nil {
			return err
		}
		return nil
	}
	args := testArgs(fakeJars(t, 3))

	first := a.Use("controller", args)
	making := flagValue(first.Flags, "ArchiveClassesAtExit")
	if making == "" || making != first.Making {
		t.Fatalf("first JVM of a kind: flags %q, making %q; want -XX:ArchiveClassesAtExit naming what it makes", first.Flags, first.Making)
	}
	if second := a.Use("controller", args); len(second.Flags) != 0 {
		t.Errorf("second JVM while the first makes the archive: flags %q, want none", second.Flags)
	}
	if other := a.Use("broker-kraft", args); flagValue(other.Flags, "ArchiveClassesAtExit") == "" {
		t.Errorf("another kind: flags %q, want it to make its own archive", other.Flags)
	}

	// Killed: what it wrote goes, and the next JVM makes the archive.
	if err := os.WriteFile(making, []byte("half"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := first.Exited(false); err == nil {
		t.Error("Exited(false) kept no archive but said nothing")
	}
	if _, err := os.Stat(making); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("a killed JVM's half archive %s is still there (%v)", making, err)
	}
	if validated != 0 {
		t.Errorf("a killed JVM's archive was validated %d times, want never", validated)
	}
	again := a.Use("controller", args)
	if again.Making == "" {
		t.Fatalf("after a killed maker, flags %q: want the next JVM to make the archive", again.Flags)
	}

	// Ran and stopped: kept, and used from then on.
	if err := os.WriteFile(again.Making, []byte("archive"), 0o444); err != nil {
		t.Fatal(err)
	}
	if err := again.Exited(true); err != nil {
		t.Fatalf("Exited(true): %v", err)
	}
	if validated != 1 {
		t.Errorf("validated %d times, want once", validated)
	}
	later := a.Use("controller", args)
	final := flagValue(later.Flags, "SharedArchiveFile")
	if final == "" || later.Making != "" {
		t.Fatalf("after the archive was made: flags %q, making %q; want -XX:SharedArchiveFile only", later.Flags, later.Making)
	}
	if b, err := os.ReadFile(final); err != nil || string(b) != "archive" {
		t.Errorf("archive %s holds %q (%v), want what the JVM wrote", final, b, err)
	}
	if matches, _ := filepath.Glob(filepath.Join(a.dir, "*.making")); len(matches) != 0 {
		t.Errorf("left behind: %v", matches)
	}
	if err := later.Exited(true); err != nil {
		t.Errorf("Exited of a JVM that used the archive: %v", err)
	}
}

// TestClassArchiveUnusable: an archive java refuses to map is not kept,
// and no JVM of that kind (same java, same jars) tries to make it again;
// one that could not be checked (java did not run), or that the JVM did
// not write, is not kept either, but the next JVM tries again.
func TestClassArchiveUnusable(t *testing.T) {
	for _, tc := range []struct {
		name      string
		write     bool
		err       error
		tryAgain  bool
		wantError string
	}{
		{"refused by java", true, &archiveRefused{"An error has occurred while processing the shared archive file"}, false, "not usable"},
		{"java did not run", true, errors.New("fork/exec: resource temporarily unavailable"), true, "not usable"},
		{"not written", false, nil, true, "wrote no class archive"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a := NewClassArchives(t.TempDir(), fakeJava(t, "17.0.15"))
			a.validate = func(string, []string) error { return tc.err }
			args := testArgs(fakeJars(t, 2))
			u := a.Use("zookeeper", args)
			if tc.write {
				if err := os.WriteFile(u.Making, []byte("bad"), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			if err := u.Exited(true); err == nil || !strings.Contains(err.Error(), tc.wantError) {
				t.Fatalf("Exited: %v, want an error saying %q", err, tc.wantError)
			}
			next := a.Use("zookeeper", args)
			if got := next.Making != ""; got != tc.tryAgain {
				t.Errorf("the next JVM makes the archive: %v (flags %q), want %v", got, next.Flags, tc.tryAgain)
			}
			if files, _ := filepath.Glob(filepath.Join(a.dir, "*.jsa")); len(files) != 0 {
				t.Errorf("an unusable archive was kept: %v", files)
			}
			_ = next.Exited(false)
		})
	}
}

// TestClassArchiveName: the archive's name changes with what a JVM checks
// before it maps one (its java, its -XX options, its classpath and each
// jar's size and time) and with the kind, and with nothing else (heap, the
// main class's arguments).
func TestClassArchiveName(t *testing.T) {
	java := fakeJava(t, "17.0.15")
	a := NewClassArchives(t.TempDir(), java)
	cp := fakeJars(t, 3)
	base := a.name("controller", testArgs(cp))
	if !strings.HasPrefix(base, "controller-") || !strings.HasSuffix(base, ".jsa") {
		t.Errorf("name %q: want controller-<digest>.jsa", base)
	}
	same := testArgs(cp)
	same[0] = "-Xmx512m"
	same[len(same)-1] = "/run/y/ctrl2/server.properties"
	if got := a.name("controller", same); got != base {
		t.Errorf("heap and config file changed the name: %q vs %q", got, base)
	}
	differs := map[string]string{"kind": a.name("broker-kraft", testArgs(cp))}
	gc := testArgs(cp)
	gc[1] = "-XX:+UseParallelGC"
	differs["-XX option"] = a.name("controller", gc)
	jars := filepath.SplitList(cp)
	differs["classpath order"] = a.name("controller", testArgs(strings.Join([]string{jars[1], jars[0], jars[2]}, string(os.PathListSeparator))))
	differs["another java"] = NewClassArchives(a.dir, fakeJava(t, "17.0.15")).name("controller", testArgs(cp))
	big := testArgs(cp)
	big[0] = "-Xmx40g"
	differs["a heap without compressed oops"] = a.name("controller", big)
	for what, got := range differs {
		if got == base {
			t.Errorf("%s did not change the archive's name %q", what, base)
		}
	}
	// Files the JVM checks: each change, one at a time, makes a new name.
	home := filepath.Dir(filepath.Dir(java))
	later := time.Now().Add(time.Hour)
	for _, f := range []struct{ what, path string }{
		{"a jar's time", jars[2]},
		{"libjvm.so's time", filepath.Join(home, "lib", "server", "libjvm.so")},
		{"a new base archive", filepath.Join(home, "lib", "server", "classes.jsa")},
		{"the runtime's modules", filepath.Join(home, "lib", "modules")},
	} {
		before := a.name("controller", testArgs(cp))
		if _, err := os.Stat(f.path); err != nil {
			if err := os.WriteFile(f.path, []byte("made"), 0o644); err != nil {
				t.Fatal(err)
			}
		}
		if err := os.Chtimes(f.path, later, later); err != nil {
			t.Fatal(err)
		}
		later = later.Add(time.Hour)
		if got := a.name("controller", testArgs(cp)); got == before {
			t.Errorf("%s did not change the archive's name %q", f.what, before)
		}
	}
}

// TestClassArchivesFor: no archives with --no-cds, or with a java that
// cannot make them (older than 13, or of unknown release), where the
// option would stop the JVM from starting; a nil ClassArchives gives no
// flags.
func TestClassArchivesFor(t *testing.T) {
	dir := t.TempDir()
	for _, tc := range []struct {
		version string
		noCDS   bool
		want    bool
	}{
		{"17.0.15", false, true},
		{"25", false, true},
		{"21.0.2", true, false},
		{"11.0.22", false, false},
		{"1.8.0_402", false, false},
		{"17.0.15\"\nJVM_VARIANT=\"Openj9", false, false},
		{"", false, false},
	} {
		java := fakeJava(t, tc.version)
		if tc.version == "" {
			if err := os.Remove(filepath.Join(filepath.Dir(filepath.Dir(java)), "release")); err != nil {
				t.Fatal(err)
			}
		}
		a := ClassArchivesFor(Options{CacheDir: dir, NoCDS: tc.noCDS}, java)
		if (a != nil) != tc.want {
			t.Errorf("java %q, NoCDS %v: archives %v, want %v", tc.version, tc.noCDS, a != nil, tc.want)
		}
	}
	var none *ClassArchives
	u := none.Use("broker-kraft", testArgs("x.jar"))
	if len(u.Flags) != 0 || u.Exited(true) != nil {
		t.Errorf("nil archives: flags %q, want none", u.Flags)
	}
}

// TestHeapMiB reads -Xmx sizes.
func TestHeapMiB(t *testing.T) {
	for v, want := range map[string]int64{"320m": 320, "2g": 2048, "2G": 2048, "1048576k": 1024, "33554432": 32, "40g": 40960, "": 0, "x": 0} {
		if got := heapMiB(v); got != want {
			t.Errorf("heapMiB(%q) = %d, want %d", v, got, want)
		}
	}
}

// TestJVMOptionsAndClasspath: the JVM options are those before -cp.
func TestJVMOptionsAndClasspath(t *testing.T) {
	args := testArgs("a.jar:b.jar")
	if got := jvmOptions(args); !slices.Equal(got, []string{"-Xmx128m", "-XX:+UseSerialGC"}) {
		t.Errorf("jvmOptions = %q", got)
	}
	if got := classpathOf(args); got != "a.jar:b.jar" {
		t.Errorf("classpathOf = %q", got)
	}
	if got := classpathOf([]string{"-version"}); got != "" {
		t.Errorf("classpathOf without -cp = %q", got)
	}
}

// TestClassArchiveOrphans: what the JVM of a harness that was killed was
// making is removed when the next harness makes that archive; what a live
// harness is making is left alone.
func TestClassArchiveOrphans(t *testing.T) {
	a := NewClassArchives(t.TempDir(), fakeJava(t, "17.0.15"))
	args := testArgs(fakeJars(t, 1))
	final := filepath.Join(a.dir, a.name("controller", args))
	if err := os.MkdirAll(a.dir, 0o755); err != nil {
		t.Fatal(err)
	}
	gone := final + ".999999999.0a1b2c3d.making"                                                     // beyond pid_max: no such process
	otherKind := filepath.Join(a.dir, "broker-kraft-0123456789abcdef.jsa.999999999.5e6f7a8b.making") // another kind's, as gone
	live := final + ".1.0a1b2c3d.making"                                                             // init, always there
	for _, f := range []string{gone, otherKind, live} {
		if err := os.WriteFile(f, []byte("half"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	u := a.Use("controller", args)
	if u.Making == "" {
		t.Fatalf("flags %q: want this JVM to make the archive", u.Flags)
	}
	for _, f := range []string{gone, otherKind} {
		if _, err := os.Stat(f); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("%s of a harness that is gone is still there (%v)", f, err)
		}
	}
	if _, err := os.Stat(live); err != nil {
		t.Errorf("%s of a live process was removed: %v", live, err)
	}
}
