package e2e

import (
	"crypto/rand"
	"encoding/base64"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/minio/minio-go/v7"

	"github.com/backupctl/backupctl/backup"
	"github.com/backupctl/backupctl/internal/dbtest"
	"github.com/backupctl/backupctl/internal/testenv"
	"github.com/backupctl/backupctl/storage/storagetest"
)

// cloud is a test's place on the TLS MinIO (testenv.MinIOTLS): its object-lock bucket under the
// test's prefix, reached with a service-account token of the test's namespace (web identity,
// no S3 keys anywhere) and SSE-C with a key of the test's own.
type cloud struct {
	s         testenv.MinIOTLSServer
	tokenFile string
	ssecKey   string
}

func newCloud(e *env) *cloud {
	e.t.Helper()
	s := testenv.MinIOTLS(e.t)
	storagetest.RemoveVersionsAtEnd(e.t, s, s.LockBucket, e.prefix)
	tok, err := e.kubectl(nil, "create", "token", "backupctl-dumper", "-n", e.ns, "--audience", s.Audience, "--duration", "15m")
	if err != nil {
		e.t.Fatalf("kubectl create token: %v\n%s", err, tok)
	}
	c := &cloud{s: s, tokenFile: filepath.Join(e.home, "token"), ssecKey: randomKey()}
	if err := os.WriteFile(c.tokenFile, []byte(tok), 0o600); err != nil {
		e.t.Fatal(err)
	}
	e.mu.Lock()
	e.secrets = append(e.secrets, strings.TrimSpace(tok), c.ssecKey)
	e.mu.Unlock()
	return c
}

func randomKey() string {
	k := make([]byte, 32)
	_, _ = rand.Read(k)
	return base64.StdEncoding.EncodeToString(k)
}

// env is what a local run needs: the TLS endpoint, its CA, the token and role instead of S3
// keys, SSE-C and its key, the database password.
func (c *cloud) env(e *env, bucket string) []string {
	return []string{"BACKUP_S3_ENDPOINT=" + c.s.Endpoint, "BACKUP_S3_BUCKET=" + bucket, "BACKUP_S3_CA_FILE=" + c.s.CAFile,
		"AWS_WEB_IDENTITY_TOKEN_FILE=" + c.tokenFile, "AWS_ROLE_ARN=" + c.s.RoleARN,
		"BACKUP_SSE=c", "BACKUP_SSE_C_KEY=" + c.ssecKey, "BACKUP_DB_PASSWORD=" + e.st.dbPassword,
		// Nothing here may reach the link-local metadata address.
		"BACKUP_S3_METADATA_ENDPOINT=http://127.0.0.1:1"}
}

// TestCloudLocal: with no S3 keys at all, a local run gets credentials from MinIO's STS with a
// service-account token of the local API server (web identity), writes its backups encrypted
// with SSE-C and retained by object lock; prune keeps the retained backup and says until when,
// delete refuses it, restore (with the key) gives the source back. Bad input is one line naming
// the setting, without the key, and loses nothing: a wrong SSE-C key, a KMS key that does not
// exist, a bucket without object lock.
func TestCloudLocal(t *testing.T) {
	e := newParallelEnv(t)
	c := newCloud(e)
	lock := c.env(e, c.s.LockBucket)
	run := func(extra []string, args ...string) res {
		return e.runEnv(append(slices.Clone(lock), extra...), args...)
	}
	db := e.smallDB()

	var ids []string
	for range 2 {
		b := decode[backupResult](t, must(t, run(nil, "backup", "now", "--local", "-d", db, "--retain-days", "1", "-o", "json")))
		checkVerified(t, b)
		ids = append(ids, b.ID)
	}
	// Behind the CLI's back: every object of both backups, manifests included, is encrypted
	// with the test's key (a read without it fails) and retained.
	admin := storagetest.TLSAdmin(t, c.s)
	var keys []string
	for o := range admin.ListObjects(t.Context(), c.s.LockBucket, minio.ListObjectsOptions{Prefix: e.prefix + "/", Recursive: true}) {
		if o.Err != nil {
			t.Fatal(o.Err)
		}
		keys = append(keys, o.Key)
	}
	for _, id := range ids {
		if !slices.Contains(keys, e.prefix+"/"+id+"/manifest.json") {
			t.Errorf("no manifest of %s among %q", id, keys)
		}
	}
	for _, key := range keys {
		if _, err := admin.StatObject(t.Context(), c.s.LockBucket, key, minio.StatObjectOptions{}); err == nil {
			t.Errorf("%s reads without the SSE-C key", key)
		}
		mode, until, err := admin.GetObjectRetention(t.Context(), c.s.LockBucket, key, "")
		if err != nil || mode == nil || *mode != minio.Governance || until == nil {
			t.Errorf("%s: retention %v until %v, %v; want GOVERNANCE", key, mode, until, err)
		}
	}
	t.Logf("%d objects, each encrypted and retained: %q", len(keys), keys)

	rep := decode[backup.PruneReport](t, must(t, run(nil, "prune", "--keep-last", "1", "--include-manual", "-o", "json")))
	if len(rep.Sets) != 1 || len(rep.Sets[0].Deleted) != 0 || len(rep.Sets[0].Kept) != 2 {
		t.Fatalf("prune of retained backups: %+v", rep)
	}
	old := rep.Sets[0].Kept[1]
	if old.ID != ids[0] || len(old.Rules) != 1 || !strings.HasPrefix(old.Rules[0], backup.KeepRetainedPrefix) {
		t.Errorf("the older backup is kept as %+v, want %q", old, backup.KeepRetainedPrefix+"...")
	}
	fails(t, run(nil, "delete", ids[0]), 5, `retained until .*--retain-days`)

	into := dbtest.UniqueName("e2e_cloud")
	e.dst.DropAtEnd(t, into)
	must(t, run(nil, "restore", ids[1], "--local", "--db-host", e.dst.Host, "--db-port", strconv.Itoa(e.dst.Port), "--into", into))
	dbtest.Compare(t, e.src, db, e.dst, into)

	fails(t, run([]string{"BACKUP_SSE_C_KEY=" + randomKey()}, "verify", ids[1]), 2, `BACKUP_SSE_C_KEY`)
	fails(t, run([]string{"BACKUP_SSE=kms", "BACKUP_SSE_C_KEY=", "BACKUP_SSE_KMS_KEY_ID=no-such-key"},
		"backup", "now", "--local", "-d", db), 2, `--sse-kms-key-id`)
	fails(t, e.runEnv(c.env(e, c.s.Bucket), "backup", "now", "--local", "-d", db, "--retain-days", "1"), 2, `has no object lock.*--retain-days`)

	// Nothing lost: both backups are there and whole.
	l := decode[[]listEntry](t, must(t, run(nil, "list", "-o", "json")))
	if got := []string{l[0].ID, l[1].ID}; len(l) != 2 || !slices.Contains(got, ids[0]) || !slices.Contains(got, ids[1]) {
		t.Errorf("after the failures, list = %+v, want %q", l, ids)
	}
	must(t, run(nil, "verify", ids[0]))
}

// TestCloudJobsWebIdentity: a backup Job and a restore Job whose Secret holds no S3 keys at all
// (only the database password and the SSE-C key): the pod's projected service-account token
// (--web-identity-audience) gets temporary credentials from MinIO's STS.
func TestCloudJobsWebIdentity(t *testing.T) {
	e := newParallelEnv(t)
	c := newCloud(e)
	db := e.smallDB()
	e.createSecret("keyless", map[string]string{"BACKUP_DB_PASSWORD": e.st.dbPassword, "BACKUP_SSE_C_KEY": c.ssecKey})
	ca, err := os.ReadFile(c.s.CAFile)
	if err != nil {
		t.Fatal(err)
	}
	e.apply([]map[string]any{{"apiVersion": "v1", "kind": "ConfigMap",
		"metadata": map[string]any{"name": "minio-ca", "namespace": e.ns}, "data": map[string]any{"ca.crt": string(ca)}}})
	// The pods reach the TLS MinIO (and its STS) at the pod address its certificate names too.
	jobEnv := []string{"BACKUP_S3_ENDPOINT=" + e.st.podS3TLSEndpoint, "BACKUP_S3_BUCKET=" + c.s.LockBucket, "BACKUP_SSE=c",
		"BACKUP_SECRET=keyless", "BACKUP_CA_CONFIGMAP=minio-ca",
		"BACKUP_WEB_IDENTITY_AUDIENCE=" + c.s.Audience, "BACKUP_WEB_IDENTITY_ROLE_ARN=" + c.s.RoleARN}

	b := decode[backupResult](t, must(t, e.runEnv(jobEnv, "backup", "now", "-d", db, "--retain-days", "1", "-o", "json")))
	checkVerified(t, b)
	into := dbtest.UniqueName("e2e_cloud_job")
	e.dst.DropAtEnd(t, into)
	must(t, e.runEnv(jobEnv, "restore", b.ID, "--db-host", e.st.podDBHost, "--db-port", strconv.Itoa(e.dst.Port), "--into", into, "-o", "json"))
	dbtest.Compare(t, e.src, db, e.dst, into)
	for _, j := range e.jobsIn() {
		for _, v := range j.Spec.Template.Spec.Containers[0].Env {
			if v.Name == "AWS_ACCESS_KEY_ID" || v.Name == "AWS_SECRET_ACCESS_KEY" {
				t.Errorf("Job %s gives the pod %s", j.Name, v.Name)
			}
		}
	}
	// Read back with the test's own token and key: the backup is whole.
	must(t, e.runEnv(c.env(e, c.s.LockBucket), "verify", b.ID))
}
