package testenv

import (
	"strings"
	"testing"
)

// MinIOTLSServer is the second MinIO of .stack/env (`scripts/stack.sh minio-tls-up`): TLS with
// the stack's CA, the built-in KMS key, a bucket with object lock and the local API server as
// its OpenID provider.
type MinIOTLSServer struct {
	Endpoint       string // BACKUP_TEST_MINIO_TLS_ENDPOINT, https://127.0.0.1:19443
	CAFile         string // BACKUP_TEST_MINIO_TLS_CA
	User, Password string // the root user: BACKUP_TEST_MINIO_TLS_USER, _PASSWORD
	Bucket         string // BACKUP_TEST_MINIO_TLS_BUCKET, without object lock
	LockBucket     string // BACKUP_TEST_MINIO_TLS_LOCK_BUCKET, with object lock
	KMSKey         string // BACKUP_TEST_MINIO_TLS_KMS_KEY, the KMS's one key
	Audience       string // BACKUP_TEST_MINIO_TLS_AUDIENCE: tokens for it assume RoleARN
	RoleARN        string // BACKUP_TEST_MINIO_TLS_ROLE_ARN, may use both buckets
	DeniedAudience string // BACKUP_TEST_MINIO_TLS_DENIED_AUDIENCE: tokens for DeniedRoleARN
	DeniedRoleARN  string // BACKUP_TEST_MINIO_TLS_DENIED_ROLE_ARN, may use neither bucket
}

// MinIOTLSVars are the variables MinIOTLS needs.
var MinIOTLSVars = []string{"BACKUP_TEST_MINIO_TLS_ENDPOINT", "BACKUP_TEST_MINIO_TLS_CA",
	"BACKUP_TEST_MINIO_TLS_USER", "BACKUP_TEST_MINIO_TLS_PASSWORD", "BACKUP_TEST_MINIO_TLS_BUCKET",
	"BACKUP_TEST_MINIO_TLS_LOCK_BUCKET", "BACKUP_TEST_MINIO_TLS_KMS_KEY", "BACKUP_TEST_MINIO_TLS_AUDIENCE",
	"BACKUP_TEST_MINIO_TLS_ROLE_ARN", "BACKUP_TEST_MINIO_TLS_DENIED_AUDIENCE", "BACKUP_TEST_MINIO_TLS_DENIED_ROLE_ARN"}

// MinIOTLS is the TLS MinIO. It fails the test when a variable is missing and skips under
// -short.
func MinIOTLS(t testing.TB) MinIOTLSServer {
	t.Helper()
	SkipShort(t, "the TLS MinIO")
	if m := Missing(MinIOTLSVars...); len(m) > 0 {
		t.Fatalf("%s not set: run `scripts/stack.sh minio-tls-up` (part of `make up`) and source .stack/env", strings.Join(m, ", "))
	}
	g := func(k string) string { return Get(t, "BACKUP_TEST_MINIO_TLS_"+k) }
	return MinIOTLSServer{Endpoint: g("ENDPOINT"), CAFile: g("CA"), User: g("USER"), Password: g("PASSWORD"),
		Bucket: g("BUCKET"), LockBucket: g("LOCK_BUCKET"), KMSKey: g("KMS_KEY"), Audience: g("AUDIENCE"),
		RoleARN: g("ROLE_ARN"), DeniedAudience: g("DENIED_AUDIENCE"), DeniedRoleARN: g("DENIED_ROLE_ARN")}
}
