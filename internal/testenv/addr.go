package testenv

import (
	"net"
	"testing"
)

// FreeAddr is a 127.0.0.1:port nothing listens on now (a port just bound and released), for a
// server a test starts, or for a connection that must be refused.
func FreeAddr(t testing.TB) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	return addr
}
