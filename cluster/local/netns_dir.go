package local

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// A run's namespaces are bind mounts of namespace files under /run/netns.
// If /run/netns is a plain directory, the first `ip netns add` (or `ip netns
// attach`) anyone runs turns it into a mount point by bind-mounting it over
// itself, and the mounts of every namespace made before are hidden
// underneath: removing their files then fails with "device or resource
// busy", and the namespaces live on. iproute2 avoids it for its own by
// making /run/netns a shared mount point before its first namespace; so do
// we (shareNetnsDir), and a run whose mounts are already hidden is
// recovered at teardown (uncoverRunMounts).

// shareNetnsDir makes /run/netns a shared mount point of its own, as
// iproute2 does before it adds a namespace.
func shareNetnsDir() error {
	if err := os.MkdirAll(netnsDir, 0o755); err != nil {
		return fmt.Errorf("make %s: %w", netnsDir, err)
	}
	for made := false; ; made = true {
		err := unix.Mount("", netnsDir, "none", unix.MS_SHARED|unix.MS_REC, "")
		if err == nil {
			return nil
		}
		if !errors.Is(err, unix.EINVAL) || made {
			return fmt.Errorf("make %s a shared mount point: %w", netnsDir, err)
		}
		// Not a mount point yet: make it one.
		if err := unix.Mount(netnsDir, netnsDir, "none", unix.MS_BIND|unix.MS_REC, ""); err != nil {
			return fmt.Errorf("make %s a mount point: %w", netnsDir, err)
		}
	}
}

// mountEntry is a line of /proc/self/mountinfo.
type mountEntry struct {
	id, parent int
	point      string
	fsType     string
}

// readMountInfo lists the mounts of the harness's mount namespace, hidden
// ones included.
func readMountInfo() ([]mountEntry, error) {
	f, err := os.Open("/proc/self/mountinfo")
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var out []mountEntry
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		sep := slices.Index(fields, "-")
		if len(fields) < 5 || sep < 0 || sep+1 >= len(fields) {
			continue
		}
		id, _ := strconv.Atoi(fields[0])
		parent, _ := strconv.Atoi(fields[1])
		out = append(out, mountEntry{id: id, parent: parent, point: unescapeMount(fields[4]), fsType: fields[sep+1]})
	}
	return out, sc.Err()
}

// unescapeMount undoes mountinfo's octal escapes (\040 for a space, ...).
func unescapeMount(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+3 < len(s) {
			if n, err := strconv.ParseUint(s[i+1:i+4], 8, 8); err == nil {
				b.WriteByte(byte(n))
				i += 3
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

// hiddenMounts lists the run's namespace files (by name) whose mounts sit
// under a mount that covers /run/netns: their parent is not the mount
// /run/netns shows now.
func hiddenMounts(names []string) ([]string, error) {
	mounts, err := readMountInfo()
	if err != nil {
		return nil, err
	}
	top := -1 // the visible mount at /run/netns: the last one listed
	for _, m := range mounts {
		if m.point == netnsDir {
			top = m.id
		}
	}
	var hidden []string
	for _, m := range mounts {
		name := filepath.Base(m.point)
		if filepath.Dir(m.point) != netnsDir || !slices.Contains(names, name) {
			continue
		}
		if m.parent != top && !slices.Contains(hidden, name) {
			hidden = append(hidden, name)
		}
	}
	return hidden, nil
}

// uncoverRunMounts frees namespace mounts of names that a bind mount over
// /run/netns hides: it keeps a handle on every namespace mounted in the
// covering layer by others, detaches that layer, mounts their namespaces
// again on the layer below (the same directory, now visible), and makes
// /run/netns a shared mount point again. The run's own mounts are then
// visible for deleteNamespaces to remove. It repeats for stacked covers.
func uncoverRunMounts(names []string) error {
	for range 8 {
		hidden, err := hiddenMounts(names)
		if err != nil {
			return fmt.Errorf("read the mount table: %w", err)
		}
		if len(hidden) == 0 {
			return nil
		}
		if err := detachCover(names); err != nil {
			return err
		}
	}
	return errors.New("the run's namespace mounts are still hidden under mounts on /run/netns after 8 tries")
}

// detachCover removes the topmost mount at /run/netns, keeping the
// namespaces others mounted in it.
func detachCover(names []string) error {
	mounts, err := readMountInfo()
	if err != nil {
		return err
	}
	top := -1
	for _, m := range mounts {
		if m.point == netnsDir {
			top = m.id
		}
	}
	if top < 0 {
		return errors.New("nothing is mounted on /run/netns, yet the run's mounts are hidden")
	}
	type kept struct {
		name string
		fd   int
	}
	var others []kept
	defer func() {
		for _, k := range others {
			unix.Close(k.fd)
		}
	}()
	for _, m := range mounts {
		name := filepath.Base(m.point)
		if m.parent != top || filepath.Dir(m.point) != netnsDir || slices.Contains(names, name) {
			continue
		}
		fd, err := unix.Open(m.point, unix.O_RDONLY|unix.O_CLOEXEC, 0)
		if err != nil {
			return fmt.Errorf("keep namespace %s before uncovering /run/netns: %w", name, err)
		}
		others = append(others, kept{name, fd})
	}
	if err := unix.Unmount(netnsDir, unix.MNT_DETACH); err != nil {
		return fmt.Errorf("detach the mount covering %s: %w", netnsDir, err)
	}
	var errs []error
	for _, k := range others {
		target := filepath.Join(netnsDir, k.name)
		var st unix.Statfs_t
		if unix.Statfs(target, &st) == nil && st.Type == unix.NSFS_MAGIC {
			continue // mounted below too: the cover had copied it
		}
		if f, err := os.OpenFile(target, os.O_CREATE|os.O_RDONLY, 0o444); err == nil {
			f.Close()
		}
		src := fmt.Sprintf("/proc/self/fd/%d", k.fd)
		if err := unix.Mount(src, target, "none", unix.MS_BIND, ""); err != nil {
			errs = append(errs, fmt.Errorf("mount namespace %s again after uncovering %s: %w", k.name, netnsDir, err))
		}
	}
	if err := shareNetnsDir(); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}
