package storage

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strings"
)

// Defaults and limits for S3 uploads. S3 refuses parts under 5 MiB (except the last), parts over
// 5 GiB, and more than 10,000 parts in one upload.
const (
	DefaultPartSize    = 8 << 20 // Config.PartSize when unset
	MinPartSize        = 5 << 20 // S3's minimum for all but the last part
	MaxPartSize        = 5 << 30 // S3's maximum part size
	DefaultMaxParts    = 10000   // S3's part limit, and Config.MaxParts when unset
	DefaultConcurrency = 4       // Config.Concurrency when unset
	maxConcurrency     = 64
)

// The settings a user fixes, as the CLI names them, so that every message says which one.
const (
	settingEndpoint  = "--s3-endpoint / BACKUP_S3_ENDPOINT"
	settingTo        = "--to / BACKUP_TO"
	settingBucket    = "--bucket / BACKUP_S3_BUCKET"
	settingPrefix    = "--prefix / BACKUP_S3_PREFIX"
	settingRegion    = "--s3-region / BACKUP_S3_REGION"
	settingCAFile    = "--s3-ca-file / BACKUP_S3_CA_FILE"
	settingPartSize  = "--s3-part-size / BACKUP_S3_PART_SIZE"
	settingKeys      = "AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY"
	settingAccessKey = "AWS_ACCESS_KEY_ID"
	settingSecretKey = "AWS_SECRET_ACCESS_KEY"
)

// ErrConfig marks errors from Open that a user fixes by changing a setting (exit code 2):
// invalid values, an unreachable endpoint, rejected keys, a missing bucket or directory, an
// untrusted certificate. The message names the setting.
var ErrConfig = errors.New("storage configuration error")

// configError is a one-line message naming a setting; errors.Is finds both ErrConfig and the cause.
type configError struct {
	msg   string
	cause error
}

func (e *configError) Error() string { return e.msg }

func (e *configError) Unwrap() []error {
	if e.cause == nil {
		return []error{ErrConfig}
	}
	return []error{ErrConfig, e.cause}
}

// configErrorf builds a configError; a %w verb in format also becomes its cause.
func configErrorf(format string, args ...any) error {
	err := fmt.Errorf(format, args...)
	return &configError{msg: oneLine(err.Error()), cause: errors.Unwrap(err)}
}

// oneLine keeps server and library messages from breaking a one-line error.
func oneLine(s string) string {
	return strings.Join(strings.Fields(s), " ")
}

// Config says where backups live. The CLI fills it from flags and the environment.
type Config struct {
	// URL is http(s)://host[:port] for S3, or file:///abs/dir for a local directory.
	URL string
	// Bucket is the S3 bucket; unused for file://.
	Bucket string
	// Prefix is prepended to every key (joined with "/"); no "..", "." or empty segments.
	Prefix string
	// Region is the S3 region; empty lets minio-go ask the server.
	Region string
	// PathStyle forces path-style requests (http://host/bucket/key). When false, minio-go
	// chooses ("auto"): virtual-host style for AWS and other known clouds, path style for
	// everything else, which is what MinIO and most self-hosted servers need.
	PathStyle bool
	// CAFile is a PEM bundle trusted for the https endpoint, in addition to the system roots.
	CAFile string
	// PartSize is the first multipart part's size: 0 means DefaultPartSize, at least
	// MinPartSize. Later parts grow so that MaxParts parts reach MaxObjectSize.
	PartSize int64
	// MaxParts caps parts per upload: 0 means DefaultMaxParts (S3's limit); tests set less.
	MaxParts int
	// Concurrency is the number of parts uploaded at once: 0 means DefaultConcurrency.
	// A Put holds at most (Concurrency+1) × the size of the part being filled.
	Concurrency int
	// AccessKey and SecretKey come from AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, and
	// SessionToken from AWS_SESSION_TOKEN. Without them the rest of the credential chain is
	// tried: CredEnv (see chooseCredentials for the order).
	AccessKey, SecretKey, SessionToken string
	CredEnv                            CredentialEnv
	// STSEndpoint is where web identity is exchanged for credentials: empty is AWS's STS for
	// an AWS endpoint, else the S3 endpoint itself.
	STSEndpoint string
	// SSE is the server-side encryption of every object written: SSENone, SSES3, SSEKMS (with
	// SSEKMSKeyID, empty for the store's default key) or SSEC (with SSECKey, base64 of 32
	// bytes from BACKUP_SSE_C_KEY, sent with every read too).
	SSE, SSEKMSKeyID, SSECKey string
	// RetainDays, when above 0, puts an object-lock retention of that many days, in
	// RetainMode (RetainGovernance when empty, or RetainCompliance), on every object written.
	RetainDays int
	RetainMode string
}

// String describes the configuration without the keys.
func (c Config) String() string {
	redact := func(s string) string {
		if s == "" {
			return ""
		}
		return "<redacted>"
	}
	return fmt.Sprintf("{URL:%s Bucket:%s Prefix:%s Region:%s PathStyle:%t CAFile:%s PartSize:%d MaxParts:%d Concurrency:%d AccessKey:%s SecretKey:%s SessionToken:%s CredEnv:%+v STSEndpoint:%s SSE:%s SSEKMSKeyID:%s SSECKey:%s RetainDays:%d RetainMode:%s}",
		RedactURL(c.URL), c.Bucket, c.Prefix, c.Region, c.PathStyle, c.CAFile, c.PartSize, c.MaxParts, c.Concurrency, c.AccessKey, redact(c.SecretKey),
		redact(c.SessionToken), c.CredEnv, RedactURL(c.STSEndpoint), c.SSE, c.SSEKMSKeyID, redact(c.SSECKey), c.RetainDays, c.RetainMode)
}

// GoString keeps %#v from printing the secret key too.
func (c Config) GoString() string { return "storage.Config" + c.String() }

// Open validates c and opens the bucket it names. For S3 it also checks that the endpoint
// answers, the keys work and the bucket exists, so that a bad setting fails at once with a
// message that names it (and matches ErrConfig) rather than after a long dump.
func Open(ctx context.Context, c Config) (Bucket, error) {
	if c.URL == "" {
		return nil, configErrorf("no storage URL: set %s (or %s for a local directory)", settingEndpoint, settingTo)
	}
	if err := CheckEndpoint(c.URL); err != nil {
		return nil, err
	}
	u, err := url.Parse(c.URL)
	if err != nil {
		// url.Error quotes the whole URL; keep only its reason, after the redacted URL.
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return nil, configErrorf("storage URL %q (%s) does not parse: %w", RedactURL(c.URL), settingEndpoint, err)
	}
	prefix, err := cleanPrefix(c.Prefix)
	if err != nil {
		return nil, err
	}
	switch u.Scheme {
	case "file":
		return openLocal(c.URL, u, prefix)
	case "http", "https":
		return openS3(ctx, c, u, prefix)
	default:
		return nil, configErrorf("storage URL %q: scheme must be http or https (%s) or file (%s)", RedactURL(c.URL), settingEndpoint, settingTo)
	}
}

// CheckEndpoint refuses a storage URL with credentials in it (https://KEY:SECRET@host): a URL
// is echoed in messages, logs and a Job's args, where a key must never be. It looks at the raw
// text, so a URL that does not even parse is refused too, and its message never quotes the
// credentials. The CLI calls it before it builds a Job or a CronJob; Open calls it first.
func CheckEndpoint(raw string) error {
	if !hasUserinfo(raw) {
		return nil
	}
	setting := settingEndpoint
	if strings.HasPrefix(strings.ToLower(raw), "file:") {
		setting = settingTo
	}
	return configErrorf("storage URL %q (%s) must not hold credentials: put the keys in %s (in Kubernetes, the Secret)",
		RedactURL(raw), setting, settingKeys)
}

// hasUserinfo reports whether raw holds an "@" after its scheme. S3 endpoints never have one;
// a file:// URL may have one in its path, and then only its authority counts.
func hasUserinfo(raw string) bool {
	scheme, rest, ok := strings.Cut(raw, "://")
	if !ok {
		return strings.Contains(raw, "@")
	}
	if strings.EqualFold(scheme, "file") {
		auth, _, _ := strings.Cut(rest, "/")
		return strings.Contains(auth, "@")
	}
	return strings.Contains(rest, "@")
}

// RedactURL hides whatever precedes the last "@" after the scheme, by hand: a URL that
// url.Parse rejects (a secret holding "/" or "#", say) must be quotable too.
func RedactURL(raw string) string {
	scheme, rest, ok := strings.Cut(raw, "://")
	if !ok {
		scheme, rest = "", raw
	}
	i := strings.LastIndex(rest, "@")
	if i < 0 {
		return raw
	}
	if ok {
		scheme += "://"
	}
	return scheme + "REDACTED@" + rest[i+1:]
}

// cleanPrefix validates a configured prefix and drops surrounding slashes, which users add
// by habit and which mean nothing here.
func cleanPrefix(p string) (string, error) {
	if strings.HasPrefix(p, "/") {
		return "", configErrorf("prefix %q (%s) must not start with /", p, settingPrefix)
	}
	p = strings.TrimSuffix(p, "/")
	if p == "" {
		return "", nil
	}
	if err := checkSegments(p); err != nil {
		return "", configErrorf("prefix %q (%s): %v", p, settingPrefix, err)
	}
	return p, nil
}

// checkKey refuses keys that could escape the prefix or that S3 and a directory would treat
// differently ("a//b", "./a", "a/../b"), so both backends store the same names.
func checkKey(key string) error {
	if key == "" {
		return errors.New("empty key")
	}
	if strings.HasPrefix(key, "/") || strings.HasSuffix(key, "/") {
		return fmt.Errorf("key %q must not start or end with /", key)
	}
	if err := checkSegments(key); err != nil {
		return fmt.Errorf("key %q: %w", key, err)
	}
	return nil
}

// checkListPrefix is checkKey for List: it may be empty or end in "/", and its last segment
// may be partial.
func checkListPrefix(p string) error {
	if p == "" {
		return nil
	}
	if strings.HasPrefix(p, "/") {
		return fmt.Errorf("list prefix %q must not start with /", p)
	}
	if err := checkSegments(strings.TrimSuffix(p, "/")); err != nil {
		return fmt.Errorf("list prefix %q: %w", p, err)
	}
	return nil
}

func checkSegments(p string) error {
	if strings.ContainsAny(p, "\x00\\") {
		return errors.New("contains a NUL byte or a backslash")
	}
	for seg := range strings.SplitSeq(p, "/") {
		switch seg {
		case "":
			return errors.New("contains an empty segment (//)")
		case ".", "..":
			return fmt.Errorf("contains a %q segment", seg)
		}
	}
	return nil
}

// joinKey puts a checked key under a cleaned prefix.
func joinKey(prefix, key string) string {
	if prefix == "" {
		return key
	}
	return prefix + "/" + key
}

// joinListPrefix is joinKey for a list prefix, keeping a trailing "/".
func joinListPrefix(prefix, p string) string {
	if prefix == "" {
		return p
	}
	return prefix + "/" + p
}
