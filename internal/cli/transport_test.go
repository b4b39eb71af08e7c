package cli

import (
	"bytes"
	"strings"
	"testing"
)

// TestTransportWarnings: plain http S3 and TLS-off MariaDB to another host are named once on
// stderr, with the way to silence it; loopback, a socket, TLS, https and --insecure-transport
// are quiet; the endpoint's credentials never appear.
func TestTransportWarnings(t *testing.T) {
	cases := []struct {
		name  string
		db    DBFlags
		st    StorageFlags
		quiet bool
		want  []string // substrings of the warnings, in order; none when empty
	}{
		{name: "loopback", db: DBFlags{DBHost: "127.0.0.1", DBPort: 3306, DBTLS: "off"}, st: StorageFlags{S3Endpoint: "http://127.0.0.1:9000"}},
		{name: "localhost and ipv6 loopback", db: DBFlags{DBHost: "localhost", DBPort: 3306, DBTLS: "off"}, st: StorageFlags{S3Endpoint: "http://[::1]:9000"}},
		{name: "socket", db: DBFlags{DBHost: "db.example", DBSocket: "/run/mysqld.sock", DBTLS: "off"}},
		{name: "tls and https", db: DBFlags{DBHost: "db.example", DBPort: 3306, DBTLS: "on"}, st: StorageFlags{S3Endpoint: "https://s3.example"}},
		{name: "file", db: DBFlags{DBHost: "::1", DBPort: 3306, DBTLS: "off"}, st: StorageFlags{To: "file:///srv/backups"}},
		{name: "remote in clear", db: DBFlags{DBHost: "db.example", DBPort: 3306, DBTLS: "off"}, st: StorageFlags{S3Endpoint: "http://minio.example:9000"},
			want: []string{"MariaDB at db.example:3306 is reached without TLS", "S3 endpoint http://minio.example:9000 is plain http"}},
		{name: "silenced", db: DBFlags{DBHost: "db.example", DBPort: 3306, DBTLS: "off"}, st: StorageFlags{S3Endpoint: "http://minio.example:9000"}, quiet: true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var errBuf bytes.Buffer
			configureTransportWarnings(&Globals{Stderr: &errBuf, LogFormat: "text", InsecureTransport: c.quiet})
			transport.warned = map[string]bool{}
			for range 3 { // once, however often the settings are used
				WarnTransport(c.db, c.st)
			}
			lines := strings.Split(strings.TrimSpace(errBuf.String()), "\n")
			if len(c.want) == 0 {
				if errBuf.Len() != 0 {
					t.Fatalf("warned: %s", errBuf.String())
				}
				return
			}
			if len(lines) != len(c.want) {
				t.Fatalf("got %d warning lines, want %d:\n%s", len(lines), len(c.want), errBuf.String())
			}
			for i, w := range c.want {
				if !strings.Contains(lines[i], w) || !strings.Contains(lines[i], "level=WARN") || !strings.Contains(lines[i], "--insecure-transport") {
					t.Errorf("line %d = %q, want it to contain %q and the flag", i, lines[i], w)
				}
			}
		})
	}
}
