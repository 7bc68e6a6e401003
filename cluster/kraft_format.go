package cluster

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
)

// KRaftStorage is a KRaft node to format: its spec and its files.
type KRaftStorage struct {
	Spec  NodeSpec
	Files NodeFiles
}

// FormatKRaftStorage formats the storage of every KRaft node (brokers and
// controllers) for the run's cluster id before any starts. kafka-storage
// format is a JVM of its own, a second or two of CPU each: instead of one
// per node, it formats the first node of each kind (the same
// process.roles) and gives the others of that kind a copy of what it
// wrote, with their own node.id and a directory.id of their own in
// meta.properties, which is all that differs from node to node. The rest
// (the bootstrap metadata: feature levels, in 4.x a snapshot of them) is
// the same for every node of a kind.
//
// archives (nil for none) gives the format JVMs their class archive.
func FormatKRaftStorage(ctx context.Context, java string, archives *ClassArchives, classpath, clusterID string, nodes []KRaftStorage) error {
	var kinds []string
	byKind := map[string][]KRaftStorage{}
	ids := map[string]string{} // node name → its node.id
	for _, n := range nodes {
		roles, err := configValue(n.Files.ConfigFile, "process.roles")
		if err == nil {
			ids[n.Spec.Name], err = configValue(n.Files.ConfigFile, "node.id")
		}
		if err != nil {
			return &NodeError{Node: n.Spec.Name, Err: err, LogFile: n.Files.LogFile}
		}
		if byKind[roles] == nil {
			kinds = append(kinds, roles)
		}
		byKind[roles] = append(byKind[roles], n)
	}
	errs := make([]error, len(kinds))
	var wg sync.WaitGroup
	for i, kind := range kinds {
		wg.Add(1)
		go func() {
			defer wg.Done()
			group := byKind[kind]
			first := group[0]
			args := StorageFormatArgs(classpath, first.Files.ConfigFile, first.Files.Log4jFile, clusterID)
			use := archives.Use("storage-format", args)
			cmd := exec.CommandContext(ctx, java, append(slices.Clone(use.Flags), args...)...)
			var out bytes.Buffer
			cmd.Stdout, cmd.Stderr = &out, &out
			err := cmd.Run()
			_ = use.Exited(err == nil) // without an archive the next format is only slower
			if err != nil {
				errs[i] = &NodeError{Node: first.Spec.Name, Err: fmt.Errorf("format its KRaft storage: %w: %s", err, lastLine(out.String())), LogFile: first.Files.LogFile}
				return
			}
			for _, n := range group[1:] {
				if err := cloneKRaftStorage(first.Files.DataDir, n.Files.DataDir, ids[n.Spec.Name]); err != nil {
					errs[i] = &NodeError{Node: n.Spec.Name, Err: fmt.Errorf("format its KRaft storage (a copy of %s's): %w", first.Spec.Name, err), LogFile: n.Files.LogFile}
					return
				}
			}
		}()
	}
	wg.Wait()
	return errors.Join(errs...)
}

// configValue reads a key (process.roles, node.id) from a KRaft node's
// config.
func configValue(configFile, key string) (string, error) {
	b, err := os.ReadFile(configFile)
	if err != nil {
		return "", err
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(strings.TrimSpace(line), key+"="); ok {
			return strings.TrimSpace(v), nil
		}
	}
	return "", fmt.Errorf("%s sets no %s: it is no KRaft node's config", configFile, key)
}

// cloneKRaftStorage copies the formatted data folder from into to (files
// with their modes), writing meta.properties anew with node.id id (as the
// node's config gives it: a controller's is 100 + its number) and a fresh
// directory.id.
func cloneKRaftStorage(from, to, id string) error {
	return filepath.WalkDir(from, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(from, path)
		if err != nil {
			return err
		}
		dst := filepath.Join(to, rel)
		info, err := d.Info()
		if err != nil {
			return err
		}
		if d.IsDir() {
			return os.MkdirAll(dst, info.Mode().Perm())
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		if rel == "meta.properties" {
			if b, err = metaPropertiesFor(b, id); err != nil {
				return fmt.Errorf("%s: %w", path, err)
			}
		}
		return os.WriteFile(dst, b, info.Mode().Perm())
	})
}

// metaPropertiesFor is a formatted meta.properties with node.id set to id
// and a new directory.id; the other lines (version, cluster.id, comments)
// as they were. It refuses one that lacks either line.
func metaPropertiesFor(b []byte, id string) ([]byte, error) {
	dirID, err := NewKRaftClusterID() // a random Uuid, as Kafka makes directory ids
	if err != nil {
		return nil, err
	}
	lines := strings.Split(string(b), "\n")
	seen := 0
	for i, line := range lines {
		switch {
		case strings.HasPrefix(line, "node.id="):
			lines[i] = "node.id=" + id
			seen++
		case strings.HasPrefix(line, "directory.id="):
			lines[i] = "directory.id=" + dirID
			seen++
		}
	}
	if seen != 2 {
		return nil, errors.New("meta.properties has no node.id or no directory.id line: kafka-storage format wrote another layout")
	}
	return []byte(strings.Join(lines, "\n")), nil
}

// lastLine is the last non-empty line of s.
func lastLine(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	return lines[len(lines)-1]
}
