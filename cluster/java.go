package cluster

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
)

// FindJava returns the java binary the servers run on: given, when not
// empty; else $JAVA_HOME/bin/java; else java on PATH.
func FindJava(given string) (string, error) {
	if given != "" {
		return given, nil
	}
	if home := os.Getenv("JAVA_HOME"); home != "" {
		if p := filepath.Join(home, "bin", "java"); IsExecutable(p) {
			return p, nil
		}
	}
	if p, err := exec.LookPath("java"); err == nil {
		return p, nil
	}
	return "", errors.New("no java found on PATH or in $JAVA_HOME: install a JDK 17 (apt-get install openjdk-17-jre-headless), or give --java")
}

// IsExecutable says whether p is a file that can be executed.
func IsExecutable(p string) bool {
	st, err := os.Stat(p)
	return err == nil && !st.IsDir() && st.Mode()&0o111 != 0
}
