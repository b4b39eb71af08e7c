package storage_test

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/backupctl/backupctl/storage"
)

// The access key and secret a careless user puts in the endpoint URL. Neither may show up in
// any message.
const (
	leakKey    = "AKIDLEAKEDKEY"
	leakSecret = "wJalrLEAKEDsecret"
)

// checkNoCredentials fails when err is nil, is not a one-line ErrConfig, or quotes the key or
// the secret.
func checkNoCredentials(t *testing.T, err error, want ...string) {
	t.Helper()
	if err == nil {
		t.Fatal("no error; want one refusing the credentials")
	}
	msg := err.Error()
	t.Logf("error: %s", msg)
	if !errors.Is(err, storage.ErrConfig) {
		t.Errorf("error %q does not match ErrConfig", msg)
	}
	if strings.Contains(msg, "\n") {
		t.Errorf("error spans lines: %q", msg)
	}
	for _, leak := range []string{leakKey, leakSecret, "LEAKED"} {
		if strings.Contains(msg, leak) {
			t.Errorf("error quotes %q: %s", leak, msg)
		}
	}
	for _, w := range want {
		if !strings.Contains(msg, w) {
			t.Errorf("error %q does not say %q", msg, w)
		}
	}
}

// TestEndpointCredentialsRefused: an endpoint with user info is refused before anything is
// built, with a message that says where the keys belong and never quotes them, even when the
// URL does not parse.
func TestEndpointCredentialsRefused(t *testing.T) {
	creds := leakKey + ":" + leakSecret
	for _, tc := range []struct{ name, url string }{
		{"https", "https://" + creds + "@s3.example.com"},
		{"http with port", "http://" + creds + "@127.0.0.1:9000"},
		{"key only", "https://" + leakKey + "@s3.example.com"},
		{"secret with slash", "https://" + leakKey + ":" + leakSecret + "/x@s3.example.com"},
		{"secret with hash", "https://" + leakKey + ":" + leakSecret + "#x@s3.example.com"},
		{"bad escape", "https://" + leakKey + ":" + leakSecret + "%zz@s3.example.com"},
		{"bad port", "https://" + creds + "@s3.example.com:port"},
		{"bad IPv6 host", "http://" + creds + "@[::1"},
		{"control character", "https://" + creds + "\x7f@s3.example.com"},
		{"no scheme", creds + "@s3.example.com"},
		{"file", "file://" + creds + "@/backups"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			checkNoCredentials(t, storage.CheckEndpoint(tc.url),
				"must not hold credentials", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "Secret")
			c := storage.Config{URL: tc.url, Bucket: "backups", AccessKey: "k", SecretKey: "s"}
			_, err := storage.Open(t.Context(), c)
			checkNoCredentials(t, err, "must not hold credentials")
			for _, verb := range []string{"%v", "%+v", "%#v", "%s"} {
				if s := fmt.Sprintf(verb, c); strings.Contains(s, "LEAKED") {
					t.Errorf("Sprintf(%s, config) = %s", verb, s)
				}
			}
		})
	}
}

// TestMalformedURLNotQuotedRaw: a URL that url.Parse rejects is quoted redacted, and without
// url.Error's copy of the raw text.
func TestMalformedURLNotQuotedRaw(t *testing.T) {
	_, err := storage.Open(t.Context(), storage.Config{URL: "http://[::1%zz", Bucket: "backups", AccessKey: "k", SecretKey: "s"})
	if err == nil || !errors.Is(err, storage.ErrConfig) {
		t.Fatalf("Open(malformed) = %v, want a configuration error", err)
	}
	if n := strings.Count(err.Error(), "[::1%zz"); n != 1 {
		t.Errorf("error quotes the URL %d times, want once: %s", n, err)
	}
}

func TestEndpointWithoutCredentials(t *testing.T) {
	for _, u := range []string{"", "http://127.0.0.1:9000", "https://s3.eu-central-1.amazonaws.com", "file:///backups/a@b"} {
		if err := storage.CheckEndpoint(u); err != nil {
			t.Errorf("CheckEndpoint(%q) = %v", u, err)
		}
	}
}

func TestRedactURL(t *testing.T) {
	for in, want := range map[string]string{
		"https://k:s@host":      "https://REDACTED@host",
		"https://k:s/x@y@host/": "https://REDACTED@host/",
		"k:s@host":              "REDACTED@host",
		"http://host:9000":      "http://host:9000",
	} {
		if got := storage.RedactURL(in); got != want {
			t.Errorf("RedactURL(%q) = %q, want %q", in, got, want)
		}
	}
}

// symlinkWorld is a backup directory (root, opened with a prefix) and a directory outside it
// that links point to; outside holds secret.txt, which nothing may read, replace or delete.
type symlinkWorld struct {
	root, outside string
	b             storage.Bucket
}

const outsideContent = "outside the backup directory"

func newSymlinkWorld(t *testing.T, prefix string) symlinkWorld {
	t.Helper()
	w := symlinkWorld{root: t.TempDir(), outside: t.TempDir()}
	if err := os.WriteFile(filepath.Join(w.outside, "secret.txt"), []byte(outsideContent), 0o600); err != nil {
		t.Fatal(err)
	}
	b, err := storage.Open(t.Context(), storage.Config{URL: "file://" + w.root, Prefix: prefix})
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	w.b = b
	return w
}

func symlink(t *testing.T, target, link string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(link), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(target, link); err != nil {
		t.Fatal(err)
	}
}

// checkOutsideUntouched fails if the outside directory changed: only secret.txt, as written.
func (w symlinkWorld) checkOutsideUntouched(t *testing.T) {
	t.Helper()
	entries, err := os.ReadDir(w.outside)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	if len(names) != 1 || names[0] != "secret.txt" {
		t.Errorf("outside directory now holds %v, want only secret.txt", names)
	}
	if b, err := os.ReadFile(filepath.Join(w.outside, "secret.txt")); err != nil || string(b) != outsideContent {
		t.Errorf("outside secret.txt = %q, %v", b, err)
	}
}

// checkRefused wants an error that names the link and says it is one.
func checkRefused(t *testing.T, op string, err error, link string) {
	t.Helper()
	switch {
	case err == nil:
		t.Errorf("%s through the link %s succeeded", op, link)
	case errors.Is(err, storage.ErrNotFound):
		t.Errorf("%s: %v; want a refusal of the link, not ErrNotFound", op, err)
	case !strings.Contains(err.Error(), link) || !strings.Contains(err.Error(), "symbolic link"):
		t.Errorf("%s: error %q does not name the link %s", op, err, link)
	default:
		t.Logf("%s: %v", op, err)
	}
}

// checkAllRefused runs every operation on key and wants each refused because of link.
func (w symlinkWorld) checkAllRefused(t *testing.T, key, listPrefix, link string) {
	t.Helper()
	ctx := t.Context()
	_, err := w.b.Put(ctx, key, strings.NewReader("backup data"), -1)
	checkRefused(t, "Put", err, link)
	rc, err := w.b.Get(ctx, key)
	if err == nil {
		rc.Close()
	}
	checkRefused(t, "Get", err, link)
	rc, err = w.b.GetRange(ctx, key, 0, 1)
	if err == nil {
		rc.Close()
	}
	checkRefused(t, "GetRange", err, link)
	_, err = w.b.Stat(ctx, key)
	checkRefused(t, "Stat", err, link)
	_, err = w.b.List(ctx, listPrefix)
	checkRefused(t, "List", err, link)
	checkRefused(t, "Delete", w.b.Delete(ctx, key), link)
	w.checkOutsideUntouched(t)
}

// TestLocalRefusesSymlinkedPrefix: a prefix directory that is a link is refused by Open, and,
// when it appears after Open, by every operation; nothing is written outside.
func TestLocalRefusesSymlinkedPrefix(t *testing.T) {
	t.Run("at open", func(t *testing.T) {
		root, outside := t.TempDir(), t.TempDir()
		symlink(t, outside, filepath.Join(root, "pre"))
		_, err := storage.Open(t.Context(), storage.Config{URL: "file://" + root, Prefix: "pre/fix"})
		checkRefused(t, "Open", err, filepath.Join(root, "pre"))
		if !errors.Is(err, storage.ErrConfig) {
			t.Errorf("Open: %v does not match ErrConfig", err)
		}
	})
	t.Run("after open", func(t *testing.T) {
		w := newSymlinkWorld(t, "pre/fix")
		symlink(t, w.outside, filepath.Join(w.root, "pre"))
		w.checkAllRefused(t, "id1/dump.sql.zst", "", filepath.Join(w.root, "pre"))
	})
	t.Run("directory in a key", func(t *testing.T) {
		w := newSymlinkWorld(t, "pre")
		link := filepath.Join(w.root, "pre", "id1")
		symlink(t, w.outside, link)
		w.checkAllRefused(t, "id1/secret.txt", "id1/", link)
	})
}

// TestLocalRefusesSymlinkedObject: an object that is a link to a file outside is neither
// read, nor replaced, nor deleted, nor listed.
func TestLocalRefusesSymlinkedObject(t *testing.T) {
	w := newSymlinkWorld(t, "pre")
	link := filepath.Join(w.root, "pre", "id1", "dump.sql.zst")
	symlink(t, filepath.Join(w.outside, "secret.txt"), link)
	w.checkAllRefused(t, "id1/dump.sql.zst", "id1/", link)
	if fi, err := os.Lstat(link); err != nil || fi.Mode()&os.ModeSymlink == 0 {
		t.Errorf("the link was replaced or removed: %v, %v", fi, err)
	}
}

// TestLocalRefusesSymlinkedManifest: a manifest that links outside, existing or dangling
// (a Put there would create the file outside if it were followed), is refused.
func TestLocalRefusesSymlinkedManifest(t *testing.T) {
	for _, target := range []string{"secret.txt", "new-manifest.json"} {
		t.Run(target, func(t *testing.T) {
			w := newSymlinkWorld(t, "")
			link := filepath.Join(w.root, "20261129T051500Z", "manifest.json")
			symlink(t, filepath.Join(w.outside, target), link)
			w.checkAllRefused(t, "20261129T051500Z/manifest.json", "", link)
		})
	}
}

// TestLocalWithoutSymlinksStillWorks: the checks leave a plain tree alone, also when the
// configured directory itself is a link (the administrator's choice).
func TestLocalWithoutSymlinksStillWorks(t *testing.T) {
	target := t.TempDir()
	root := filepath.Join(t.TempDir(), "backups")
	symlink(t, target, root)
	b, err := storage.Open(t.Context(), storage.Config{URL: "file://" + root, Prefix: "pre/fix"})
	if err != nil {
		t.Fatalf("Open through a linked root: %v", err)
	}
	ctx := t.Context()
	for _, k := range []string{"id1/manifest.json", "id1/dump.sql.zst", "id2/manifest.json"} {
		if _, err := b.Put(ctx, k, strings.NewReader(k), -1); err != nil {
			t.Fatalf("Put %s: %v", k, err)
		}
	}
	list, err := b.List(ctx, "id1/")
	if err != nil || len(list) != 2 {
		t.Fatalf("List = %v, %v; want 2 objects", list, err)
	}
	if _, err := os.Stat(filepath.Join(target, "pre", "fix", "id2", "manifest.json")); err != nil {
		t.Errorf("object not in the linked root's target: %v", err)
	}
	if err := b.Delete(ctx, "id1/dump.sql.zst"); err != nil {
		t.Errorf("Delete: %v", err)
	}
	if _, err := b.Stat(ctx, "id1/dump.sql.zst"); !errors.Is(err, storage.ErrNotFound) {
		t.Errorf("Stat after Delete: %v, want ErrNotFound", err)
	}
}
