package storage

import (
	"encoding/base64"
	"errors"
	"strings"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/encrypt"
)

// Server-side encryption modes of Config.SSE.
const (
	SSENone = ""    // the bucket's default
	SSES3   = "s3"  // keys the store manages (SSE-S3)
	SSEKMS  = "kms" // a key of the store's KMS (SSE-KMS), Config.SSEKMSKeyID or the default key
	SSEC    = "c"   // a key the client gives with every request (SSE-C), Config.SSECKey
)

// EnvSSECKey holds the SSE-C key, base64 of 32 bytes; never a flag (in Kubernetes, the Secret).
const EnvSSECKey = "BACKUP_SSE_C_KEY"

const (
	settingSSE      = "--sse / BACKUP_SSE"
	settingSSEKMSID = "--sse-kms-key-id / BACKUP_SSE_KMS_KEY_ID"
	settingSSECKey  = EnvSSECKey
)

// serverSide returns what every write sends (put) and what every read sends (read: SSE-C only,
// whose key the store needs to decrypt, ranged reads included).
func (c Config) serverSide(secure bool) (put, read encrypt.ServerSide, err error) {
	if c.SSEKMSKeyID != "" && c.SSE != SSEKMS {
		return nil, nil, configErrorf("%s is set but %s is %q: it needs --sse kms", settingSSEKMSID, settingSSE, c.SSE)
	}
	if c.SSECKey != "" && c.SSE != SSEC {
		return nil, nil, configErrorf("%s is set but %s is %q: set --sse c to use it, or unset it", settingSSECKey, settingSSE, c.SSE)
	}
	switch c.SSE {
	case SSENone:
		return nil, nil, nil
	case SSES3:
		return encrypt.NewSSE(), nil, nil
	case SSEKMS:
		s, err := encrypt.NewSSEKMS(c.SSEKMSKeyID, nil)
		if err != nil {
			return nil, nil, configErrorf("SSE-KMS key id (%s): %w", settingSSEKMSID, err)
		}
		return s, nil, nil
	case SSEC:
		if !secure {
			return nil, nil, configErrorf("%s c (SSE-C) sends the key with every request: the endpoint (%s) must be https", settingSSE, settingEndpoint)
		}
		key, err := parseSSECKey(c.SSECKey)
		if err != nil {
			return nil, nil, err
		}
		s, err := encrypt.NewSSEC(key)
		if err != nil {
			return nil, nil, configErrorf("SSE-C key (%s): %w", settingSSECKey, err)
		}
		return s, s, nil
	}
	return nil, nil, configErrorf("%s %q: must be s3, kms or c", settingSSE, c.SSE)
}

// parseSSECKey decodes the base64 key; its messages never quote it.
func parseSSECKey(s string) ([]byte, error) {
	if s == "" {
		return nil, configErrorf("--sse c needs a key in %s: base64 of 32 random bytes (openssl rand -base64 32)", settingSSECKey)
	}
	key, err := base64.StdEncoding.DecodeString(strings.TrimSpace(s))
	if err != nil || len(key) != 32 {
		return nil, configErrorf("%s must be base64 of exactly 32 bytes (openssl rand -base64 32); the value given is not", settingSSECKey)
	}
	return key, nil
}

// describeSSEError names the encryption setting behind a store's refusal, or returns nil.
func (b *S3) describeSSEError(err error) error {
	var s3Err minio.ErrorResponse
	if !errors.As(err, &s3Err) || s3Err.Code == minio.NoSuchKey || s3Err.Code == minio.NoSuchBucket {
		return nil
	}
	msg := oneLine(s3Err.Code + ": " + s3Err.Message)
	lower := strings.ToLower(msg)
	switch {
	case b.sseMode == SSEC && (s3Err.StatusCode == 403 || strings.Contains(lower, "encrypt") || strings.Contains(lower, "sse")):
		// S3 answers a wrong key as it answers missing permissions: say both.
		return configErrorf("S3 refused the SSE-C key (%s): is it the key the backup was written with (and may these credentials read it)? %s", settingSSECKey, msg)
	case b.sseMode != SSEC && strings.Contains(lower, "stored using a form of server side encryption"):
		return configErrorf("the object is encrypted with a key of yours (SSE-C): set %s c and its key in %s: %s", settingSSE, settingSSECKey, msg)
	case b.sseMode == SSEKMS && (strings.Contains(lower, "kms") || strings.Contains(lower, "key")):
		return configErrorf("S3 refused the SSE-KMS key %q (%s): %s", b.kmsKeyID, settingSSEKMSID, msg)
	case b.sse != nil && (strings.Contains(lower, "kms") || strings.Contains(lower, "encrypt")):
		return configErrorf("S3 refused server-side encryption (%s): %s", settingSSE, msg)
	}
	return nil
}
