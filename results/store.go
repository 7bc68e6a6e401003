package results

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"time"
)

// The files of a run's directory.
const (
	TestFile    = "test.json"
	HistoryFile = "history.jsonl"
	ResultsFile = "results.json"
	LogFile     = "faultline.log"
)

// timeLayout names a run's directory by its start time, sortable.
const timeLayout = "20060102T150405.000Z"

var testNamePattern = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]*$`)

// ValidTestName says whether name can name a folder of the store.
func ValidTestName(name string) error {
	if !testNamePattern.MatchString(name) || len(name) > 100 {
		return fmt.Errorf("test name %q cannot name a folder: use letters, digits, '.', '_' and '-'", name)
	}
	return nil
}

// CreateRun makes store/<test>/<start>/. MarkLatest points the latest
// links at it once the run has something to show.
func CreateRun(store, test string, start time.Time) (string, error) {
	if err := ValidTestName(test); err != nil {
		return "", err
	}
	stamp := start.UTC().Format(timeLayout)
	store, err := filepath.Abs(store)
	if err != nil {
		return "", fmt.Errorf("the store %s: %w", store, err)
	}
	dir := filepath.Join(store, test, stamp)
	if err := os.MkdirAll(filepath.Dir(dir), 0o755); err != nil {
		return "", fmt.Errorf("make the store %s: %w (choose another with --store)", store, err)
	}
	// Two runs of one test starting in the same millisecond get
	// <stamp> and <stamp>-2.
	for i := 2; ; i++ {
		err := os.Mkdir(dir, 0o755)
		if err == nil {
			break
		}
		if !errors.Is(err, os.ErrExist) || i > 100 {
			return "", fmt.Errorf("make the run's folder: %w", err)
		}
		stamp = fmt.Sprintf("%s-%d", start.UTC().Format(timeLayout), i)
		dir = filepath.Join(store, test, stamp)
	}
	return dir, nil
}

// MarkLatest points store/latest and store/<test>/latest at a run's
// directory, made by CreateRun.
func MarkLatest(dir string) error {
	stamp := filepath.Base(dir)
	testDir := filepath.Dir(dir)
	store := filepath.Dir(testDir)
	if err := relink(filepath.Join(store, "latest"), filepath.Join(filepath.Base(testDir), stamp)); err != nil {
		return err
	}
	return relink(filepath.Join(testDir, "latest"), stamp)
}

// RemoveRun removes a run's directory that holds nothing worth keeping (the
// run failed before anything ran), and the test's folder if that leaves it
// empty. The latest links, which MarkLatest had not moved, stay.
func RemoveRun(dir string) error {
	if err := os.RemoveAll(dir); err != nil {
		return fmt.Errorf("remove the empty run %s: %w", dir, err)
	}
	_ = os.Remove(filepath.Dir(dir)) // only if empty
	return nil
}

// relink points the symlink at link to target, replacing it atomically. The
// temporary link's name is the process's own, so concurrent runs sharing a
// store do not trip over each other's.
func relink(link, target string) error {
	tmp := fmt.Sprintf("%s.tmp-%d-%d", link, os.Getpid(), time.Now().UnixNano())
	if err := os.Symlink(target, tmp); err != nil {
		return fmt.Errorf("link %s: %w", link, err)
	}
	if err := os.Rename(tmp, link); err != nil {
		return fmt.Errorf("link %s: %w", link, err)
	}
	return nil
}

// WriteJSON writes v, indented, to path atomically.
func WriteJSON(path string, v any) error {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return fmt.Errorf("encode %s: %w", filepath.Base(path), err)
	}
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, append(b, '\n'), 0o644); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return os.Rename(tmp, path)
}

// Locate finds the history to check from a run's directory, a store's
// test folder or latest link, or a history file.
func Locate(arg string) (historyPath, runDir string, err error) {
	st, err := os.Stat(arg)
	if err != nil {
		return "", "", fmt.Errorf("%s: %w: give a run's directory (store/latest) or a history.jsonl", arg, errors.Unwrap(err))
	}
	if !st.IsDir() {
		return arg, filepath.Dir(arg), nil
	}
	for _, dir := range []string{arg, filepath.Join(arg, "latest")} {
		p := filepath.Join(dir, HistoryFile)
		if _, err := os.Stat(p); err == nil {
			return p, dir, nil
		}
	}
	return "", "", fmt.Errorf("%s holds no %s: give a run's directory (store/latest) or a history file", arg, HistoryFile)
}
