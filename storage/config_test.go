package storage_test

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/backupctl/backupctl/storage"
)

// TestOpenRefusesBadConfig needs no server: every check here runs before a request.
func TestOpenRefusesBadConfig(t *testing.T) {
	dir := t.TempDir()
	notPEM := filepath.Join(dir, "not.pem")
	if err := os.WriteFile(notPEM, []byte("hello"), 0o600); err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(dir, "file")
	if err := os.WriteFile(file, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	s3 := storage.Config{URL: "http://127.0.0.1:1", Bucket: "backups", Region: "us-east-1", AccessKey: "k", SecretKey: "s"}
	for _, tc := range []struct {
		name   string
		change func(*storage.Config)
		want   []string
	}{
		{"no URL", func(c *storage.Config) { c.URL = "" }, []string{"--s3-endpoint", "--to"}},
		{"bad scheme", func(c *storage.Config) { c.URL = "ftp://host" }, []string{"http or https", "--s3-endpoint"}},
		{"endpoint with path", func(c *storage.Config) { c.URL = "http://host:9000/bucket" }, []string{"--s3-endpoint", "no path"}},
		{"endpoint with user", func(c *storage.Config) { c.URL = "http://me:pw@host:9000" }, []string{"--s3-endpoint"}},
		{"no bucket", func(c *storage.Config) { c.Bucket = "" }, []string{"--bucket"}},
		{"bad bucket", func(c *storage.Config) { c.Bucket = "Backups_1" }, []string{"--bucket"}},
		// The chain ends at the instance metadata service: here a closed loopback port.
		{"no keys", func(c *storage.Config) {
			c.AccessKey, c.SecretKey, c.CredEnv = "", "", storage.CredentialEnv{MetadataEndpoint: "http://127.0.0.1:1"}
		}, []string{"instance metadata", "AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY", "AWS_WEB_IDENTITY_TOKEN_FILE"}},
		{"no secret", func(c *storage.Config) { c.SecretKey = "" }, []string{"AWS_SECRET_ACCESS_KEY"}},
		{"no access key", func(c *storage.Config) { c.AccessKey = "" }, []string{"AWS_ACCESS_KEY_ID"}},
		{"small part", func(c *storage.Config) { c.PartSize = 1 << 20 }, []string{"--s3-part-size", "1 MiB", "5 MiB"}},
		{"part under 5 MiB", func(c *storage.Config) { c.PartSize = storage.MinPartSize - 1 }, []string{"--s3-part-size", "5242879 bytes"}},
		{"huge part", func(c *storage.Config) { c.PartSize = 6 << 30 }, []string{"--s3-part-size"}},
		{"too many parts", func(c *storage.Config) { c.MaxParts = 10001 }, []string{"max parts"}},
		{"bad concurrency", func(c *storage.Config) { c.Concurrency = -1 }, []string{"concurrency"}},
		{"prefix with ..", func(c *storage.Config) { c.Prefix = "backups/../other" }, []string{"--prefix", `".."`}},
		{"prefix ..", func(c *storage.Config) { c.Prefix = ".." }, []string{"--prefix"}},
		{"absolute prefix", func(c *storage.Config) { c.Prefix = "/backups" }, []string{"--prefix", "/"}},
		{"prefix with //", func(c *storage.Config) { c.Prefix = "a//b" }, []string{"--prefix"}},
		{"CA file over http", func(c *storage.Config) { c.CAFile = notPEM }, []string{"--s3-ca-file", "plain http"}},
		{"missing CA file", func(c *storage.Config) { c.URL = "https://127.0.0.1:1"; c.CAFile = filepath.Join(dir, "nope.pem") }, []string{"--s3-ca-file", "no such file"}},
		{"CA file not PEM", func(c *storage.Config) { c.URL = "https://127.0.0.1:1"; c.CAFile = notPEM }, []string{"--s3-ca-file", "no PEM certificate"}},
		{"relative file URL", func(c *storage.Config) { c.URL = "file://relative/dir" }, []string{"--to", "file:///absolute/dir"}},
		{"file URL opaque", func(c *storage.Config) { c.URL = "file:relative" }, []string{"--to"}},
		{"missing dir", func(c *storage.Config) { c.URL = "file://" + filepath.Join(dir, "nope") }, []string{"does not exist", "--to", "create it first"}},
		{"file not dir", func(c *storage.Config) { c.URL = "file://" + file }, []string{"not a directory", "--to"}},
		{"file prefix with ..", func(c *storage.Config) { c.URL = "file://" + dir; c.Prefix = "../escape" }, []string{"--prefix"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := s3
			tc.change(&c)
			_, err := storage.Open(t.Context(), c)
			checkConfigError(t, err, tc.want...)
		})
	}
}

func TestOpenUnreachable(t *testing.T) {
	addr := closedPort(t)
	c := storage.Config{URL: "http://" + addr, Bucket: "backups", Region: "us-east-1", AccessKey: "k", SecretKey: "s"}
	_, err := storage.Open(t.Context(), c)
	checkConfigError(t, err, "cannot reach S3 endpoint http://"+addr+" (--s3-endpoint / BACKUP_S3_ENDPOINT)", "connection refused")
}

func TestConfigStringHidesSecret(t *testing.T) {
	c := storage.Config{URL: "http://h:9000", Bucket: "b", AccessKey: "AKIDEXAMPLE", SecretKey: "wJalrXUtnFEMI-very-secret"}
	for _, verb := range []string{"%v", "%+v", "%#v", "%s"} {
		if s := fmt.Sprintf(verb, c); strings.Contains(s, c.SecretKey) || !strings.Contains(s, "http://h:9000") {
			t.Errorf("Sprintf(%s, config) = %s", verb, s)
		}
	}
}

func TestOpenLocalPrefixes(t *testing.T) {
	dir := t.TempDir()
	for _, prefix := range []string{"", "a", "a/b/", "a/b"} {
		b, err := storage.Open(t.Context(), storage.Config{URL: "file://" + dir, Prefix: prefix})
		if err != nil {
			t.Fatalf("Open with prefix %q: %v", prefix, err)
		}
		if _, err := b.Put(t.Context(), "k", strings.NewReader("v"), 1); err != nil {
			t.Fatal(err)
		}
		want := filepath.Join(dir, filepath.FromSlash(strings.TrimSuffix(prefix, "/")), "k")
		if _, err := os.Stat(want); err != nil {
			t.Errorf("prefix %q: object not at %s: %v", prefix, want, err)
		}
	}
}
