package storage

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/minio/minio-go/v7/pkg/credentials"
)

// The environment of the credential chain, as the AWS SDKs name it.
const (
	EnvAccessKey          = "AWS_ACCESS_KEY_ID"
	EnvSecretKey          = "AWS_SECRET_ACCESS_KEY"
	EnvSessionToken       = "AWS_SESSION_TOKEN"
	EnvWebIdentityToken   = "AWS_WEB_IDENTITY_TOKEN_FILE"
	EnvRoleARN            = "AWS_ROLE_ARN"
	EnvRoleSessionName    = "AWS_ROLE_SESSION_NAME"
	EnvSharedCredentials  = "AWS_SHARED_CREDENTIALS_FILE"
	EnvProfile            = "AWS_PROFILE"
	EnvContainerURI       = "AWS_CONTAINER_CREDENTIALS_FULL_URI"
	EnvContainerTokenFile = "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE"
	// EnvMetadataEndpoint names the instance metadata service (default DefaultMetadataEndpoint);
	// tests point it at loopback so that no run ever reaches the link-local address.
	EnvMetadataEndpoint = "BACKUP_S3_METADATA_ENDPOINT"
)

// DefaultMetadataEndpoint is the instance metadata service of EC2 and its imitators.
const DefaultMetadataEndpoint = "http://169.254.169.254"

const settingSTSEndpoint = "--s3-sts-endpoint / BACKUP_S3_STS_ENDPOINT"

// metadataTimeout bounds the last resort of the chain: off a cloud VM the metadata address
// does not answer, and a run without credentials should say so at once, not hang.
const metadataTimeout = 5 * time.Second

// CredentialEnv is where S3 credentials come from besides static keys (Config.AccessKey and
// SecretKey): the environment of the standard chain. None of it is secret: the secrets are in
// the files and services it names.
type CredentialEnv struct {
	WebIdentityTokenFile string // AWS_WEB_IDENTITY_TOKEN_FILE
	RoleARN              string // AWS_ROLE_ARN
	RoleSessionName      string // AWS_ROLE_SESSION_NAME
	SharedFile           string // AWS_SHARED_CREDENTIALS_FILE, else ~/.aws/credentials if it exists
	Profile              string // AWS_PROFILE
	ContainerURI         string // AWS_CONTAINER_CREDENTIALS_FULL_URI (EKS Pod Identity)
	ContainerTokenFile   string // AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE
	MetadataEndpoint     string // BACKUP_S3_METADATA_ENDPOINT, else DefaultMetadataEndpoint
}

// CredentialEnvFromOS reads the chain's environment of this process.
func CredentialEnvFromOS() CredentialEnv {
	e := CredentialEnv{
		WebIdentityTokenFile: os.Getenv(EnvWebIdentityToken),
		RoleARN:              os.Getenv(EnvRoleARN),
		RoleSessionName:      os.Getenv(EnvRoleSessionName),
		SharedFile:           os.Getenv(EnvSharedCredentials),
		Profile:              os.Getenv(EnvProfile),
		ContainerURI:         os.Getenv(EnvContainerURI),
		ContainerTokenFile:   os.Getenv(EnvContainerTokenFile),
		MetadataEndpoint:     os.Getenv(EnvMetadataEndpoint),
	}
	if e.SharedFile == "" {
		if home, err := os.UserHomeDir(); err == nil {
			if f := filepath.Join(home, ".aws", "credentials"); fileExists(f) {
				e.SharedFile = f
			}
		}
	}
	return e
}

func fileExists(name string) bool {
	st, err := os.Stat(name)
	return err == nil && st.Mode().IsRegular()
}

// credSource is the first source of the chain whose settings are present.
type credSource struct {
	name   string // for messages: "web identity (AWS_WEB_IDENTITY_TOKEN_FILE, AWS_ROLE_ARN)"
	static bool
	// lastResort marks the instance metadata service, tried when nothing else was set.
	lastResort bool
	creds      *credentials.Credentials
}

// what names, for a message, what S3 rejected or denied.
func (s credSource) what() string {
	if s.static {
		return "the access keys (" + strings.TrimSuffix(strings.TrimPrefix(s.name, "static keys ("), ")") + ")"
	}
	return "the credentials from " + s.name
}

// fetch gets the credentials once, within pctx, so that a failure is a message naming the
// source (ctx is the caller's: its end is reported as such).
func (s credSource) fetch(ctx, pctx context.Context, hc *http.Client, endpoint string) error {
	_, err := s.creds.GetWithContext(&credentials.CredContext{Client: hc, Endpoint: endpoint, Context: pctx})
	switch {
	case err == nil:
		return nil
	case ctx.Err() != nil:
		return fmt.Errorf("get S3 credentials: %w", err)
	}
	ce := &configError{msg: (&credError{source: s.name, err: err}).Error(), cause: err}
	if s.lastResort {
		// Nothing answering at the metadata address means no credentials were set up: a
		// setting to fix, not a blip to retry.
		ce.cause = nil
	}
	return ce
}

// credError is a failure to get credentials from one source: it names the source and the
// reason, never a secret.
type credError struct {
	source string
	err    error
}

func (e *credError) Error() string {
	return fmt.Sprintf("no S3 credentials from %s: %s", e.source, oneLine(e.err.Error()))
}

func (e *credError) Unwrap() error { return e.err }

// chooseCredentials picks, in the standard order, the first source whose settings are
// present; each later one is tried only when every earlier one is absent:
// static keys, web identity, the shared credentials file, EKS Pod Identity, instance metadata.
func chooseCredentials(c Config, endpoint string, hc *http.Client) (credSource, error) {
	e := c.CredEnv
	switch {
	case c.AccessKey != "" || c.SecretKey != "":
		src := "static keys (" + settingKeys + ")"
		switch {
		case c.AccessKey == "":
			return credSource{}, configErrorf("no S3 access key: set %s (%s is set)", settingAccessKey, settingSecretKey)
		case c.SecretKey == "":
			return credSource{}, configErrorf("no S3 secret key: set %s (%s is set)", settingSecretKey, settingAccessKey)
		}
		if c.SessionToken != "" {
			src = "static keys (" + settingKeys + ", " + EnvSessionToken + ")"
		}
		return credSource{name: src, static: true, creds: credentials.NewStaticV4(c.AccessKey, c.SecretKey, c.SessionToken)}, nil

	case e.WebIdentityTokenFile != "" || e.RoleARN != "":
		src := "web identity (" + EnvWebIdentityToken + ", " + EnvRoleARN + ")"
		switch {
		case e.WebIdentityTokenFile == "":
			return credSource{}, configErrorf("web identity: %s is set but %s is not", EnvRoleARN, EnvWebIdentityToken)
		case e.RoleARN == "":
			return credSource{}, configErrorf("web identity: %s is set but %s is not", EnvWebIdentityToken, EnvRoleARN)
		}
		sts, err := stsEndpoint(c, endpoint)
		if err != nil {
			return credSource{}, err
		}
		file := e.WebIdentityTokenFile
		p := &credentials.STSWebIdentity{
			Client:      hc,
			STSEndpoint: sts,
			RoleARN:     e.RoleARN,
			// Read on every refresh: a projected token is rotated by the kubelet.
			GetWebIDTokenExpiry: func() (*credentials.WebIdentityToken, error) {
				tok, err := os.ReadFile(file)
				if err != nil {
					return nil, fmt.Errorf("read the token file: %w", err)
				}
				return &credentials.WebIdentityToken{Token: strings.TrimSpace(string(tok))}, nil
			},
		}
		return credSource{name: src + " through STS at " + RedactURL(sts), creds: credentials.New(p)}, nil

	case e.SharedFile != "":
		profile := e.Profile
		if profile == "" {
			profile = "default"
		}
		src := fmt.Sprintf("the shared credentials file %s, profile %q (%s, %s)", e.SharedFile, profile, EnvSharedCredentials, EnvProfile)
		return credSource{name: src, creds: credentials.New(&sharedFile{credentials.FileAWSCredentials{Filename: e.SharedFile, Profile: profile}})}, nil

	case e.ContainerURI != "":
		src := "EKS Pod Identity (" + EnvContainerURI + ", " + EnvContainerTokenFile + ")"
		return credSource{name: src, creds: credentials.New(&containerCreds{uri: e.ContainerURI, tokenFile: e.ContainerTokenFile, client: hc})}, nil
	}
	ep := e.MetadataEndpoint
	if ep == "" {
		ep = DefaultMetadataEndpoint
	}
	mc := *hc
	mc.Timeout = metadataTimeout
	src := fmt.Sprintf("the instance metadata service at %s (%s), the last resort: set %s, or %s and %s",
		ep, EnvMetadataEndpoint, settingKeys, EnvWebIdentityToken, EnvRoleARN)
	return credSource{name: src, creds: credentials.New(&credentials.IAM{Client: &mc, Endpoint: ep}), lastResort: true}, nil
}

// stsEndpoint is --s3-sts-endpoint, else AWS's regional STS for an AWS endpoint, else the S3
// endpoint itself (MinIO and most S3-compatible stores serve STS where they serve S3).
func stsEndpoint(c Config, endpoint string) (string, error) {
	if c.STSEndpoint != "" {
		u, err := url.Parse(c.STSEndpoint)
		if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || u.User != nil {
			return "", configErrorf("STS endpoint %q (%s) must be http(s)://host[:port]", RedactURL(c.STSEndpoint), settingSTSEndpoint)
		}
		return c.STSEndpoint, nil
	}
	u, _ := url.Parse(endpoint)
	if u != nil && strings.HasSuffix(u.Hostname(), ".amazonaws.com") {
		region := c.Region
		if region == "" {
			region = "us-east-1"
		}
		return "https://sts." + region + ".amazonaws.com", nil
	}
	return endpoint, nil
}

// sharedFile refuses a profile without keys, which minio-go would hand on as anonymous
// credentials, and keeps the file's contents out of its messages.
type sharedFile struct{ credentials.FileAWSCredentials }

func (s *sharedFile) RetrieveWithCredContext(cc *credentials.CredContext) (credentials.Value, error) {
	v, err := s.FileAWSCredentials.RetrieveWithCredContext(cc)
	if err != nil {
		return v, err
	}
	if v.AccessKeyID == "" || v.SecretAccessKey == "" {
		return credentials.Value{}, errors.New("the profile holds no aws_access_key_id and aws_secret_access_key")
	}
	return v, nil
}

func (s *sharedFile) Retrieve() (credentials.Value, error) { return s.RetrieveWithCredContext(nil) }

// containerCreds asks the EKS Pod Identity agent (or an ECS-style endpoint) for credentials,
// with the token of the token file as its authorization; refreshed before they expire.
type containerCreds struct {
	credentials.Expiry
	uri, tokenFile string
	client         *http.Client
}

func (p *containerCreds) Retrieve() (credentials.Value, error) { return p.RetrieveWithCredContext(nil) }

func (p *containerCreds) RetrieveWithCredContext(cc *credentials.CredContext) (credentials.Value, error) {
	ctx := context.Background()
	if cc != nil && cc.Context != nil {
		ctx = cc.Context
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, p.uri, nil)
	if err != nil {
		return credentials.Value{}, fmt.Errorf("%s: %w", EnvContainerURI, err)
	}
	if p.tokenFile != "" {
		tok, err := os.ReadFile(p.tokenFile)
		if err != nil {
			return credentials.Value{}, fmt.Errorf("read the token file: %w", err)
		}
		req.Header.Set("Authorization", strings.TrimSpace(string(tok)))
	}
	resp, err := p.client.Do(req)
	if err != nil {
		return credentials.Value{}, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return credentials.Value{}, fmt.Errorf("the endpoint answered %s", resp.Status)
	}
	var body struct {
		AccessKeyID     string `json:"AccessKeyId"`
		SecretAccessKey string
		Token           string
		Expiration      time.Time
	}
	if err := json.NewDecoder(io.LimitReader(resp.Body, 1<<20)).Decode(&body); err != nil {
		return credentials.Value{}, errors.New("the endpoint's answer is not a credentials document")
	}
	if body.AccessKeyID == "" || body.SecretAccessKey == "" {
		return credentials.Value{}, errors.New("the endpoint's answer holds no keys")
	}
	p.SetExpiration(body.Expiration, credentials.DefaultExpiryWindow)
	return credentials.Value{AccessKeyID: body.AccessKeyID, SecretAccessKey: body.SecretAccessKey,
		SessionToken: body.Token, Expiration: body.Expiration, SignerType: credentials.SignatureV4}, nil
}

// dialObserver, when set (by tests), sees every address a bucket dials, credential sources
// included, before the dial.
var dialObserver func(network, addr string)

func observeDial(dial func(ctx context.Context, network, addr string) (net.Conn, error)) func(ctx context.Context, network, addr string) (net.Conn, error) {
	return func(ctx context.Context, network, addr string) (net.Conn, error) {
		if dialObserver != nil {
			dialObserver(network, addr)
		}
		return dial(ctx, network, addr)
	}
}
