package storagetest

import (
	"context"
	"crypto/x509"
	"net/url"
	"os"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"

	"github.com/backupctl/backupctl/internal/testenv"
)

// TLSAdmin is a client of the TLS MinIO's root user (testenv.MinIOTLS), to look behind a
// Bucket's back and to clean up.
func TLSAdmin(t testing.TB, s testenv.MinIOTLSServer) *minio.Client {
	t.Helper()
	u, err := url.Parse(s.Endpoint)
	if err != nil {
		t.Fatal(err)
	}
	pem, err := os.ReadFile(s.CAFile)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(pem)
	tr, err := minio.DefaultTransport(true)
	if err != nil {
		t.Fatal(err)
	}
	tr.TLSClientConfig.RootCAs = pool
	cl, err := minio.New(u.Host, &minio.Options{Creds: credentials.NewStaticV4(s.User, s.Password, ""),
		Secure: true, Transport: tr, Region: "us-east-1"})
	if err != nil {
		t.Fatal(err)
	}
	return cl
}

// RemoveVersionsAtEnd removes, when the test ends (unless BACKUP_TEST_KEEP), every version of
// every object under prefix+"/" in bucket of the TLS MinIO, governance-retained ones too (the
// root user may bypass a governance retention).
func RemoveVersionsAtEnd(t testing.TB, s testenv.MinIOTLSServer, bucket, prefix string) {
	t.Helper()
	admin := TLSAdmin(t, s)
	t.Cleanup(func() {
		if testenv.Keep() {
			return
		}
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		for o := range admin.ListObjects(ctx, bucket, minio.ListObjectsOptions{Prefix: prefix + "/", Recursive: true, WithVersions: true}) {
			if o.Err != nil {
				t.Errorf("cleanup: list: %v", o.Err)
				return
			}
			if err := admin.RemoveObject(ctx, bucket, o.Key, minio.RemoveObjectOptions{VersionID: o.VersionID, GovernanceBypass: true}); err != nil {
				t.Errorf("cleanup %s: %v", o.Key, err)
			}
		}
	})
}
