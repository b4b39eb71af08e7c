package storage_test

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/backupctl/backupctl/storage"
)

// The access key and secret a careless user puts in the endpoint URL. Neither may show up in
// any message.
const (
	leakKey    = "AKIDLEAKEDKEY"
	leakSecret = "wJalrLEAKEDsecret"
)

// checkNoCredentials fails when err is nil, is not a one-line ErrConfig, or quotes the key or
// the secret.
func checkNoCredentials(t *testing.T, err error, want ...string) {
	t.Helper()
	if err == nil {
		t.Fatal("no error; want one refusing the credentials")
	}
	msg := err.Error()
	t.Logf("error: %s", msg)
	if !errors.Is(err, storage.ErrConfig) {
		t.Errorf("error %q does not match ErrConfig", msg)
	}
	if strings.Contains(msg, "\n") {
		t.Errorf("error spans lines: %q", msg)
	}
	for _, leak := range []string{leakKey, leakSecret, "LEAKED"} {
		if strings.Contains(msg, leak) {
			t.Errorf("error quotes %q: %s", leak, msg)
		}
	}
	for _, w := range want {
		if !strings.Contains(msg, w) {
			t.Errorf("error %q does not say %q", msg, w)
		}
	}
}

// TestEndpointCredentialsRefused: an endpoint with user info is refused before anything is
// built, with a message that says where the keys belong and never quotes them, even when the
// URL does not parse.
func TestEndpointCredentialsRefused(t *testing.T) {
	creds := leakKey + ":" + leakSecret
	for _, tc := range []struct{ name, url string }{
		{"https", "https://" + creds + "@s3.example.com"},
		{"http with port", "http://" + creds + "@127.0.0.1:9000"},
		{"key only", "https://" + leakKey + "@s3.example.com"},
		{"secret with slash", "https://" + leakKey + ":" + leakSecret + "/x@s3.example.com"},
		{"secret with hash", "https://" + leakKey + ":" + leakSecret + "#x@s3.example.com"},
		{"bad escape", "https://" + leakKey + ":" + leakSecret + "%zz@s3.example.com"},
		{"bad port", "https://" + creds + "@s3.example.com:port"},
		{"bad IPv6 host", "http://" + creds + "@[::1"},
		{"control character", "https://" + creds + "\x7f@s3.example.com"},
		{"no scheme", creds + "@s3.example.com"},
		{"file", "file://" + creds + "@/backups"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			checkNoCredentials(t, storage.CheckEndpoint(tc.url),
				"must not hold credentials", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "Secret")
			c := storage.Config{URL: tc.url, Bucket: "backups", AccessKey: "k", SecretKey: "s"}
			_, err := storage.Open(t.Context(), c)
			checkNoCredentials(t, err, "must not hold credentials")
			for _, verb := range []string{"%v", "%+v", "%#v", "%s"} {
				if s := fmt.Sprintf(verb, c); strings.Contains(s, "LEAKED") {
					t.Errorf("Sprintf(%s, config) = %s", verb, s)
				}
			}
		})
	}
}

// TestMalformedURLNotQuotedRaw: a URL that url.Parse rejects is quoted redacted, and without
// url.Error's copy of the raw text.
func TestMalformedURLNotQuotedRaw(t *testing.T) {
	_, err := storage.Open(t.Context(), storage.Config{URL: "http://[::1%zz", Bucket: "backups", AccessKey: "k", SecretKey: "s"})
	if err == nil || !errors.Is(err, storage.ErrConfig) {
		t.Fatalf("Open(malformed) = %v, want a configuration error", err)
	}
	if n := strings.Count(err.Error(), "[::1%zz"); n != 1 {
		t.Errorf("error quotes the URL %d times, want once: %s", n, err)
	}
}

func TestEndpointWithoutCredentials(t *testing.T) {
	for _, u := range []string{"", "http://127.0.0.1:9000", "https://s3.eu-central-1.amazonaws.com", "file:///backups/a@b"} {
		if err := storage.CheckEndpoint(u); err != nil {
			t.Errorf("CheckEndpoint(%q) = %v", u, err)
		}
	}
}

func TestRedactURL(t *testing.T) {
	for in, want := range map[string]string{
		"https://k:s@host":      "https://REDACTED@host",
		"https://k:s/x@y@host/": "https://REDACTED@host/",
		"k:s@host":              "REDACTED@host",
		"http://host:9000":      "http://host:9000",
	} {
		if got := storage.RedactURL(in); got != want {
			t.Errorf("RedactURL(%q) = %q, want %q", in, got, want)
		}
	}
}
