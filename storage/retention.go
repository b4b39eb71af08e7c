package storage

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/minio/minio-go/v7"
)

// Object lock modes of Config.RetainMode.
const (
	RetainGovernance = "governance" // a user with s3:BypassGovernanceRetention may still delete
	RetainCompliance = "compliance" // nobody can delete or shorten it, the root user included
)

const (
	settingRetainDays = "--retain-days / BACKUP_RETAIN_DAYS"
	settingRetainMode = "--retain-mode / BACKUP_RETAIN_MODE"
)

// ErrRetained means an object is under an object-lock retention and cannot be deleted yet.
var ErrRetained = errors.New("object is retained")

// retention is the object lock a bucket puts on every object it writes.
type retention struct {
	days int
	mode minio.RetentionMode
}

func (c Config) retention() (retention, error) {
	if c.RetainDays < 0 {
		return retention{}, configErrorf("%s %d cannot be negative (0: no retention)", settingRetainDays, c.RetainDays)
	}
	if c.RetainDays == 0 {
		if c.RetainMode != "" {
			return retention{}, configErrorf("%s %q is set without %s", settingRetainMode, c.RetainMode, settingRetainDays)
		}
		return retention{}, nil
	}
	r := retention{days: c.RetainDays}
	switch c.RetainMode {
	case "", RetainGovernance:
		r.mode = minio.Governance
	case RetainCompliance:
		r.mode = minio.Compliance
	default:
		return retention{}, configErrorf("%s %q: must be governance or compliance", settingRetainMode, c.RetainMode)
	}
	return r, nil
}

// apply sets the retention of one write on opts, counted from now.
func (r retention) apply(opts *minio.PutObjectOptions, now time.Time) {
	if r.days == 0 {
		return
	}
	opts.Mode = r.mode
	opts.RetainUntilDate = now.Add(time.Duration(r.days) * 24 * time.Hour)
}

// checkObjectLock makes sure the bucket can hold a retention before anything is written.
func (b *S3) checkObjectLock(ctx context.Context, client *minio.Client) error {
	if b.retain.days == 0 {
		return nil
	}
	enabled, _, _, _, err := client.GetObjectLockConfig(ctx, b.bucket)
	var s3Err minio.ErrorResponse
	if err != nil && errors.As(err, &s3Err) && s3Err.Code == "ObjectLockConfigurationNotFoundError" {
		enabled, err = "", nil
	}
	if err != nil {
		return b.describeOpenError(ctx, err)
	}
	if enabled != "Enabled" {
		return configErrorf("bucket %q at %s has no object lock, so %s cannot retain backups: use a bucket created with object lock enabled, or leave %s unset",
			b.bucket, b.endpoint, settingRetainDays, settingRetainDays)
	}
	return nil
}

// retainedError says when a retained object may be deleted.
func retainedError(key string, until time.Time) error {
	return fmt.Errorf("delete %s: %w until %s (object lock, %s when it was written)", key, ErrRetained,
		until.UTC().Format(time.RFC3339), settingRetainDays)
}

// checkNotRetained refuses to delete an object whose retention has not ended. It asks for the
// retention itself, which needs no SSE-C key; a bucket without object lock has none to report.
func (b *S3) checkNotRetained(ctx context.Context, key, name string) error {
	_, until, err := b.core.Client.GetObjectRetention(ctx, b.bucket, name, "")
	var s3Err minio.ErrorResponse
	switch {
	case err == nil:
		if until != nil && until.After(time.Now()) {
			return retainedError(key, *until)
		}
		return nil
	case errors.As(err, &s3Err) && (s3Err.Code == minio.NoSuchKey || s3Err.StatusCode == 404 || s3Err.StatusCode == 400):
		// Missing, no retention, or no object lock on the bucket: S3 deletes it (or finds
		// nothing to delete).
		return nil
	}
	return fmt.Errorf("delete %s: check its retention: %w", key, err)
}
