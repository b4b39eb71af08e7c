// Command gatewayfwd makes servers that listen on loopback reachable from the local node's pods:
// for each port it listens on the pod bridge's gateway address and copies every connection to
// 127.0.0.1 on the same port. The gateway address exists only on this machine, so nothing is
// exposed beyond it.
//
//	gatewayfwd -listen 10.213.0.1 13306 13307 19000
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
	"net"
	"os"
	"os/signal"
	"strconv"
	"sync"
	"syscall"
	"time"
)

func main() {
	listen := flag.String("listen", "", "the address to listen on (the pod bridge's gateway)")
	flag.Parse()
	if net.ParseIP(*listen) == nil || flag.NArg() == 0 {
		fmt.Fprintln(os.Stderr, "usage: gatewayfwd -listen IP PORT...")
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	var wg sync.WaitGroup
	for _, p := range flag.Args() {
		if _, err := strconv.ParseUint(p, 10, 16); err != nil {
			log.Fatalf("gatewayfwd: port %q: want a number", p)
		}
		l, err := keepAlive.Listen(ctx, "tcp", net.JoinHostPort(*listen, p))
		if err != nil {
			log.Fatalf("gatewayfwd: %v", err)
		}
		log.Printf("forwarding %s to 127.0.0.1:%s", l.Addr(), p)
		wg.Add(1)
		go func() { defer wg.Done(); serve(ctx, l, net.JoinHostPort("127.0.0.1", p)) }()
	}
	<-ctx.Done()
	wg.Wait()
}

// keepAlive probes both sides of every connection: a pod that vanishes with its network
// namespace sends no FIN, and without probes its connection, and the server session behind it
// (with any lock it holds), would stay open for hours.
var (
	probes    = net.KeepAliveConfig{Enable: true, Idle: 5 * time.Second, Interval: 5 * time.Second, Count: 3}
	keepAlive = net.ListenConfig{KeepAliveConfig: probes}
	dialer    = net.Dialer{KeepAliveConfig: probes}
)

// serve accepts on l until ctx ends and joins each connection to target.
func serve(ctx context.Context, l net.Listener, target string) {
	go func() { <-ctx.Done(); l.Close() }()
	for {
		c, err := l.Accept()
		if err != nil {
			if !errors.Is(err, net.ErrClosed) {
				log.Printf("accept on %s: %v", l.Addr(), err)
			}
			return
		}
		go join(c, target)
	}
}

// join copies both ways between c and a new connection to target, closing each write side
// when its reader ends so that half-closes pass through.
func join(c net.Conn, target string) {
	defer c.Close()
	u, err := dialer.Dial("tcp", target)
	if err != nil {
		log.Printf("dial %s: %v", target, err)
		return
	}
	defer u.Close()
	done := make(chan struct{}, 2)
	cp := func(dst, src net.Conn) {
		_, _ = io.Copy(dst, src)
		if tc, ok := dst.(*net.TCPConn); ok {
			_ = tc.CloseWrite()
		}
		done <- struct{}{}
	}
	go cp(u, c)
	go cp(c, u)
	<-done
	<-done
}
