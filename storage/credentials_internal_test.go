package storage

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/minio/minio-go/v7/pkg/credentials"
)

// TestCredentialOrder: the chain takes the first source whose settings are present, in the
// standard order, and never a later one when an earlier one is there (even if it will fail).
func TestCredentialOrder(t *testing.T) {
	all := Config{AccessKey: "k", SecretKey: "s", CredEnv: CredentialEnv{
		WebIdentityTokenFile: "/token", RoleARN: "arn:role", SharedFile: "/creds",
		ContainerURI: "http://127.0.0.1:1/creds", MetadataEndpoint: "http://127.0.0.1:2"}}
	steps := []struct {
		drop func(*Config)
		want string
	}{
		{func(*Config) {}, "static keys"},
		{func(c *Config) { c.AccessKey, c.SecretKey = "", "" }, "web identity"},
		{func(c *Config) { c.CredEnv.WebIdentityTokenFile, c.CredEnv.RoleARN = "", "" }, "the shared credentials file /creds"},
		{func(c *Config) { c.CredEnv.SharedFile = "" }, "EKS Pod Identity"},
		{func(c *Config) { c.CredEnv.ContainerURI = "" }, "the instance metadata service at http://127.0.0.1:2"},
	}
	c := all
	for _, s := range steps {
		s.drop(&c)
		src, err := chooseCredentials(c, "https://s3.example", http.DefaultClient)
		if err != nil {
			t.Fatalf("%s: %v", s.want, err)
		}
		if !strings.HasPrefix(src.name, s.want) {
			t.Errorf("chose %q, want %q", src.name, s.want)
		}
	}
	// The metadata endpoint defaults to the link-local address, which only a cloud VM answers.
	src, _ := chooseCredentials(Config{}, "https://s3.example", http.DefaultClient)
	if !strings.Contains(src.name, DefaultMetadataEndpoint) {
		t.Errorf("no settings at all chose %q", src.name)
	}
	// Half a source is an error naming the missing half, not a fall through to the next.
	for _, c := range []Config{
		{AccessKey: "k"},
		{CredEnv: CredentialEnv{RoleARN: "arn:role", SharedFile: "/creds"}},
		{CredEnv: CredentialEnv{WebIdentityTokenFile: "/token", SharedFile: "/creds"}},
	} {
		if _, err := chooseCredentials(c, "https://s3.example", http.DefaultClient); err == nil {
			t.Errorf("%v: half a source accepted", c)
		}
	}
}

// TestSTSEndpoint: AWS's regional STS for AWS, the S3 endpoint itself elsewhere, the setting
// when given.
func TestSTSEndpoint(t *testing.T) {
	for _, tc := range []struct {
		c        Config
		endpoint string
		want     string
	}{
		{Config{Region: "eu-west-1"}, "https://s3.eu-west-1.amazonaws.com", "https://sts.eu-west-1.amazonaws.com"},
		{Config{}, "https://127.0.0.1:9000", "https://127.0.0.1:9000"},
		{Config{STSEndpoint: "https://sts.example:8443"}, "https://s3.example", "https://sts.example:8443"},
	} {
		if got, err := stsEndpoint(tc.c, tc.endpoint); err != nil || got != tc.want {
			t.Errorf("stsEndpoint(%+v, %s) = %q, %v; want %q", tc.c, tc.endpoint, got, err, tc.want)
		}
	}
}

// TestWebIdentityRefresh: temporary credentials are fetched again before they expire, each time
// with the token file as it is then (a projected token is rotated).
func TestWebIdentityRefresh(t *testing.T) {
	var mu sync.Mutex
	var tokens []string
	sts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := r.ParseForm(); err != nil || r.Form.Get("Action") != "AssumeRoleWithWebIdentity" {
			http.Error(w, "bad request", http.StatusBadRequest)
			return
		}
		mu.Lock()
		tokens = append(tokens, r.Form.Get("WebIdentityToken"))
		n := len(tokens)
		mu.Unlock()
		fmt.Fprintf(w, `<AssumeRoleWithWebIdentityResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><AssumeRoleWithWebIdentityResult><Credentials>
<AccessKeyId>key%d</AccessKeyId><SecretAccessKey>secret</SecretAccessKey><SessionToken>session</SessionToken>
<Expiration>%s</Expiration></Credentials></AssumeRoleWithWebIdentityResult></AssumeRoleWithWebIdentityResponse>`,
			n, time.Now().Add(2*time.Second).UTC().Format(time.RFC3339))
	}))
	t.Cleanup(sts.Close)
	file := filepath.Join(t.TempDir(), "token")
	write := func(s string) {
		if err := os.WriteFile(file, []byte(s), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write("token-1")
	src, err := chooseCredentials(Config{STSEndpoint: sts.URL, CredEnv: CredentialEnv{WebIdentityTokenFile: file, RoleARN: "arn:role"}},
		"https://s3.example", http.DefaultClient)
	if err != nil {
		t.Fatal(err)
	}
	get := func() string {
		v, err := src.creds.GetWithContext(&credentials.CredContext{Client: http.DefaultClient})
		if err != nil {
			t.Fatal(err)
		}
		return v.AccessKeyID
	}
	if k1, k2 := get(), get(); k1 != "key1" || k2 != "key1" {
		t.Errorf("before expiry: %s, %s; want key1 twice (no new request)", k1, k2)
	}
	write("token-2")
	time.Sleep(2 * time.Second) // past 80% of the lifetime: the refresh is due
	if k := get(); k != "key2" {
		t.Errorf("after expiry: %s, want key2", k)
	}
	mu.Lock()
	defer mu.Unlock()
	if strings.Join(tokens, ",") != "token-1,token-2" {
		t.Errorf("tokens sent: %q", tokens)
	}
}
