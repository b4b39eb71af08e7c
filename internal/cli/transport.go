package cli

import (
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"os"
	"strconv"
	"strings"
	"sync"

	"github.com/backupctl/backupctl/storage"
)

// transport warns, once per process and per connection, when data and credentials would cross
// a network in clear: S3 over plain http, or MariaDB without TLS, to a host that is not this
// machine. Loopback and a Unix socket never leave the machine and get no warning.
var transport = struct {
	sync.Mutex
	quiet  bool // --insecure-transport
	log    *slog.Logger
	warned map[string]bool
}{log: slog.New(slog.NewTextHandler(os.Stderr, nil)), warned: map[string]bool{}}

// configureTransportWarnings is called once the flags are parsed.
func configureTransportWarnings(g *Globals) {
	transport.Lock()
	defer transport.Unlock()
	transport.quiet = g.InsecureTransport
	transport.log = g.Logger()
}

func warnTransport(key, msg string) {
	transport.Lock()
	defer transport.Unlock()
	if transport.quiet || transport.warned[key] {
		return
	}
	transport.warned[key] = true
	transport.log.Warn(msg, "silence", "--insecure-transport or BACKUP_INSECURE_TRANSPORT=true")
}

// onThisMachine says whether host names this machine: localhost or a loopback address.
func onThisMachine(host string) bool {
	host = strings.TrimSuffix(strings.Trim(host, "[]"), ".")
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// WarnTransport warns about the connections these settings would make in clear.
func WarnTransport(db DBFlags, st StorageFlags) {
	db.warnTransport()
	st.warnTransport()
}

func (f DBFlags) warnTransport() {
	if f.DBSocket != "" || (f.DBTLS != "" && f.DBTLS != "off") || onThisMachine(f.DBHost) {
		return
	}
	addr := net.JoinHostPort(f.DBHost, strconv.Itoa(f.DBPort))
	warnTransport("db "+addr, fmt.Sprintf("MariaDB at %s is reached without TLS: the password and every row cross the network in clear; set --db-tls on", addr))
}

func (f StorageFlags) warnTransport() {
	if f.To != "" || f.S3Endpoint == "" {
		return
	}
	u, err := url.Parse(f.S3Endpoint)
	if err != nil || !strings.EqualFold(u.Scheme, "http") || onThisMachine(u.Hostname()) {
		return
	}
	ep := storage.RedactURL(f.S3Endpoint)
	warnTransport("s3 "+ep, fmt.Sprintf("S3 endpoint %s is plain http: request signatures and every backup byte cross the network in clear; use https", ep))
}
