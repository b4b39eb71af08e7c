package storage_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"

	"github.com/backupctl/backupctl/internal/testenv"
	"github.com/backupctl/backupctl/storage"
	"github.com/backupctl/backupctl/storage/storagetest"
)

// runPrefix keeps this run's objects apart from other runs and other engineers' tests.
var runPrefix = "storagetest/" + testenv.RandomHex(8)

var bucketSeq atomic.Int64

func randomHex(n int) string { return testenv.RandomHex(n) }

// minioConfig reads the MinIO that `make up` started (storagetest.MinIOConfig). Without it the
// test fails, except under -short, where tests that need servers return early.
func minioConfig(t *testing.T) (storage.Config, bool) {
	t.Helper()
	if testing.Short() {
		t.Log("-short: not testing against MinIO")
		return storage.Config{}, false
	}
	return storagetest.MinIOConfig(t, fmt.Sprintf("%s/%d", runPrefix, bucketSeq.Add(1))), true
}

// adminClient lists and cleans up behind the Bucket's back.
func adminClient(t *testing.T, c storage.Config) *minio.Client {
	t.Helper()
	u, err := url.Parse(c.URL)
	if err != nil {
		t.Fatal(err)
	}
	cl, err := minio.New(u.Host, &minio.Options{
		Creds: credentials.NewStaticV4(c.AccessKey, c.SecretKey, ""), Secure: u.Scheme == "https", Region: c.Region,
	})
	if err != nil {
		t.Fatal(err)
	}
	return cl
}

// openS3 opens a bucket under a fresh prefix and removes everything under it afterwards.
func openS3(t *testing.T, c storage.Config) storage.Bucket {
	t.Helper()
	b, err := storage.Open(t.Context(), c)
	if err != nil {
		t.Fatalf("Open(%v): %v", c, err)
	}
	admin := adminClient(t, c)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		for o := range admin.ListObjects(ctx, c.Bucket, minio.ListObjectsOptions{Prefix: c.Prefix + "/", Recursive: true}) {
			if o.Err != nil {
				t.Errorf("cleanup: list: %v", o.Err)
				break
			}
			if err := admin.RemoveObject(ctx, c.Bucket, o.Key, minio.RemoveObjectOptions{}); err != nil {
				t.Errorf("cleanup: %v", err)
			}
		}
		for u := range admin.ListIncompleteUploads(ctx, c.Bucket, c.Prefix+"/", true) {
			if u.Err == nil {
				admin.RemoveIncompleteUpload(ctx, c.Bucket, u.Key)
			}
		}
	})
	return b
}

// incompleteUploads lists multipart uploads left for key.
func incompleteUploads(t *testing.T, c storage.Config, key string) []string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	name := c.Prefix + "/" + key
	var out []string
	for u := range adminClient(t, c).ListIncompleteUploads(ctx, c.Bucket, name, false) {
		if u.Err != nil {
			t.Fatalf("ListIncompleteUploads(%s): %v", name, u.Err)
		}
		if u.Key == name {
			out = append(out, "incomplete upload "+u.UploadID)
		}
	}
	return out
}

func TestS3Suite(t *testing.T) {
	if _, ok := minioConfig(t); !ok {
		return
	}
	configs := map[storage.Bucket]storage.Config{}
	storagetest.Suite{
		NewBucket: func(t *testing.T) storage.Bucket {
			c, _ := minioConfig(t)
			b := openS3(t, c)
			configs[b] = c
			return b
		},
		// PartSize × (Concurrency+1) buffers, one part of slack for HTTP and hashing, and
		// 16 MiB for the runtime and test.
		MemoryBound: storage.DefaultPartSize*(storage.DefaultConcurrency+2) + 16*storagetest.MiB,
		Leftovers: func(t *testing.T, b storage.Bucket, key string) []string {
			return incompleteUploads(t, configs[b], key)
		},
	}.Run(t)
}

// openSmallParts opens a bucket under a fresh prefix (openS3) with parts of MinPartSize and set
// applied to its configuration; false under -short.
func openSmallParts(t *testing.T, set func(*storage.Config)) (storage.Config, storage.Bucket, bool) {
	t.Helper()
	c, ok := minioConfig(t)
	if !ok {
		return c, nil, false
	}
	c.PartSize = storage.MinPartSize
	set(&c)
	return c, openS3(t, c), true
}

func TestS3Multipart(t *testing.T) {
	c, b, ok := openSmallParts(t, func(c *storage.Config) { c.Concurrency = 3 })
	if !ok {
		return
	}
	for _, tc := range []struct {
		n     int64
		known bool
	}{
		{23*storagetest.MiB + 1, false}, {23*storagetest.MiB + 1, true},
		{10 * storagetest.MiB, false}, {10 * storagetest.MiB, true},
		{storage.MinPartSize, true}, {storage.MinPartSize - 1, false},
	} {
		key := fmt.Sprintf("mp/%d-%t", tc.n, tc.known)
		data, _ := io.ReadAll(storagetest.Random(uint64(tc.n), tc.n))
		size := int64(-1)
		if tc.known {
			size = tc.n
		}
		if _, err := b.Put(t.Context(), key, bytes.NewReader(data), size); err != nil {
			t.Fatalf("Put(%s): %v", key, err)
		}
		if got := storagetest.Get(t, b, key); !bytes.Equal(got, data) {
			t.Errorf("Get(%s) = %d bytes; not the %d put", key, len(got), len(data))
		}
	}
	// A declared size that the input does not match fails after parts went up.
	for _, n := range []int64{12 * storagetest.MiB, 14 * storagetest.MiB} {
		key := fmt.Sprintf("mp/mismatch-%d", n)
		_, err := b.Put(t.Context(), key, storagetest.Random(1, n), 13*storagetest.MiB)
		if err == nil {
			t.Errorf("Put(%s) of %d bytes declared as 13 MiB succeeded", key, n)
		}
		checkNoObject(t, c, b, key)
	}
}

func checkNoObject(t *testing.T, c storage.Config, b storage.Bucket, key string) {
	t.Helper()
	if _, err := b.Stat(t.Context(), key); !errors.Is(err, storage.ErrNotFound) {
		t.Errorf("Stat(%s) = %v, want ErrNotFound", key, err)
	}
	if left := incompleteUploads(t, c, key); len(left) > 0 {
		t.Errorf("%s left %q", key, left)
	}
}

// TestS3PartLimit: an input larger than MaxParts parts must fail and leave nothing, where
// minio-go v7.3 and earlier stored the first 10,000 parts as if they were everything.
func TestS3PartLimit(t *testing.T) {
	c, b, ok := openSmallParts(t, func(c *storage.Config) { c.MaxParts = 2 })
	if !ok {
		return
	}
	// Two parts growing from 5 MiB hold 5 + 10 MiB.
	for _, size := range []int64{-1, 16 * storagetest.MiB} {
		key := fmt.Sprintf("limit/%d", size)
		_, err := b.Put(t.Context(), key, storagetest.Random(7, 16*storagetest.MiB), size)
		if err == nil || !strings.Contains(err.Error(), "--s3-part-size") {
			t.Errorf("Put of 16 MiB in 2 parts from 5 MiB (size %d) = %v; want an error naming --s3-part-size", size, err)
		}
		t.Logf("size %d: %v", size, err)
		checkNoObject(t, c, b, key)
	}
	// Exactly MaxParts full parts still fit.
	if _, err := b.Put(t.Context(), "limit/exact", storagetest.Random(8, 15*storagetest.MiB), -1); err != nil {
		t.Errorf("Put of exactly 2 parts: %v", err)
	}
}

// TestS3PartGrowth: the parts grow as the upload goes, so 3 parts from 5 MiB carry 30 MiB,
// twice what 3 fixed parts could, and the stored object is exact.
func TestS3PartGrowth(t *testing.T) {
	const parts = 3
	c, b, ok := openSmallParts(t, func(c *storage.Config) { c.MaxParts = parts; c.Concurrency = 1 })
	if !ok {
		return
	}
	n := int64(30*storagetest.MiB + 12345)
	if fixed := int64(parts) * c.PartSize; n <= fixed {
		t.Fatalf("%d bytes fit in %d fixed parts: the test proves nothing", n, parts)
	}
	data, _ := io.ReadAll(storagetest.Random(11, n))
	want := sha256.Sum256(data)
	admin := adminClient(t, c)
	for _, size := range []int64{-1, n} {
		key := fmt.Sprintf("grow/%d", size)
		var err error
		heap := storagetest.PeakHeap(func() { _, err = b.Put(t.Context(), key, storagetest.Random(11, n), size) })
		if err != nil {
			t.Fatalf("Put of %d bytes in %d growing parts (size %d): %v", n, parts, size, err)
		}
		// Memory is bounded by the largest part: Concurrency+1 buffers of 20 MiB at most, one
		// more part of slack for HTTP, and 16 MiB for the runtime and the test.
		bound := int64(c.Concurrency+2)*20*storagetest.MiB + 16*storagetest.MiB
		t.Logf("%s: heap grew by %.1f MiB (bound %.1f MiB)", key, float64(heap)/storagetest.MiB, float64(bound)/storagetest.MiB)
		if heap > bound {
			t.Errorf("%s: heap grew by %d bytes, more than %d", key, heap, bound)
		}
		if got := sha256.Sum256(storagetest.Get(t, b, key)); got != want {
			t.Errorf("%s: SHA-256 %x, want %x", key, got, want)
		}
		// A multipart ETag ends in the number of parts.
		info, err := admin.StatObject(t.Context(), c.Bucket, c.Prefix+"/"+key, minio.StatObjectOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if !strings.HasSuffix(info.ETag, fmt.Sprintf("-%d", parts)) {
			t.Errorf("%s: ETag %q, want an upload of %d parts", key, info.ETag, parts)
		}
	}
}

func TestS3OpenErrors(t *testing.T) {
	c, ok := minioConfig(t)
	if !ok {
		return
	}
	closed := closedPort(t)
	for _, tc := range []struct {
		name   string
		change func(*storage.Config)
		want   []string
	}{
		{"unreachable", func(c *storage.Config) { c.URL = "http://" + closed },
			[]string{"cannot reach S3 endpoint http://" + closed, "--s3-endpoint", "connection refused"}},
		{"wrong secret", func(c *storage.Config) { c.SecretKey = "wrong-secret" },
			[]string{"S3 rejected the access keys (AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY)"}},
		{"unknown key", func(c *storage.Config) { c.AccessKey = "nobody" },
			[]string{"S3 rejected the access keys (AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY)"}},
		{"missing bucket", func(c *storage.Config) { c.Bucket = "no-such-bucket-" + randomHex(4) },
			[]string{"does not exist", "--bucket / BACKUP_S3_BUCKET", "create it first"}},
		{"https to http", func(c *storage.Config) { c.URL = strings.Replace(c.URL, "http://", "https://", 1) },
			[]string{"--s3-endpoint", "does not speak TLS"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := c
			tc.change(&c)
			start := time.Now()
			_, err := storage.Open(t.Context(), c)
			checkConfigError(t, err, tc.want...)
			if d := time.Since(start); d > 10*time.Second {
				t.Errorf("Open took %v to fail", d)
			}
			if strings.Contains(fmt.Sprint(err), c.SecretKey) {
				t.Errorf("error shows the secret key: %v", err)
			}
		})
	}
}

// checkConfigError asserts a one-line ErrConfig that says each of want.
func checkConfigError(t *testing.T, err error, want ...string) {
	t.Helper()
	checkOneLine(t, err, want...)
	if !errors.Is(err, storage.ErrConfig) {
		t.Errorf("error %q does not match ErrConfig", err)
	}
}

// quietLog keeps test servers from logging the TLS handshakes the tests fail on purpose.
func quietLog() *log.Logger { return log.New(io.Discard, "", 0) }

func closedPort(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	return addr
}

// writeCA saves a test server's certificate as a CA bundle.
func writeCA(t *testing.T, srv *httptest.Server) string {
	t.Helper()
	name := filepath.Join(t.TempDir(), "ca.pem")
	data := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw})
	if err := os.WriteFile(name, data, 0o600); err != nil {
		t.Fatal(err)
	}
	return name
}

// TestS3CustomCA runs against a TLS server that answers like S3 for a bucket check, so it
// needs no MinIO: the certificate is trusted only through --s3-ca-file.
func TestS3CustomCA(t *testing.T) {
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodHead && strings.Trim(r.URL.Path, "/") == "backups" {
			return
		}
		http.Error(w, "unexpected "+r.Method+" "+r.URL.Path, http.StatusBadRequest)
	}))
	srv.Config.ErrorLog = quietLog()
	t.Cleanup(srv.Close)
	c := storage.Config{URL: srv.URL, Bucket: "backups", Region: "us-east-1", AccessKey: "k", SecretKey: "s"}

	_, err := storage.Open(t.Context(), c)
	checkConfigError(t, err, "TLS certificate", "--s3-ca-file")

	c.CAFile = writeCA(t, srv)
	b, err := storage.Open(t.Context(), c)
	if err != nil {
		t.Fatalf("Open with the CA bundle: %v", err)
	}
	if !strings.Contains(b.String(), "s3://backups") {
		t.Errorf("String() = %q", b.String())
	}
}

// TestS3TLS puts and reads objects over TLS with a custom CA, through a TLS proxy in front
// of MinIO.
func TestS3TLS(t *testing.T) {
	c, ok := minioConfig(t)
	if !ok {
		return
	}
	target, err := url.Parse(c.URL)
	if err != nil {
		t.Fatal(err)
	}
	// The proxy keeps the Host header, so MinIO checks the signature made for the proxy.
	proxy := httputil.NewSingleHostReverseProxy(target)
	srv := httptest.NewTLSServer(proxy)
	srv.Config.ErrorLog = quietLog()
	t.Cleanup(srv.Close)
	tc := c
	tc.URL = srv.URL
	tc.CAFile = writeCA(t, srv)
	tc.PartSize = storage.MinPartSize
	b, err := storage.Open(t.Context(), tc)
	if err != nil {
		t.Fatalf("Open over TLS: %v", err)
	}
	c.Prefix = tc.Prefix
	openS3(t, c) // for the cleanup
	for _, n := range []int64{0, 1000, 12 * storagetest.MiB} {
		key := fmt.Sprintf("tls/%d", n)
		data, _ := io.ReadAll(storagetest.Random(9, n))
		if _, err := b.Put(t.Context(), key, bytes.NewReader(data), -1); err != nil {
			t.Fatalf("Put over TLS: %v", err)
		}
		if got := storagetest.Get(t, b, key); !bytes.Equal(got, data) {
			t.Errorf("Get over TLS = %d bytes; want the %d put", len(got), n)
		}
	}
}

// TestS3LeftoverCheck proves that the "no incomplete upload" assertions can fail: an upload
// started and not finished must show up.
func TestS3LeftoverCheck(t *testing.T) {
	c, ok := minioConfig(t)
	if !ok {
		return
	}
	openS3(t, c) // for the cleanup
	u, _ := url.Parse(c.URL)
	core, err := minio.NewCore(u.Host, &minio.Options{Creds: credentials.NewStaticV4(c.AccessKey, c.SecretKey, ""), Region: c.Region})
	if err != nil {
		t.Fatal(err)
	}
	name := c.Prefix + "/dangling"
	id, err := core.NewMultipartUpload(t.Context(), c.Bucket, name, minio.PutObjectOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if left := incompleteUploads(t, c, "dangling"); len(left) != 1 {
		t.Errorf("incompleteUploads = %q, want the upload %s", left, id)
	}
	if err := core.AbortMultipartUpload(t.Context(), c.Bucket, name, id); err != nil {
		t.Fatal(err)
	}
	if left := incompleteUploads(t, c, "dangling"); len(left) != 0 {
		t.Errorf("incompleteUploads after abort = %q", left)
	}
}
