package storage

import (
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/encrypt"
	"golang.org/x/sync/errgroup"
)

// cleanupTimeout bounds the abort or delete that runs after a Put failed or was cancelled: it
// must outlive the caller's context, but not hang a job forever.
const cleanupTimeout = time.Minute

// probeTimeout bounds Open's bucket check: an endpoint that drops packets should fail the job
// with a message, not hang it.
const probeTimeout = 30 * time.Second

// S3 is a Bucket in an S3-compatible store, reached through minio-go.
type S3 struct {
	core        *minio.Core
	endpoint    string // for messages: scheme://host, no credentials
	bucket      string
	prefix      string
	partSize    int64 // the first part's size
	parts       partPlan
	concurrency int
	credSource  string             // what the credentials are and where they came from, for messages
	sse, ssec   encrypt.ServerSide // sent with every write; with every read (SSE-C only)
	sseMode     string
	kmsKeyID    string
	retain      retention
}

var _ Bucket = (*S3)(nil)

func openS3(ctx context.Context, c Config, u *url.URL, prefix string) (*S3, error) {
	if u.Host == "" || (u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.User != nil {
		return nil, configErrorf("S3 endpoint %q (%s) must be scheme://host[:port] with no path, query or user", RedactURL(u.String()), settingEndpoint)
	}
	endpoint := u.Scheme + "://" + u.Host
	if c.Bucket == "" {
		return nil, configErrorf("no bucket: set %s", settingBucket)
	}
	if err := checkBucketName(c.Bucket); err != nil {
		return nil, configErrorf("bucket %q (%s): %v", c.Bucket, settingBucket, err)
	}
	secure := u.Scheme == "https"
	b := &S3{endpoint: endpoint, bucket: c.Bucket, prefix: prefix,
		partSize: c.PartSize, concurrency: c.Concurrency, sseMode: c.SSE, kmsKeyID: c.SSEKMSKeyID}
	var err error
	if b.sse, b.ssec, err = c.serverSide(secure); err != nil {
		return nil, err
	}
	if b.retain, err = c.retention(); err != nil {
		return nil, err
	}
	if b.partSize == 0 {
		b.partSize = DefaultPartSize
	}
	if b.partSize < MinPartSize || b.partSize > MaxPartSize {
		return nil, configErrorf("part size %s (%s) must be between %s and %s: S3 refuses other sizes",
			sizeString(b.partSize), settingPartSize, sizeString(MinPartSize), sizeString(MaxPartSize))
	}
	maxParts := c.MaxParts
	if maxParts == 0 {
		maxParts = DefaultMaxParts
	}
	if maxParts < 1 || maxParts > DefaultMaxParts {
		return nil, configErrorf("max parts %d must be between 1 and %d", maxParts, DefaultMaxParts)
	}
	b.parts = newPartPlan(b.partSize, maxParts)
	if b.concurrency == 0 {
		b.concurrency = DefaultConcurrency
	}
	if b.concurrency < 1 || b.concurrency > maxConcurrency {
		return nil, configErrorf("upload concurrency %d must be between 1 and %d", b.concurrency, maxConcurrency)
	}

	transport, err := minio.DefaultTransport(secure)
	if err != nil {
		return nil, fmt.Errorf("s3 transport: %w", err)
	}
	if c.CAFile != "" {
		if !secure {
			return nil, configErrorf("%s is set but the endpoint %s (%s) is plain http", settingCAFile, endpoint, settingEndpoint)
		}
		pool, err := loadCAFile(c.CAFile)
		if err != nil {
			return nil, err
		}
		if transport.TLSClientConfig == nil {
			transport.TLSClientConfig = &tls.Config{MinVersion: tls.VersionTLS12}
		}
		transport.TLSClientConfig.RootCAs = pool
	}
	transport.DialContext = observeDial(transport.DialContext)
	// The credential sources (STS, the metadata service) are reached through the same
	// transport: the same CA bundle, and the same dial checks in tests.
	src, err := chooseCredentials(c, endpoint, &http.Client{Transport: transport})
	if err != nil {
		return nil, err
	}
	b.credSource = src.what()
	opts := &minio.Options{
		Creds:     src.creds,
		Secure:    secure,
		Transport: transport,
		Region:    c.Region,
	}
	if c.PathStyle {
		opts.BucketLookup = minio.BucketLookupPath
	}
	b.core, err = minio.NewCore(u.Host, opts)
	if err != nil {
		return nil, configErrorf("S3 endpoint %s (%s): %w", endpoint, settingEndpoint, err)
	}

	// The check gets few retries: minio-go's default of ten turns a wrong port into a long
	// wait, and a wrong setting is far more likely here than a blip.
	probeOpts := *opts
	probeOpts.MaxRetries = 2
	probe, err := minio.New(u.Host, &probeOpts)
	if err != nil {
		return nil, configErrorf("S3 endpoint %s (%s): %w", endpoint, settingEndpoint, err)
	}
	pctx, cancel := context.WithTimeout(ctx, probeTimeout)
	defer cancel()
	// Get the credentials first, so that a failure names the source, not the bucket.
	if err := src.fetch(ctx, pctx, &http.Client{Transport: transport}, endpoint); err != nil {
		return nil, err
	}
	ok, err := probe.BucketExists(pctx, c.Bucket)
	if err != nil {
		return nil, b.describeOpenError(ctx, err)
	}
	if !ok {
		return nil, configErrorf("bucket %q does not exist at %s (%s): create it first", c.Bucket, endpoint, settingBucket)
	}
	if err := b.checkObjectLock(pctx, probe); err != nil {
		return nil, err
	}
	return b, nil
}

// describeOpenError turns the failure of the first request into a message naming the setting
// that is most likely wrong.
func (b *S3) describeOpenError(ctx context.Context, err error) error {
	if ctx.Err() != nil {
		return fmt.Errorf("check bucket %q at %s: %w", b.bucket, b.endpoint, err)
	}
	var (
		unknownCA x509.UnknownAuthorityError
		hostname  x509.HostnameError
		invalid   x509.CertificateInvalidError
		verifyErr *tls.CertificateVerificationError
		recordErr tls.RecordHeaderError
		dnsErr    *net.DNSError
		opErr     *net.OpError
		s3Err     minio.ErrorResponse
	)
	const reachCause = "cannot reach S3 endpoint %s (%s): %w"
	switch {
	case errors.As(err, &unknownCA), errors.As(err, &hostname), errors.As(err, &invalid), errors.As(err, &verifyErr):
		return configErrorf("cannot verify the TLS certificate of S3 endpoint %s (give its CA bundle with %s): %w", b.endpoint, settingCAFile, err)
	case errors.As(err, &recordErr), strings.Contains(err.Error(), "server gave HTTP response to HTTPS client"):
		return configErrorf("S3 endpoint %s (%s) does not speak TLS: use http://: %w", b.endpoint, settingEndpoint, err)
	case errors.As(err, &dnsErr), errors.As(err, &opErr):
		return configErrorf(reachCause, b.endpoint, settingEndpoint, err)
	case errors.As(err, &s3Err):
		switch s3Err.Code {
		case "InvalidTokenId", "ExpiredToken":
			return configErrorf("S3 rejected %s: %s: temporary keys need their current %s", b.credSource, s3Err.Code, EnvSessionToken)
		case minio.InvalidAccessKeyID, minio.SignatureDoesNotMatch:
			return configErrorf("S3 rejected %s: %s", b.credSource, s3Err.Code)
		case minio.AccessDenied:
			return configErrorf("S3 denied access to bucket %q to %s: check their permissions: %s", b.bucket, b.credSource, s3Err.Code)
		case minio.NoSuchBucket:
			return configErrorf("bucket %q does not exist at %s (%s): create it first", b.bucket, b.endpoint, settingBucket)
		case minio.AuthorizationHeaderMalformed, minio.InvalidRegion:
			return configErrorf("S3 refused the region (%s): %s", settingRegion, oneLine(s3Err.Message))
		}
		return configErrorf("check bucket %q at %s (%s): %w", b.bucket, b.endpoint, settingEndpoint, err)
	}
	var urlErr *url.Error
	if errors.As(err, &urlErr) {
		// Timeouts, resets and other transport failures: the endpoint is the suspect.
		return configErrorf(reachCause, b.endpoint, settingEndpoint, err)
	}
	return configErrorf("check bucket %q at %s: %w", b.bucket, b.endpoint, err)
}

func loadCAFile(name string) (*x509.CertPool, error) {
	pem, err := os.ReadFile(name)
	if err != nil {
		return nil, configErrorf("read CA bundle (%s): %w", settingCAFile, err)
	}
	pool, err := x509.SystemCertPool()
	if err != nil || pool == nil {
		pool = x509.NewCertPool()
	}
	if !pool.AppendCertsFromPEM(pem) {
		return nil, configErrorf("CA bundle %s (%s) holds no PEM certificate", name, settingCAFile)
	}
	return pool, nil
}

// checkBucketName catches names S3 would refuse with a less helpful message.
func checkBucketName(name string) error {
	if len(name) < 3 || len(name) > 63 {
		return errors.New("must be 3 to 63 characters")
	}
	for _, r := range name {
		if !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '-' || r == '.') {
			return errors.New("may hold only lowercase letters, digits, '-' and '.'")
		}
	}
	return nil
}

// sizeString prints sizes exactly: a rounded "5.0 MiB" in "must be at least 5.0 MiB" misleads.
func sizeString(n int64) string {
	switch {
	case n != 0 && n%(1<<30) == 0:
		return fmt.Sprintf("%d GiB", n>>30)
	case n != 0 && n%(1<<20) == 0:
		return fmt.Sprintf("%d MiB", n>>20)
	}
	return fmt.Sprintf("%d bytes", n)
}

// String names the bucket for messages.
func (b *S3) String() string {
	if b.prefix == "" {
		return fmt.Sprintf("s3://%s (%s)", b.bucket, b.endpoint)
	}
	return fmt.Sprintf("s3://%s/%s (%s)", b.bucket, b.prefix, b.endpoint)
}

func (b *S3) object(key string) (string, error) {
	if err := checkKey(key); err != nil {
		return "", err
	}
	return joinKey(b.prefix, key), nil
}

// Put streams r into key with a multipart upload whose parts start at PartSize and grow
// (partPlan), at most Concurrency in flight; an object smaller than one part goes up in a
// single request.
func (b *S3) Put(ctx context.Context, key string, r io.Reader, size int64) (ObjectInfo, error) {
	name, err := b.object(key)
	if err != nil {
		return ObjectInfo{}, fmt.Errorf("put: %w", err)
	}
	if limit := b.parts.capacity(); size > limit {
		return ObjectInfo{}, fmt.Errorf("put %s: %s does not fit in %d parts growing from %s (%s at most): raise %s",
			key, sizeString(size), b.parts.maxParts, sizeString(b.partSize), sizeString(limit), settingPartSize)
	}
	first := b.partSize
	if size >= 0 && size < b.partSize {
		first = size
	}
	buf := make([]byte, first)
	n, err := io.ReadFull(r, buf)
	switch {
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return b.putSingle(ctx, key, name, buf[:n], size)
	case err != nil:
		return ObjectInfo{}, fmt.Errorf("put %s: read: %w", key, err)
	case first < b.partSize:
		// size said it ends here: make sure it does.
		if err := expectEOF(r); err != nil {
			return ObjectInfo{}, fmt.Errorf("put %s: %w", key, err)
		}
		return b.putSingle(ctx, key, name, buf, size)
	}
	return b.putMultipart(ctx, key, name, r, size, buf)
}

func (b *S3) putSingle(ctx context.Context, key, name string, data []byte, size int64) (ObjectInfo, error) {
	if size >= 0 && int64(len(data)) != size {
		return ObjectInfo{}, fmt.Errorf("put %s: input ended after %d bytes, expected %d", key, len(data), size)
	}
	sum := sha256.Sum256(data)
	opts := b.putOptions()
	opts.DisableContentSha256 = true
	_, err := b.core.PutObject(ctx, b.bucket, name, bytes.NewReader(data), int64(len(data)), "",
		hex.EncodeToString(sum[:]), opts)
	if err != nil {
		return ObjectInfo{}, fmt.Errorf("put %s: %w", key, b.opError(err))
	}
	return b.verifyPut(ctx, key, int64(len(data)))
}

// putMultipart uploads first (a full part) and the rest of r. Memory is bounded by the
// buffers: Concurrency parts in flight plus the one being filled, each at most the size of
// the part being filled (a buffer outgrown by the parts is dropped, not kept).
func (b *S3) putMultipart(ctx context.Context, key, name string, r io.Reader, size int64, first []byte) (_ ObjectInfo, err error) {
	opts := b.putOptions()
	opts.ContentType = "application/octet-stream"
	uploadID, err := b.core.NewMultipartUpload(ctx, b.bucket, name, opts)
	if err != nil {
		return ObjectInfo{}, fmt.Errorf("put %s: start upload: %w", key, b.opError(err))
	}
	completed := false
	defer func() {
		if completed {
			return
		}
		// The caller's context may be why we are here: abort with one it cannot cancel.
		actx, cancel := context.WithTimeout(context.WithoutCancel(ctx), cleanupTimeout)
		defer cancel()
		if aerr := b.core.AbortMultipartUpload(actx, b.bucket, name, uploadID); aerr != nil {
			err = errors.Join(err, fmt.Errorf("abort upload %s of %s: %w", uploadID, key, aerr))
		}
	}()

	uctx, stopUploads := context.WithCancel(ctx)
	defer stopUploads()
	g, gctx := errgroup.WithContext(uctx)
	g.SetLimit(b.concurrency)
	free := make(chan []byte, b.concurrency+1)
	allocated := 1
	var (
		mu    sync.Mutex
		parts []minio.CompletePart
	)
	upload := func(num int, buf []byte, n int) {
		g.Go(func() error {
			defer func() { free <- buf }()
			data := buf[:n]
			// The part is sent as UNSIGNED-PAYLOAD (minio-go's choice over HTTPS too): no SHA-256
			// of the part on either side, which cost 0.8 CPU seconds per GB between the two. A
			// backup reads its object back and checks its SHA-256 before it counts as one.
			p, err := b.core.PutObjectPart(gctx, b.bucket, name, uploadID, num, bytes.NewReader(data), int64(n),
				minio.PutObjectPartOptions{DisableContentSha256: true, SSE: b.ssec})
			if err != nil {
				return fmt.Errorf("upload part %d: %w", num, b.opError(err))
			}
			mu.Lock()
			parts = append(parts, minio.CompletePart{PartNumber: num, ETag: p.ETag})
			mu.Unlock()
			return nil
		})
	}

	total := int64(len(first))
	num := 1
	upload(num, first, len(first))
	var readErr error
	for gctx.Err() == nil {
		if size >= 0 && total == size {
			if err := expectEOF(r); err != nil {
				readErr = fmt.Errorf("input is longer than the expected %d bytes: %w", size, err)
			}
			break
		}
		if num == b.parts.maxParts {
			// S3 would refuse part maxParts+1; minio-go before v7.4 completed the upload
			// anyway and silently truncated the object.
			if err := expectEOF(r); err != nil {
				readErr = fmt.Errorf("input is larger than %d parts growing from %s (%s): raise %s: %w",
					b.parts.maxParts, sizeString(b.partSize), sizeString(b.parts.capacity()), settingPartSize, err)
			}
			break
		}
		need := b.parts.size(num + 1)
		var buf []byte
		for buf == nil {
			if allocated < b.concurrency+1 {
				buf = make([]byte, need)
				allocated++
				break
			}
			select {
			case buf = <-free:
			case <-gctx.Done():
			}
			if buf == nil {
				break
			}
			if int64(len(buf)) < need {
				buf = nil // outgrown: let it go and make a larger one
				allocated--
			}
		}
		if buf == nil {
			break
		}
		n, err := io.ReadFull(r, buf[:need])
		total += int64(n)
		if n > 0 {
			num++
			upload(num, buf, n)
		}
		if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
			break
		}
		if err != nil {
			readErr = fmt.Errorf("read: %w", err)
			break
		}
		if size >= 0 && total > size {
			readErr = fmt.Errorf("input is longer than the expected %d bytes", size)
			break
		}
	}
	if readErr != nil {
		// Stop the parts in flight: this upload is going nowhere.
		stopUploads()
		_ = g.Wait()
		return ObjectInfo{}, fmt.Errorf("put %s: %w", key, readErr)
	}
	if werr := g.Wait(); werr != nil {
		return ObjectInfo{}, fmt.Errorf("put %s: %w", key, werr)
	}
	if err := ctx.Err(); err != nil {
		return ObjectInfo{}, fmt.Errorf("put %s: %w", key, err)
	}
	if size >= 0 && total != size {
		return ObjectInfo{}, fmt.Errorf("put %s: input ended after %d bytes, expected %d", key, total, size)
	}
	slices.SortFunc(parts, func(a, b minio.CompletePart) int { return a.PartNumber - b.PartNumber })
	// The retention and encryption were given when the upload started; MinIO refuses a
	// retention on the completion.
	done := minio.PutObjectOptions{ServerSideEncryption: b.ssec}
	if _, err := b.core.CompleteMultipartUpload(ctx, b.bucket, name, uploadID, parts, done); err != nil {
		return ObjectInfo{}, fmt.Errorf("put %s: complete upload: %w", key, b.opError(err))
	}
	completed = true
	return b.verifyPut(ctx, key, total)
}

// verifyPut reads back the size: a short object must never pass for a backup.
func (b *S3) verifyPut(ctx context.Context, key string, want int64) (ObjectInfo, error) {
	info, err := b.Stat(ctx, key)
	if err != nil {
		return ObjectInfo{}, fmt.Errorf("put %s: verify: %w", key, err)
	}
	if info.Size != want {
		dctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), cleanupTimeout)
		defer cancel()
		derr := b.Delete(dctx, key)
		return ObjectInfo{}, errors.Join(fmt.Errorf("put %s: stored %d bytes, sent %d", key, info.Size, want), derr)
	}
	return info, nil
}

// expectEOF fails if r holds more data.
func expectEOF(r io.Reader) error {
	var one [1]byte
	n, err := io.ReadFull(r, one[:])
	switch {
	case n > 0:
		return errors.New("input has more data")
	case errors.Is(err, io.EOF):
		return nil
	default:
		return fmt.Errorf("read: %w", err)
	}
}

// Get reads a whole object.
func (b *S3) Get(ctx context.Context, key string) (io.ReadCloser, error) {
	name, err := b.object(key)
	if err != nil {
		return nil, fmt.Errorf("get: %w", err)
	}
	body, _, _, err := b.core.GetObject(ctx, b.bucket, name, minio.GetObjectOptions{ServerSideEncryption: b.ssec})
	if err != nil {
		return nil, fmt.Errorf("get %s: %w", key, b.opError(err))
	}
	return body, nil
}

// GetRange reads length bytes from offset; a range that runs past the end is an error.
func (b *S3) GetRange(ctx context.Context, key string, offset, length int64) (io.ReadCloser, error) {
	name, err := b.object(key)
	if err != nil {
		return nil, fmt.Errorf("get: %w", err)
	}
	if offset < 0 || length < 0 {
		return nil, fmt.Errorf("get %s: invalid range offset %d length %d", key, offset, length)
	}
	if length == 0 {
		// HTTP cannot ask for no bytes; still report a missing object or a bad offset.
		info, err := b.Stat(ctx, key)
		if err != nil {
			return nil, fmt.Errorf("get %s: %w", key, err)
		}
		if offset > info.Size {
			return nil, fmt.Errorf("get %s: range %d+%d is beyond the end (%d bytes)", key, offset, length, info.Size)
		}
		return io.NopCloser(strings.NewReader("")), nil
	}
	opts := minio.GetObjectOptions{ServerSideEncryption: b.ssec}
	if err := opts.SetRange(offset, offset+length-1); err != nil {
		return nil, fmt.Errorf("get %s: %w", key, err)
	}
	body, info, _, err := b.core.GetObject(ctx, b.bucket, name, opts)
	if err != nil {
		var s3Err minio.ErrorResponse
		if errors.As(err, &s3Err) && s3Err.Code == minio.InvalidRange {
			return nil, fmt.Errorf("get %s: range %d+%d is beyond the end", key, offset, length)
		}
		return nil, fmt.Errorf("get %s: %w", key, b.opError(err))
	}
	if info.Size != length {
		body.Close()
		return nil, fmt.Errorf("get %s: range %d+%d is beyond the end (got %d bytes)", key, offset, length, info.Size)
	}
	return body, nil
}

// Stat describes an object.
func (b *S3) Stat(ctx context.Context, key string) (ObjectInfo, error) {
	name, err := b.object(key)
	if err != nil {
		return ObjectInfo{}, fmt.Errorf("stat: %w", err)
	}
	info, err := b.core.StatObject(ctx, b.bucket, name, minio.StatObjectOptions{ServerSideEncryption: b.ssec})
	if err != nil {
		return ObjectInfo{}, fmt.Errorf("stat %s: %w", key, b.opError(err))
	}
	out := ObjectInfo{Key: key, Size: info.Size, Modified: info.LastModified}
	if v := info.Metadata.Get("X-Amz-Object-Lock-Retain-Until-Date"); v != "" {
		if t, err := time.Parse(time.RFC3339, v); err == nil {
			out.RetainUntil = t
		}
	}
	return out, nil
}

// List returns the objects whose key starts with prefix, sorted by key.
func (b *S3) List(ctx context.Context, prefix string) ([]ObjectInfo, error) {
	if err := checkListPrefix(prefix); err != nil {
		return nil, fmt.Errorf("list: %w", err)
	}
	full := joinListPrefix(b.prefix, prefix)
	strip := ""
	if b.prefix != "" {
		strip = b.prefix + "/"
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel() // stops minio-go's lister if we return early
	var out []ObjectInfo
	for obj := range b.core.Client.ListObjects(ctx, b.bucket, minio.ListObjectsOptions{Prefix: full, Recursive: true}) {
		if obj.Err != nil {
			return nil, fmt.Errorf("list %s: %w", prefix, obj.Err)
		}
		out = append(out, ObjectInfo{Key: strings.TrimPrefix(obj.Key, strip), Size: obj.Size, Modified: obj.LastModified})
	}
	slices.SortFunc(out, func(a, b ObjectInfo) int { return strings.Compare(a.Key, b.Key) })
	return out, nil
}

// Delete removes an object; S3 already treats a missing one as deleted. An object under an
// object-lock retention is refused with ErrRetained: in a locked (so versioned) bucket S3 would
// only hide it behind a delete marker, and the backup would look gone while it is not.
func (b *S3) Delete(ctx context.Context, key string) error {
	name, err := b.object(key)
	if err != nil {
		return fmt.Errorf("delete: %w", err)
	}
	if err := b.checkNotRetained(ctx, key, name); err != nil {
		return err
	}
	if err := b.core.RemoveObject(ctx, b.bucket, name, minio.RemoveObjectOptions{}); err != nil {
		return fmt.Errorf("delete %s: %w", key, mapNotFound(err))
	}
	return nil
}

// mapNotFound turns S3's "no such key" into ErrNotFound and keeps the rest.
func mapNotFound(err error) error {
	var s3Err minio.ErrorResponse
	if errors.As(err, &s3Err) && s3Err.Code == minio.NoSuchKey {
		return ErrNotFound
	}
	return err
}

// putOptions are the encryption and retention of every write.
func (b *S3) putOptions() minio.PutObjectOptions {
	opts := minio.PutObjectOptions{ServerSideEncryption: b.sse}
	b.retain.apply(&opts, time.Now())
	return opts
}

// opError names the setting behind an encryption refusal, else maps "no such key".
func (b *S3) opError(err error) error {
	if e := b.describeSSEError(err); e != nil {
		return e
	}
	return mapNotFound(err)
}
