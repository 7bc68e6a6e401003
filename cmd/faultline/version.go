package main

import (
	"fmt"
	"runtime"
	"runtime/debug"

	"github.com/faultline/faultline/cluster"
	"github.com/spf13/cobra"
)

// versionText says which faultline this is, the Go it was built with, and
// the server versions it runs by default.
func versionText() string {
	version, revision := "(devel)", ""
	if bi, ok := debug.ReadBuildInfo(); ok {
		if bi.Main.Version != "" {
			version = bi.Main.Version
		}
		for _, s := range bi.Settings {
			switch s.Key {
			case "vcs.revision":
				revision = s.Value
			case "vcs.modified":
				if s.Value == "true" && revision != "" {
					revision += "+modified"
				}
			}
		}
	}
	v := "faultline " + version
	if revision != "" {
		v += " " + revision
	}
	return fmt.Sprintf("%s (%s %s/%s); default servers: Kafka %s, ZooKeeper %s",
		v, runtime.Version(), runtime.GOOS, runtime.GOARCH, cluster.DefaultKafkaVersion, cluster.DefaultZooKeeperVersion)
}

func newVersionCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print faultline's version, the Go it was built with, and the default server versions",
		Args:  noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			fmt.Fprintln(cmd.OutOrStdout(), versionText())
			return nil
		},
	}
}
