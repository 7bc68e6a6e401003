package nsutil

import (
	"context"
	"net"

	"github.com/vishvananda/netns"
)

// DialIn opens a connection from inside the network namespace ns: the
// socket belongs to ns for its whole life, whichever thread uses it later.
func DialIn(ctx context.Context, ns netns.NsHandle, network, address string) (net.Conn, error) {
	var conn net.Conn
	err := RunInNamespace(ns, func() error {
		var d net.Dialer
		var err error
		conn, err = d.DialContext(ctx, network, address)
		return err
	})
	return conn, err
}
