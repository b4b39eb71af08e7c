package testenv

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// MinIOServer is a MinIO server that lives in a directory of its own: its data in Dir/data, its
// output in Dir/minio.log. The shared one of `make up` (through the stackdb command) and the
// tests' private ones are started from it alike.
type MinIOServer struct {
	Dir      string
	Port     int
	User     string // the root user, MINIO_ROOT_USER
	Password string // MINIO_ROOT_PASSWORD
	CertsDir string // when set: public.crt and private.key, and the server speaks https
	// Settings are more MINIO_* variables (KEY=VALUE): a KMS key, an OpenID provider.
	Settings []string
}

// MinIOBinary is the minio that `make up` builds once with go install: $(go env GOPATH)/bin/minio.
func MinIOBinary() (string, error) {
	out, err := exec.Command("go", "env", "GOPATH").Output()
	if err != nil {
		return "", fmt.Errorf("go env GOPATH: %v", err)
	}
	bin := filepath.Join(strings.TrimSpace(string(out)), "bin", "minio")
	if _, err := os.Stat(bin); err != nil {
		return "", fmt.Errorf("%s is missing: run `make up` (it builds MinIO once)", bin)
	}
	return bin, nil
}

// Args are the arguments of `minio`.
func (s MinIOServer) Args() []string {
	args := []string{"server", "--quiet", "--address", "127.0.0.1:" + strconv.Itoa(s.Port)}
	if s.CertsDir != "" {
		args = append(args, "--certs-dir", s.CertsDir)
	}
	return append(args, s.Dir+"/data")
}

// Env is what MinIO's environment adds to the caller's: the root user, no browser, update
// check or call home, and Settings.
func (s MinIOServer) Env() []string {
	return append([]string{"MINIO_ROOT_USER=" + s.User, "MINIO_ROOT_PASSWORD=" + s.Password,
		"MINIO_BROWSER=off", "MINIO_UPDATE=off", "MINIO_CALLHOME_ENABLE=off"}, s.Settings...)
}

// Log is Dir/minio.log.
func (s MinIOServer) Log() string { return s.Dir + "/minio.log" }

// Endpoint is the server's URL.
func (s MinIOServer) Endpoint() string {
	scheme := "http"
	if s.CertsDir != "" {
		scheme = "https"
	}
	return fmt.Sprintf("%s://127.0.0.1:%d", scheme, s.Port)
}

// Command is the minio binary bin with Args, and Env after the environment of this process; not
// started.
func (s MinIOServer) Command(bin string) *exec.Cmd {
	cmd := exec.Command(bin, s.Args()...)
	cmd.Env = append(os.Environ(), s.Env()...)
	return cmd
}

// WaitReady waits up to d until /minio/health/ready answers 200 through hc (nil: the default
// client). alive says whether the process still runs; when it ended, WaitReady returns at once
// with the end of the log.
func (s MinIOServer) WaitReady(d time.Duration, alive func() bool, hc *http.Client) error {
	if hc == nil {
		hc = http.DefaultClient
	}
	deadline := time.Now().Add(d)
	for time.Now().Before(deadline) {
		resp, err := hc.Get(s.Endpoint() + "/minio/health/ready")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return nil
			}
		}
		if !alive() {
			b, _ := os.ReadFile(s.Log())
			return fmt.Errorf("MinIO in %s did not start (see %s):\n%s", s.Dir, s.Log(), Tail(string(b), 2000))
		}
		time.Sleep(100 * time.Millisecond)
	}
	return fmt.Errorf("MinIO did not become ready within %s (see %s)", d, s.Log())
}

// Client is an HTTP client for the server: the default one over http, and over https one
// that trusts the certificates of CertsDir/CAs (where MinIO itself finds the CAs it trusts).
func (s MinIOServer) Client() (*http.Client, error) {
	if s.CertsDir == "" {
		return http.DefaultClient, nil
	}
	pool := x509.NewCertPool()
	cas, _ := filepath.Glob(filepath.Join(s.CertsDir, "CAs", "*.crt"))
	for _, f := range cas {
		b, err := os.ReadFile(f)
		if err != nil {
			return nil, err
		}
		pool.AppendCertsFromPEM(b)
	}
	return &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{
		TLSClientConfig: &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}}}, nil
}
