package main

import (
	"github.com/faultline/faultline/cluster/docker"
	"github.com/spf13/cobra"
)

// newDockerCommand is `faultline docker`: what the Docker backend needs.
func newDockerCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "docker",
		Short: "Get this machine ready for --backend docker",
	}
	cmd.AddCommand(newDockerSetupCommand())
	return cmd
}

func newDockerSetupCommand() *cobra.Command {
	var java string
	cmd := &cobra.Command{
		Use:   "setup",
		Short: "Check for a Docker daemon and make the runtime image (from this machine's Java) if it is missing",
		Long: "setup checks that a Docker daemon answers (DOCKER_HOST, else /var/run/docker.sock) and makes the\n" +
			"image the Docker backend's containers run, localhost/faultline-runtime:<java version>-<digest>, from\n" +
			"this machine's Java runtime when the daemon lacks it. No registry is asked: nothing is pulled.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx, stop := signalContext()
			defer stop()
			_, err := docker.Setup(ctx, java, cmd.OutOrStdout())
			return err
		},
	}
	cmd.Flags().StringVar(&java, "java", "", "the java binary whose runtime goes into the image (default $JAVA_HOME/bin/java, else java on PATH)")
	return cmd
}
