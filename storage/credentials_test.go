package storage_test

import (
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/minio/minio-go/v7/pkg/credentials"

	"github.com/backupctl/backupctl/internal/testenv"
	"github.com/backupctl/backupctl/storage"
)

// keyless is c without static keys, for a test of another source of the chain.
func keyless(c storage.Config, env storage.CredentialEnv) storage.Config {
	c.AccessKey, c.SecretKey, c.SessionToken = "", "", ""
	c.CredEnv = env
	return c
}

// roundTrip opens c and puts and reads one object with it.
func roundTrip(t *testing.T, c storage.Config) {
	t.Helper()
	b, err := storage.Open(t.Context(), c)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	cleanupVersions(t, c)
	if _, err := b.Put(t.Context(), "creds/probe", strings.NewReader("hello"), 5); err != nil {
		t.Fatalf("Put: %v", err)
	}
	if _, err := b.Stat(t.Context(), "creds/probe"); err != nil {
		t.Fatalf("Stat: %v", err)
	}
}

// kubeToken is a service-account token of the local API server for audience, in a file.
func kubeToken(t *testing.T, audience string) string {
	t.Helper()
	kubectl := testenv.Get(t, "BACKUP_K8S_KUBECTL")
	testenv.Get(t, "KUBECONFIG")
	out, err := exec.Command(kubectl, "create", "token", "default", "-n", "default", "--audience", audience, "--duration", "10m").Output()
	if err != nil {
		t.Fatalf("kubectl create token: %v", err)
	}
	f := filepath.Join(t.TempDir(), "token")
	if err := os.WriteFile(f, out, 0o600); err != nil {
		t.Fatal(err)
	}
	return f
}

// TestCredentialSources opens the TLS MinIO through every source of the chain that can be
// exercised here, each with no static keys: web identity through the local API server as
// the OpenID provider, a session token, the shared credentials file, an EKS Pod Identity
// endpoint and an instance metadata endpoint (both fakes on loopback that hand out keys).
func TestCredentialSources(t *testing.T) {
	c, s, ok := tlsConfig(t, plainBucket)
	if !ok {
		return
	}
	t.Run("web identity", func(t *testing.T) {
		roundTrip(t, keyless(c, storage.CredentialEnv{WebIdentityTokenFile: kubeToken(t, s.Audience), RoleARN: s.RoleARN}))
	})
	t.Run("web identity, STS endpoint given", func(t *testing.T) {
		wc := keyless(c, storage.CredentialEnv{WebIdentityTokenFile: kubeToken(t, s.Audience), RoleARN: s.RoleARN})
		wc.STSEndpoint = s.Endpoint
		roundTrip(t, wc)
	})
	t.Run("session token", func(t *testing.T) {
		v := assumeRole(t, c)
		sc := c
		sc.AccessKey, sc.SecretKey, sc.SessionToken = v.AccessKeyID, v.SecretAccessKey, v.SessionToken
		roundTrip(t, sc)
		// The temporary keys are nothing without their token.
		sc.SessionToken = ""
		_, err := storage.Open(t.Context(), sc)
		checkConfigError(t, err, "rejected", "AWS_ACCESS_KEY_ID", "AWS_SESSION_TOKEN")
		checkSecretFree(t, err, v.SecretAccessKey, v.SessionToken)
	})
	t.Run("shared file", func(t *testing.T) {
		f := filepath.Join(t.TempDir(), "credentials")
		ini := fmt.Sprintf("[default]\naws_access_key_id = nobody\naws_secret_access_key = wrong\n\n[backupctl]\naws_access_key_id = %s\naws_secret_access_key = %s\n", s.User, s.Password)
		if err := os.WriteFile(f, []byte(ini), 0o600); err != nil {
			t.Fatal(err)
		}
		roundTrip(t, keyless(c, storage.CredentialEnv{SharedFile: f, Profile: "backupctl"}))
		_, err := storage.Open(t.Context(), keyless(c, storage.CredentialEnv{SharedFile: f, Profile: "absent"}))
		checkConfigError(t, err, "shared credentials file", "absent", "AWS_PROFILE")
		_, err = storage.Open(t.Context(), keyless(c, storage.CredentialEnv{SharedFile: f}))
		checkConfigError(t, err, "rejected", "shared credentials file", `"default"`)
	})
	t.Run("pod identity", func(t *testing.T) {
		tokenFile := filepath.Join(t.TempDir(), "eks-token")
		if err := os.WriteFile(tokenFile, []byte("pod-token-1234\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		agent := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.Header.Get("Authorization") != "pod-token-1234" {
				http.Error(w, "bad token", http.StatusUnauthorized)
				return
			}
			json.NewEncoder(w).Encode(map[string]any{"AccessKeyId": s.User, "SecretAccessKey": s.Password,
				"Token": "", "Expiration": time.Now().Add(time.Hour)})
		}))
		t.Cleanup(agent.Close)
		roundTrip(t, keyless(c, storage.CredentialEnv{ContainerURI: agent.URL + "/v1/credentials", ContainerTokenFile: tokenFile}))
		// The agent refuses a pod without its token.
		_, err := storage.Open(t.Context(), keyless(c, storage.CredentialEnv{ContainerURI: agent.URL + "/v1/credentials"}))
		checkConfigError(t, err, "EKS Pod Identity", "401")
	})
	t.Run("instance metadata", func(t *testing.T) {
		imds := fakeMetadata(t, s.User, s.Password)
		roundTrip(t, keyless(c, storage.CredentialEnv{MetadataEndpoint: imds.URL}))
	})
}

// assumeRole gets temporary credentials of the root user from MinIO's STS.
func assumeRole(t *testing.T, c storage.Config) credentials.Value {
	t.Helper()
	pool, err := storage.LoadCAFile(c.CAFile)
	if err != nil {
		t.Fatal(err)
	}
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.TLSClientConfig.RootCAs = pool
	cr, err := credentials.NewSTSAssumeRole(c.URL, credentials.STSAssumeRoleOptions{AccessKey: c.AccessKey, SecretKey: c.SecretKey, Location: c.Region})
	if err != nil {
		t.Fatal(err)
	}
	v, err := cr.GetWithContext(&credentials.CredContext{Client: &http.Client{Transport: tr}})
	if err != nil {
		t.Fatalf("AssumeRole: %v", err)
	}
	if v.SessionToken == "" {
		t.Fatal("AssumeRole gave no session token")
	}
	return v
}

// fakeMetadata is an EC2 instance metadata service (IMDSv2) on loopback with one role.
func fakeMetadata(t *testing.T, key, secret string) *httptest.Server {
	t.Helper()
	const token = "imds-session-token"
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch {
		case r.Method == http.MethodPut && r.URL.Path == "/latest/api/token":
			fmt.Fprint(w, token)
		case r.Header.Get("X-aws-ec2-metadata-token") != token:
			http.Error(w, "no session", http.StatusUnauthorized)
		case r.URL.Path == "/latest/meta-data/iam/security-credentials/":
			fmt.Fprint(w, "backupctl-role\n")
		case r.URL.Path == "/latest/meta-data/iam/security-credentials/backupctl-role":
			json.NewEncoder(w).Encode(map[string]any{"Code": "Success", "AccessKeyId": key, "SecretAccessKey": secret,
				"Token": "", "Expiration": time.Now().Add(time.Hour)})
		default:
			http.NotFound(w, r)
		}
	}))
	t.Cleanup(srv.Close)
	return srv
}

// TestCredentialFailures: a bad token, a role without access and a missing token file each
// fail Open with one line that names the source and the setting and prints no secret.
func TestCredentialFailures(t *testing.T) {
	c, s, ok := tlsConfig(t, plainBucket)
	if !ok {
		return
	}
	garbage := filepath.Join(t.TempDir(), "garbage")
	if err := os.WriteFile(garbage, []byte("eyJhbGciOiJSUzI1NiJ9.not-a-token.sig"), 0o600); err != nil {
		t.Fatal(err)
	}
	wrongAudience := kubeToken(t, "someone-else")
	for _, tc := range []struct {
		name string
		env  storage.CredentialEnv
		want []string
	}{
		{"invalid token", storage.CredentialEnv{WebIdentityTokenFile: garbage, RoleARN: s.RoleARN},
			[]string{"web identity", "AWS_WEB_IDENTITY_TOKEN_FILE"}},
		{"token for another audience", storage.CredentialEnv{WebIdentityTokenFile: wrongAudience, RoleARN: s.RoleARN},
			[]string{"web identity", "AWS_WEB_IDENTITY_TOKEN_FILE"}},
		{"missing token file", storage.CredentialEnv{WebIdentityTokenFile: garbage + ".absent", RoleARN: s.RoleARN},
			[]string{"web identity", "no such file"}},
		{"role without access", storage.CredentialEnv{WebIdentityTokenFile: kubeToken(t, s.DeniedAudience), RoleARN: s.DeniedRoleARN},
			[]string{"denied access", "web identity", "AWS_ROLE_ARN"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := storage.Open(t.Context(), keyless(c, tc.env))
			checkConfigError(t, err, tc.want...)
			tok, _ := os.ReadFile(tc.env.WebIdentityTokenFile)
			checkSecretFree(t, err, strings.TrimSpace(string(tok)), s.Password)
		})
	}
}

// TestNoCredentialsStaysOnLoopback: with no credentials at all, Open fails at once with a
// message naming what to set, and every address it dialed is on loopback (the metadata
// endpoint of the tests); nothing is sent to the link-local metadata address or the internet.
func TestNoCredentialsStaysOnLoopback(t *testing.T) {
	c, _, ok := tlsConfig(t, plainBucket)
	if !ok {
		return
	}
	closed := "http://" + testenv.FreeAddr(t)
	var mu sync.Mutex
	var dialed []string
	storage.SetDialObserver(func(_, addr string) {
		mu.Lock()
		defer mu.Unlock()
		dialed = append(dialed, addr)
	})
	t.Cleanup(func() { storage.SetDialObserver(nil) })

	start := time.Now()
	_, err := storage.Open(t.Context(), keyless(c, storage.CredentialEnv{MetadataEndpoint: closed}))
	took := time.Since(start)
	checkConfigError(t, err, "no S3 credentials", "instance metadata", closed, "AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY", "AWS_WEB_IDENTITY_TOKEN_FILE")
	if took > 5*time.Second {
		t.Errorf("took %s to fail", took)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(dialed) == 0 {
		t.Fatal("no dial seen: the observer proves nothing")
	}
	for _, a := range dialed {
		host, _, _ := net.SplitHostPort(a)
		if ip := net.ParseIP(host); ip == nil || !ip.IsLoopback() {
			t.Errorf("dialed %s, not loopback", a)
		}
	}
	u, _ := url.Parse(closed)
	t.Logf("dialed %q (metadata %s) in %s: %v", dialed, u.Host, took, err)
}

// TestWebIdentityExpiredToken: an STS that answers that the token expired (as AWS does; the
// local API server issues no token shorter than ten minutes) fails Open with one line naming
// the source and the reason, not the token. The STS is a fake on loopback.
func TestWebIdentityExpiredToken(t *testing.T) {
	const token = "eyJhbGciOiJSUzI1NiJ9.eyJleHAiOjF9.expired-token-signature"
	sts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.ParseForm() != nil || r.Form.Get("WebIdentityToken") != token {
			http.Error(w, "unexpected request", http.StatusBadRequest)
			return
		}
		w.WriteHeader(http.StatusBadRequest)
		fmt.Fprint(w, `<ErrorResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><Error><Type>Sender</Type>`+
			`<Code>ExpiredTokenException</Code><Message>Token expired: current date/time 1795939971 must be before the expiration date/time 1</Message></Error></ErrorResponse>`)
	}))
	t.Cleanup(sts.Close)
	f := filepath.Join(t.TempDir(), "token")
	if err := os.WriteFile(f, []byte(token), 0o600); err != nil {
		t.Fatal(err)
	}
	c := storage.Config{URL: "https://127.0.0.1:1", Bucket: "backups", Region: "us-east-1", STSEndpoint: sts.URL,
		CredEnv: storage.CredentialEnv{WebIdentityTokenFile: f, RoleARN: "arn:aws:iam::1:role/backup"}}
	_, err := storage.Open(t.Context(), c)
	checkConfigError(t, err, "web identity", "AWS_WEB_IDENTITY_TOKEN_FILE", "Token expired")
	checkSecretFree(t, err, token)
}
