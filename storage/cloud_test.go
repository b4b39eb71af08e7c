package storage_test

import (
	"bytes"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"

	"github.com/backupctl/backupctl/internal/testenv"
	"github.com/backupctl/backupctl/storage"
	"github.com/backupctl/backupctl/storage/storagetest"
)

// tlsConfig is a fresh prefix of bucket on the TLS MinIO, with its root user's keys.
func tlsConfig(t *testing.T, bucket func(testenv.MinIOTLSServer) string) (storage.Config, testenv.MinIOTLSServer, bool) {
	t.Helper()
	if testing.Short() {
		t.Log("-short: not testing against MinIO")
		return storage.Config{}, testenv.MinIOTLSServer{}, false
	}
	s := testenv.MinIOTLS(t)
	return storage.Config{URL: s.Endpoint, Bucket: bucket(s), CAFile: s.CAFile, Region: "us-east-1",
		Prefix: fmt.Sprintf("%s/%d", runPrefix, bucketSeq.Add(1)), AccessKey: s.User, SecretKey: s.Password}, s, true
}

func plainBucket(s testenv.MinIOTLSServer) string  { return s.Bucket }
func lockedBucket(s testenv.MinIOTLSServer) string { return s.LockBucket }

// tlsAdmin is a client of the TLS MinIO's root user, behind the Bucket's back.
func tlsAdmin(t *testing.T, _ storage.Config) *minio.Client {
	t.Helper()
	return storagetest.TLSAdmin(t, testenv.MinIOTLS(t))
}

// cleanupVersions removes every version under c's prefix when the test ends.
func cleanupVersions(t *testing.T, c storage.Config) {
	t.Helper()
	storagetest.RemoveVersionsAtEnd(t, testenv.MinIOTLS(t), c.Bucket, c.Prefix)
}

func openTLS(t *testing.T, c storage.Config) storage.Bucket {
	t.Helper()
	b, err := storage.Open(t.Context(), c)
	if err != nil {
		t.Fatalf("Open(%v): %v", c, err)
	}
	cleanupVersions(t, c)
	return b
}

func newSSECKey() string {
	k := make([]byte, 32)
	_, _ = rand.Read(k)
	return base64.StdEncoding.EncodeToString(k)
}

// putAndReadBack stores a small object and one of three parts, and reads both back whole and
// by range.
func putAndReadBack(t *testing.T, b storage.Bucket) map[string][]byte {
	t.Helper()
	objs := map[string][]byte{}
	for _, n := range []int64{1000, 12 * storagetest.MiB} {
		key := fmt.Sprintf("obj/%d", n)
		data, _ := io.ReadAll(storagetest.Random(uint64(n), n))
		if _, err := b.Put(t.Context(), key, bytes.NewReader(data), -1); err != nil {
			t.Fatalf("Put(%s): %v", key, err)
		}
		if got := storagetest.Get(t, b, key); !bytes.Equal(got, data) {
			t.Errorf("Get(%s) = %d bytes, not the %d put", key, len(got), len(data))
		}
		r, err := b.GetRange(t.Context(), key, n/2, n/4)
		if err != nil {
			t.Fatalf("GetRange(%s): %v", key, err)
		}
		got, err := io.ReadAll(r)
		r.Close()
		if err != nil || !bytes.Equal(got, data[n/2:n/2+n/4]) {
			t.Errorf("GetRange(%s) = %d bytes, %v", key, len(got), err)
		}
		objs[key] = data
	}
	return objs
}

// TestS3SSE writes and reads with each server-side encryption mode, and checks with the root
// user's own client that MinIO stored each object encrypted that way.
func TestS3SSE(t *testing.T) {
	for _, tc := range []struct {
		mode   string
		header string // what a HEAD of the object answers in X-Amz-Server-Side-Encryption*
	}{
		{storage.SSES3, "AES256"},
		{storage.SSEKMS, "aws:kms"},
		{storage.SSEC, "AES256"},
	} {
		t.Run(tc.mode, func(t *testing.T) {
			c, s, ok := tlsConfig(t, plainBucket)
			if !ok {
				return
			}
			c.PartSize = storage.MinPartSize
			c.SSE = tc.mode
			if tc.mode == storage.SSEKMS {
				c.SSEKMSKeyID = s.KMSKey
			}
			if tc.mode == storage.SSEC {
				c.SSECKey = newSSECKey()
			}
			b := openTLS(t, c)
			objs := putAndReadBack(t, b)
			admin := tlsAdmin(t, c)
			for key := range objs {
				info, err := admin.StatObject(t.Context(), c.Bucket, c.Prefix+"/"+key, minio.StatObjectOptions{})
				if tc.mode == storage.SSEC {
					// Without the key MinIO cannot even describe the object.
					if err == nil {
						t.Errorf("%s: a HEAD without the SSE-C key succeeded", key)
					}
					continue
				}
				if err != nil {
					t.Fatal(err)
				}
				hdr := "X-Amz-Server-Side-Encryption"
				if got := info.Metadata.Get(hdr); got != tc.header {
					t.Errorf("%s: %s = %q, want %q", key, hdr, got, tc.header)
				}
				if tc.mode == storage.SSEKMS {
					if got := info.Metadata.Get(hdr + "-Aws-Kms-Key-Id"); !strings.HasSuffix(got, s.KMSKey) {
						t.Errorf("%s: KMS key %q, want %q", key, got, s.KMSKey)
					}
				}
			}
		})
	}
}

// TestS3SSEBadKeys: a KMS key the KMS does not have, and an SSE-C key that is not the one the
// objects were written with, each fail with one line naming the setting, without the key,
// and lose nothing.
func TestS3SSEBadKeys(t *testing.T) {
	c, _, ok := tlsConfig(t, plainBucket)
	if !ok {
		return
	}
	kms := c
	kms.SSE, kms.SSEKMSKeyID = storage.SSEKMS, "no-such-key-"+randomHex(4)
	b := openTLS(t, kms)
	for _, n := range []int64{1000, 12 * storagetest.MiB} {
		key := fmt.Sprintf("kms/%d", n)
		_, err := b.Put(t.Context(), key, storagetest.Random(1, n), -1)
		checkOneLine(t, err, "--sse-kms-key-id", kms.SSEKMSKeyID)
		checkNothingLeft(t, c, key)
	}

	right, wrong := c, c
	right.SSE, right.SSECKey = storage.SSEC, newSSECKey()
	wrong.SSE, wrong.SSECKey = storage.SSEC, newSSECKey()
	objs := putAndReadBack(t, openTLS(t, right))
	bw := openTLS(t, wrong)
	for key := range objs {
		_, err := bw.Get(t.Context(), key)
		checkSecretFree(t, checkOneLine(t, err, storage.EnvSSECKey), wrong.SSECKey, right.SSECKey)
		_, err = bw.GetRange(t.Context(), key, 10, 10)
		checkSecretFree(t, checkOneLine(t, err, storage.EnvSSECKey), wrong.SSECKey, right.SSECKey)
		_, err = bw.Stat(t.Context(), key)
		checkOneLine(t, err, storage.EnvSSECKey)
	}
	// Without --sse c the store cannot decrypt: the message says what to set.
	bn := openTLS(t, c)
	for key := range objs {
		_, err := bn.Get(t.Context(), key)
		checkOneLine(t, err, "--sse", storage.EnvSSECKey)
	}
	// Nothing lost: the right key still reads every byte.
	br := openTLS(t, right)
	for key, data := range objs {
		if got := storagetest.Get(t, br, key); !bytes.Equal(got, data) {
			t.Errorf("after the wrong key, Get(%s) with the right one = %d bytes", key, len(got))
		}
	}
}

// TestS3SSEConfigErrors: settings that cannot work are refused before anything is sent.
func TestS3SSEConfigErrors(t *testing.T) {
	base := storage.Config{URL: "https://127.0.0.1:1", Bucket: "backups", AccessKey: "k", SecretKey: "s"}
	key := newSSECKey()
	for name, tc := range map[string]struct {
		set  func(*storage.Config)
		want []string
	}{
		"unknown mode":  {func(c *storage.Config) { c.SSE = "aes" }, []string{"--sse", "s3, kms or c"}},
		"kms id alone":  {func(c *storage.Config) { c.SSEKMSKeyID = "k1" }, []string{"--sse-kms-key-id", "--sse kms"}},
		"c without key": {func(c *storage.Config) { c.SSE = storage.SSEC }, []string{storage.EnvSSECKey, "32"}},
		"c short key":   {func(c *storage.Config) { c.SSE, c.SSECKey = storage.SSEC, "c2hvcnQ=" }, []string{storage.EnvSSECKey, "32 bytes"}},
		"c over http":   {func(c *storage.Config) { c.URL, c.SSE, c.SSECKey = "http://127.0.0.1:1", storage.SSEC, key }, []string{"https", "--sse"}},
		"c key alone":   {func(c *storage.Config) { c.SSECKey = key }, []string{storage.EnvSSECKey, "--sse c"}},
		"retain mode":   {func(c *storage.Config) { c.RetainDays, c.RetainMode = 1, "forever" }, []string{"--retain-mode", "governance or compliance"}},
		"mode alone":    {func(c *storage.Config) { c.RetainMode = storage.RetainCompliance }, []string{"--retain-mode", "--retain-days"}},
		"negative days": {func(c *storage.Config) { c.RetainDays = -1 }, []string{"--retain-days"}},
		"sts not a url": {func(c *storage.Config) {
			c.AccessKey, c.SecretKey, c.STSEndpoint = "", "", "sts.example"
			c.CredEnv.WebIdentityTokenFile, c.CredEnv.RoleARN = "/t", "arn"
		}, []string{"--s3-sts-endpoint"}},
	} {
		t.Run(name, func(t *testing.T) {
			c := base
			tc.set(&c)
			_, err := storage.Open(t.Context(), c)
			checkConfigError(t, err, tc.want...)
			checkSecretFree(t, err, key)
		})
	}
}

// checkNothingLeft checks that no version and no incomplete upload of key is left.
func checkNothingLeft(t *testing.T, c storage.Config, key string) {
	t.Helper()
	admin := tlsAdmin(t, c)
	name := c.Prefix + "/" + key
	for o := range admin.ListObjects(t.Context(), c.Bucket, minio.ListObjectsOptions{Prefix: name, WithVersions: true}) {
		if o.Err != nil {
			t.Fatal(o.Err)
		}
		if o.Key == name {
			t.Errorf("%s left a version %s", key, o.VersionID)
		}
	}
	for u := range admin.ListIncompleteUploads(t.Context(), c.Bucket, name, false) {
		if u.Err != nil {
			t.Fatal(u.Err)
		}
		if u.Key == name {
			t.Errorf("%s left an incomplete upload %s", key, u.UploadID)
		}
	}
}

// checkOneLine checks that err is set, on one line, and names each of want.
func checkOneLine(t *testing.T, err error, want ...string) error {
	t.Helper()
	if err == nil {
		t.Fatalf("no error; want one naming %q", want)
	}
	if strings.Contains(err.Error(), "\n") {
		t.Errorf("error on several lines: %q", err)
	}
	for _, w := range want {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("error %q does not name %q", err, w)
		}
	}
	t.Logf("%v", err)
	return err
}

func checkSecretFree(t *testing.T, err error, secrets ...string) {
	t.Helper()
	for _, s := range secrets {
		if err != nil && s != "" && strings.Contains(err.Error(), s) {
			t.Errorf("error %q prints a secret", err)
		}
	}
}

// TestS3Retention: with --retain-days every object, small or multipart, is written under a
// governance retention; Delete refuses it (and it is still there); a bucket without object
// lock is refused at Open.
func TestS3Retention(t *testing.T) {
	c, _, ok := tlsConfig(t, lockedBucket)
	if !ok {
		return
	}
	c.PartSize = storage.MinPartSize
	c.RetainDays = 1
	b := openTLS(t, c)
	start := time.Now()
	objs := putAndReadBack(t, b)
	for key, data := range objs {
		info, err := b.Stat(t.Context(), key)
		if err != nil {
			t.Fatal(err)
		}
		if d := info.RetainUntil.Sub(start); d < 23*time.Hour || d > 25*time.Hour {
			t.Errorf("%s: retained until %s, %s from the put; want a day", key, info.RetainUntil, d)
		}
		err = b.Delete(t.Context(), key)
		if !errors.Is(err, storage.ErrRetained) || !strings.Contains(err.Error(), "--retain-days") {
			t.Errorf("Delete(%s) of a retained object = %v, want ErrRetained naming --retain-days", key, err)
		}
		if got := storagetest.Get(t, b, key); !bytes.Equal(got, data) {
			t.Errorf("%s changed after the refused delete", key)
		}
	}
	mode, _, err := tlsAdmin(t, c).GetObjectRetention(t.Context(), c.Bucket, c.Prefix+"/obj/1000", "")
	if err != nil || mode == nil || *mode != minio.Governance {
		t.Errorf("retention mode = %v, %v; want GOVERNANCE", mode, err)
	}

	plain, _, _ := tlsConfig(t, plainBucket)
	plain.RetainDays = 1
	_, err = storage.Open(t.Context(), plain)
	checkConfigError(t, err, "has no object lock", "--retain-days", plain.Bucket)
}

// TestS3SuiteSSEC runs the shared suite against the TLS MinIO with SSE-C: every read, ranged
// or whole, and every check of a Put carries the key.
func TestS3SuiteSSEC(t *testing.T) {
	if _, _, ok := tlsConfig(t, plainBucket); !ok {
		return
	}
	key := newSSECKey()
	configs := map[storage.Bucket]storage.Config{}
	storagetest.Suite{
		NewBucket: func(t *testing.T) storage.Bucket {
			c, _, _ := tlsConfig(t, plainBucket)
			c.SSE, c.SSECKey = storage.SSEC, key
			b := openTLS(t, c)
			configs[b] = c
			return b
		},
		MemoryBound: storage.DefaultPartSize*(storage.DefaultConcurrency+2) + 16*storagetest.MiB,
		Leftovers: func(t *testing.T, b storage.Bucket, key string) []string {
			var out []string
			c := configs[b]
			name := c.Prefix + "/" + key
			for u := range tlsAdmin(t, c).ListIncompleteUploads(t.Context(), c.Bucket, name, false) {
				if u.Err == nil && u.Key == name {
					out = append(out, "incomplete upload "+u.UploadID)
				}
			}
			return out
		},
	}.Run(t)
}
