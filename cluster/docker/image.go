package docker

import (
	"archive/tar"
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"

	"github.com/faultline/faultline/cluster"
	"github.com/moby/moby/client"
)

// imageRepo is the runtime image's name. It is local (made by `faultline
// docker setup`, never pulled): a name under localhost/ fails at once
// where a registry would be asked.
const imageRepo = "localhost/faultline-runtime"

// imageFormat changes when what goes into the image does: a new format
// makes a new tag.
const imageFormat = "2"

// imageTools are the commands the image has besides java: a shell for the
// nodes' start scripts and the tools' wrappers, and a few to look around
// with `cluster exec`.
var imageTools = []string{"sh", "bash", "sleep", "cat", "ls", "dirname", "env", "tail", "head", "grep", "mkdir", "rm", "hostname"}

// jreSkip are folders of a JDK that the servers never read.
var jreSkip = []string{"jmods", "include", "man", "legal", "docs", "demo", "sample", "src.zip"}

// javaRuntime is the Java runtime an image is made from.
type javaRuntime struct {
	// Home is the runtime's folder, at the same path in the image.
	Home string
	// Java is Home/bin/java.
	Java string
}

// findRuntime resolves the java binary (given, $JAVA_HOME or PATH, as
// the local backend) to its runtime's folder.
func findRuntime(given string) (javaRuntime, error) {
	java, err := cluster.FindJava(given)
	if err != nil {
		return javaRuntime{}, err
	}
	real, err := filepath.EvalSymlinks(java)
	if err != nil {
		return javaRuntime{}, fmt.Errorf("resolve %s: %w", java, err)
	}
	home := filepath.Dir(filepath.Dir(real))
	if filepath.Base(filepath.Dir(real)) != "bin" {
		return javaRuntime{}, fmt.Errorf("%s is not in a Java runtime's bin folder: give --java <runtime>/bin/java", real)
	}
	return javaRuntime{Home: home, Java: filepath.Join(home, "bin", "java")}, nil
}

// imageRef names the image made from rt: the runtime's version and a
// digest of where it is and what it holds, so that a changed runtime makes
// a new image.
func imageRef(rt javaRuntime) (string, error) {
	release, err := os.ReadFile(filepath.Join(rt.Home, "release"))
	if err != nil {
		return "", fmt.Errorf("read the Java runtime's release file: %w", err)
	}
	version := "java"
	if m := regexp.MustCompile(`(?m)^JAVA_VERSION="([^"]+)"`).FindSubmatch(release); m != nil {
		version = string(m[1])
	}
	h := sha256.New()
	fmt.Fprintf(h, "%s\n%s\n", imageFormat, rt.Home)
	h.Write(release)
	for _, f := range []string{rt.Java, filepath.Join(rt.Home, "lib", "server", "libjvm.so"), filepath.Join(rt.Home, "lib", "modules")} {
		if st, err := os.Stat(f); err == nil {
			fmt.Fprintf(h, "%s %d %d\n", f, st.Size(), st.ModTime().UnixNano())
		}
	}
	tag := regexp.MustCompile(`[^A-Za-z0-9_.-]`).ReplaceAllString(version, "_") + "-" + hex.EncodeToString(h.Sum(nil))[:10]
	return imageRepo + ":" + tag, nil
}

// hasImage says whether the daemon has the image.
func (d *daemon) hasImage(ctx context.Context, ref string) (bool, error) {
	_, err := d.api.ImageInspect(ctx, ref)
	if err == nil {
		return true, nil
	}
	if isNotFound(err) {
		return false, nil
	}
	return false, fmt.Errorf("look for image %s: %w", ref, err)
}

// errNoImage is the error of a run whose image is not there.
func errNoImage(ref string) error {
	return fmt.Errorf("no image %s on the Docker daemon: make it with `faultline docker setup` (no registry is asked)", ref)
}

// buildImage makes the runtime image: a tarball of rt's folder, the
// libraries it and the tools load (found with ldd), the tools, and a
// minimal /etc, imported as ref. Nothing is pulled.
func (d *daemon) buildImage(ctx context.Context, rt javaRuntime, ref string) error {
	files, err := imageFiles(rt)
	if err != nil {
		return err
	}
	pr, pw := io.Pipe()
	go func() { pw.CloseWithError(writeRootfs(pw, files)) }()
	defer pr.Close()
	res, err := d.api.ImageImport(ctx, client.ImageImportSource{Source: pr, SourceName: "-"}, ref, client.ImageImportOptions{
		Message: "faultline's runtime: the host's Java runtime " + rt.Home,
		Changes: []string{
			"ENV PATH=" + filepath.Join(rt.Home, "bin") + ":/usr/local/bin:/usr/bin:/bin",
			"ENV JAVA_HOME=" + rt.Home,
			"LABEL faultline.image=runtime",
		},
	})
	if err != nil {
		return fmt.Errorf("import image %s: %w", ref, err)
	}
	defer res.Close()
	// The daemon reports progress, and errors, as JSON messages.
	dec := json.NewDecoder(res)
	for {
		var m struct {
			Error string `json:"error"`
		}
		if err := dec.Decode(&m); errors.Is(err, io.EOF) {
			return nil
		} else if err != nil {
			return fmt.Errorf("import image %s: %w", ref, err)
		}
		if m.Error != "" {
			return fmt.Errorf("import image %s: %s", ref, m.Error)
		}
	}
}

// imageFiles lists the host paths the image holds: the runtime's folder
// (less what servers never read), the tools, and every library they load.
func imageFiles(rt javaRuntime) ([]string, error) {
	var files, elves []string
	err := filepath.WalkDir(rt.Home, func(p string, e fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if p != rt.Home && slices.Contains(jreSkip, e.Name()) && filepath.Dir(p) == rt.Home {
			if e.IsDir() {
				return filepath.SkipDir
			}
			return nil
		}
		files = append(files, p)
		if e.Type().IsRegular() && (strings.HasSuffix(p, ".so") || filepath.Base(filepath.Dir(p)) == "bin") {
			elves = append(elves, p)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("list the Java runtime %s: %w", rt.Home, err)
	}
	// /bin/sh is what scripts name, whatever PATH finds first; on a
	// merged /usr, adding it brings the /bin link.
	files = append(files, "/bin/sh")
	for _, t := range imageTools {
		p, err := exec.LookPath(t)
		if err != nil {
			return nil, fmt.Errorf("the runtime image needs %s, which is not on PATH: install it (coreutils, bash, grep, hostname)", t)
		}
		files = append(files, p)
		elves = append(elves, p)
	}
	for _, e := range elves {
		libs, err := sharedLibraries(e)
		if err != nil {
			return nil, err
		}
		files = append(files, libs...)
	}
	slices.Sort(files)
	return slices.Compact(files), nil
}

// lddLine is a library in ldd's output: "name => /path (0x...)" or
// "/path (0x...)".
var lddLine = regexp.MustCompile(`(?:=>\s*)?(/\S+)\s+\(0x[0-9a-f]+\)`)

// sharedLibraries lists the libraries an ELF file loads, as ldd finds
// them; a file that is not dynamic has none, and a library not found is
// left out (the JVM loads optional ones only when asked).
func sharedLibraries(file string) ([]string, error) {
	out, err := exec.Command("ldd", file).Output()
	if err != nil {
		var exit *exec.ExitError
		if errors.As(err, &exit) {
			return nil, nil // not a dynamic executable
		}
		return nil, fmt.Errorf("ldd %s: %w (install libc-bin)", file, err)
	}
	var libs []string
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		if m := lddLine.FindStringSubmatch(sc.Text()); m != nil {
			libs = append(libs, m[1])
		}
	}
	return libs, nil
}

// writeRootfs writes files into a tarball at their own paths, with every
// folder and symbolic link on the way (so /bin -> usr/bin holds on a
// merged /usr), the targets of links, and a minimal /etc and /tmp.
func writeRootfs(w io.Writer, files []string) error {
	tw := tar.NewWriter(w)
	r := rootfs{tw: tw, done: map[string]bool{}}
	for _, d := range []struct {
		name string
		mode int64
	}{{"tmp", 0o1777}, {"etc", 0o755}, {"root", 0o700}} {
		if err := tw.WriteHeader(&tar.Header{Typeflag: tar.TypeDir, Name: d.name + "/", Mode: d.mode}); err != nil {
			return err
		}
		r.done["/"+d.name] = true
	}
	for name, body := range map[string]string{
		"etc/passwd":        "root:x:0:0:root:/root:/bin/sh\n",
		"etc/group":         "root:x:0:\n",
		"etc/nsswitch.conf": "passwd: files\ngroup: files\nhosts: files dns\n",
	} {
		if err := tw.WriteHeader(&tar.Header{Typeflag: tar.TypeReg, Name: name, Mode: 0o644, Size: int64(len(body))}); err != nil {
			return err
		}
		if _, err := io.WriteString(tw, body); err != nil {
			return err
		}
		r.done["/"+name] = true
	}
	for _, f := range files {
		if err := r.add(f, 0); err != nil {
			return err
		}
	}
	return tw.Close()
}

// rootfs writes host paths into a tarball once each.
type rootfs struct {
	tw   *tar.Writer
	done map[string]bool
}

// add writes p: its parent folders first, then p itself (a link's target
// too).
func (r *rootfs) add(p string, depth int) error {
	if depth > 16 {
		return fmt.Errorf("too many links to follow at %s", p)
	}
	p = filepath.Clean(p)
	if p == "/" || r.done[p] {
		return nil
	}
	if err := r.add(filepath.Dir(p), depth); err != nil {
		return err
	}
	// The parent may be a link: go by the real folder.
	real := filepath.Join(mustEval(filepath.Dir(p)), filepath.Base(p))
	if real != p {
		r.done[p] = true
		return r.add(real, depth+1)
	}
	st, err := os.Lstat(p)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil // a dangling link's target: the link stays dangling
		}
		return err
	}
	r.done[p] = true
	name := strings.TrimPrefix(p, "/")
	switch {
	case st.Mode()&fs.ModeSymlink != 0:
		target, err := os.Readlink(p)
		if err != nil {
			return err
		}
		if err := r.tw.WriteHeader(&tar.Header{Typeflag: tar.TypeSymlink, Name: name, Linkname: target, Mode: 0o777}); err != nil {
			return err
		}
		if !filepath.IsAbs(target) {
			target = filepath.Join(filepath.Dir(p), target)
		}
		return r.add(target, depth+1)
	case st.IsDir():
		return r.tw.WriteHeader(&tar.Header{Typeflag: tar.TypeDir, Name: name + "/", Mode: int64(st.Mode().Perm()), ModTime: st.ModTime()})
	case st.Mode().IsRegular():
		f, err := os.Open(p)
		if err != nil {
			return err
		}
		defer f.Close()
		if err := r.tw.WriteHeader(&tar.Header{Typeflag: tar.TypeReg, Name: name, Mode: int64(st.Mode().Perm()), Size: st.Size(), ModTime: st.ModTime()}); err != nil {
			return err
		}
		_, err = io.Copy(r.tw, f)
		return err
	}
	return nil // sockets, devices: not for an image
}

// mustEval resolves a folder's links; an unresolvable one stays as it is.
func mustEval(dir string) string {
	if real, err := filepath.EvalSymlinks(dir); err == nil {
		return real
	}
	return dir
}
