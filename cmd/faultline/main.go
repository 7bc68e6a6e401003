package main

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"

	"github.com/faultline/faultline/cluster"
	"github.com/spf13/cobra"
)

// Exit codes shared by every command.
const (
	exitValid   = 0
	exitInvalid = 1
	exitUnknown = 2
	exitHarness = 3
)

// exitError carries an exit code other than exitHarness out of a command.
type exitError struct {
	code int
	err  error
}

func (e *exitError) Error() string {
	if e.err == nil {
		return fmt.Sprintf("exit code %d", e.code)
	}
	return e.err.Error()
}

func main() {
	os.Exit(run(os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}

// run executes the command line and returns the process's exit code.
func run(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	root := newRootCommand(stdin, stdout, stderr)
	root.SetArgs(args)
	err := root.Execute()
	if err == nil {
		return exitValid
	}
	var ee *exitError
	if errors.As(err, &ee) {
		if ee.err != nil {
			fmt.Fprintf(stderr, "faultline: %s\n", oneLine(ee.err.Error()))
		}
		return ee.code
	}
	fmt.Fprintf(stderr, "faultline: %s\n", oneLine(err.Error()))
	var ne *cluster.NodeError
	if errors.As(err, &ne) {
		if tail := ne.LogTail(15); tail != "" {
			fmt.Fprintf(stderr, "last lines of %s:\n%s\n", ne.LogFile, tail)
		}
	}
	return exitHarness
}

func oneLine(s string) string { return strings.Join(strings.Fields(s), " ") }

type globalFlags struct {
	logLevel string
}

func (g *globalFlags) logger(w io.Writer) (*slog.Logger, error) {
	var level slog.Level
	if err := level.UnmarshalText([]byte(g.logLevel)); err != nil {
		return nil, fmt.Errorf("--log-level %q is not a level: use debug, info, warn or error", g.logLevel)
	}
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: level})), nil
}

func newRootCommand(stdin io.Reader, stdout, stderr io.Writer) *cobra.Command {
	g := &globalFlags{}
	root := &cobra.Command{
		Use:           "faultline",
		Short:         "A Jepsen-style correctness and chaos harness for ZooKeeper and Kafka",
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.SetIn(stdin)
	root.SetOut(stdout)
	root.SetErr(stderr)
	root.PersistentFlags().StringVar(&g.logLevel, "log-level", "info", "harness log level: debug, info, warn or error")
	root.SetFlagErrorFunc(func(c *cobra.Command, err error) error {
		return fmt.Errorf("%v: see `%s --help`", err, c.CommandPath())
	})
	root.Version = versionText()
	root.SetVersionTemplate("{{.Version}}\n")
	root.AddCommand(newClusterCommand(g), newTestCommand(g), newCheckCommand(), newServeCommand(), newVersionCommand(), newMatrixCommand(g), newScenarioCommand(g), newDockerCommand())
	return root
}
