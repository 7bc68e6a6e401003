package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"time"

	"github.com/faultline/faultline/internal/serve"
	"github.com/spf13/cobra"
)

func newServeCommand() *cobra.Command {
	var store, addr string
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Serve the store's runs as web pages: every run, its verdict and report, read-only",
		Long: `Serves a web page over the store: every run in a table, newest first,
filtered by test and verdict, each opening its report; a trend strip per
test (the verdict of each run over time); and the runs' files, read-only.
Nothing outside the store is served, whatever the URL says. It listens on
localhost unless --addr says otherwise; Ctrl-C stops it.`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			srv, err := serve.New(store)
			if err != nil {
				return err
			}
			defer srv.Close()
			ln, err := net.Listen("tcp", addr)
			if err != nil {
				return fmt.Errorf("listen on %s: %w (choose another with --addr)", addr, err)
			}
			hs := &http.Server{Handler: srv, ReadHeaderTimeout: 10 * time.Second}
			out := cmd.OutOrStdout()
			fmt.Fprintf(out, "serving %s at http://%s/ (Ctrl-C to stop)\n", store, ln.Addr())
			if host, _, _ := net.SplitHostPort(ln.Addr().String()); !net.ParseIP(host).IsLoopback() {
				fmt.Fprintf(cmd.ErrOrStderr(), "faultline serve: %s is reachable from other machines: the store's files and logs are readable by anyone who can reach it\n", ln.Addr())
			}
			ctx, stop := signalContext()
			defer stop()
			errc := make(chan error, 1)
			go func() { errc <- hs.Serve(ln) }()
			select {
			case err := <-errc:
				return err
			case <-ctx.Done():
			}
			sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			if err := hs.Shutdown(sctx); err != nil && !errors.Is(err, http.ErrServerClosed) {
				return err
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&store, "store", "store", "the store directory")
	cmd.Flags().StringVar(&addr, "addr", "127.0.0.1:8080", "where to listen (host:port); 127.0.0.1 keeps it to this machine")
	return cmd
}
