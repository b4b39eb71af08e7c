package main

import (
	"archive/tar"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/v1/layout"
)

// dockerfile is the final stage of the repository's Dockerfile: its base, files, user and entrypoint.
type dockerfile struct {
	base       string
	binaries   []string // what COPY puts into /usr/local/bin
	user       string
	entrypoint []string
}

func readDockerfile(t *testing.T) dockerfile {
	t.Helper()
	b, err := os.ReadFile("../../../../Dockerfile")
	if err != nil {
		t.Fatal(err)
	}
	var d dockerfile
	for _, line := range strings.Split(string(b), "\n") {
		f := strings.Fields(line)
		if len(f) < 2 {
			continue
		}
		switch f[0] {
		case "FROM":
			d = dockerfile{base: f[1]} // the last stage wins
		case "COPY":
			if !strings.HasPrefix(f[1], "--from=") {
				continue // the build stage's sources
			}
			if f[len(f)-1] != "/usr/local/bin/" {
				t.Fatalf("Dockerfile copies into %s, not /usr/local/bin/: teach the image builder", f[len(f)-1])
			}
			for _, src := range f[1 : len(f)-1] {
				if !strings.HasPrefix(src, "--") {
					d.binaries = append(d.binaries, filepath.Base(src))
				}
			}
		case "USER":
			d.user = f[1]
		case "ENTRYPOINT":
			if err := json.Unmarshal([]byte(strings.TrimSpace(strings.TrimPrefix(line, "ENTRYPOINT"))), &d.entrypoint); err != nil {
				t.Fatalf("ENTRYPOINT is not exec form: %v", err)
			}
		}
	}
	return d
}

// TestDumperImageMatchesDockerfile builds the dumper image from stand-in binaries and reads it
// back: the same user, entrypoint and binaries as the Dockerfile's image, the files its
// distroless base gives (CA bundle, nonroot in /etc/passwd) and no shell.
func TestDumperImageMatchesDockerfile(t *testing.T) {
	d := readDockerfile(t)
	if !regexp.MustCompile(`^gcr\.io/distroless/static-debian\d+:nonroot$`).MatchString(d.base) {
		t.Fatalf("the Dockerfile's base is %s; the image builder copies distroless/static:nonroot", d.base)
	}
	bin := t.TempDir()
	for _, b := range d.binaries {
		if err := os.WriteFile(filepath.Join(bin, b), []byte("binary "+b), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	r, err := dumperRecipe(bin, "/etc/ssl/certs/ca-certificates.crt")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	archive := filepath.Join(dir, "dumper.tar")
	const name = "127.0.0.1:5999/backupctl/dumper:test"
	if err := writeArchive(r, name, archive); err != nil {
		t.Fatal(err)
	}
	cfg, files := readArchive(t, archive, name)

	if cfg.Config.User != d.user || !slices.Equal(cfg.Config.Entrypoint, d.entrypoint) {
		t.Errorf("image runs %v as %q, the Dockerfile %v as %q", cfg.Config.Entrypoint, cfg.Config.User, d.entrypoint, d.user)
	}
	if cfg.OS != "linux" || cfg.Architecture != runtime.GOARCH {
		t.Errorf("platform %s/%s, want linux/%s", cfg.OS, cfg.Architecture, runtime.GOARCH)
	}
	var inBin []string
	for p, h := range files {
		if dir, b := filepath.Split(p); dir == "usr/local/bin/" && b != "" {
			inBin = append(inBin, b)
			if h.Mode&0o111 == 0 || h.Uid != 0 {
				t.Errorf("%s: mode %o uid %d, want an executable owned by root", p, h.Mode, h.Uid)
			}
		}
	}
	slices.Sort(inBin)
	want := slices.Sorted(slices.Values(d.binaries))
	if !slices.Equal(inBin, want) {
		t.Errorf("/usr/local/bin holds %v, the Dockerfile copies %v", inBin, want)
	}
	if h := files["etc/ssl/certs/ca-certificates.crt"]; h == nil || h.Size == 0 {
		t.Error("no CA bundle at /etc/ssl/certs/ca-certificates.crt")
	}
	if !strings.Contains(passwd, "nonroot:x:65532:65532:") || files["etc/passwd"] == nil {
		t.Error("/etc/passwd lacks nonroot 65532")
	}
	if h := files["tmp/"]; h == nil || h.Mode&0o1777 != 0o1777 {
		t.Error("no world-writable sticky /tmp")
	}
	for p := range files {
		if b := filepath.Base(p); b == "sh" || b == "bash" || b == "busybox" {
			t.Errorf("the dumper image has a shell: %s", p)
		}
	}
}

type imageConfig struct {
	OS, Architecture string
	Config           struct {
		User       string
		Entrypoint []string
	}
}

// readArchive unpacks an archive as `ctr images import` reads it: the OCI layout's index names
// the image, its manifest the config and the layer.
func readArchive(t *testing.T, archive, name string) (imageConfig, map[string]*tar.Header) {
	t.Helper()
	dir := t.TempDir()
	f, err := os.Open(archive)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	eachEntry(t, f, func(h *tar.Header, r io.Reader) {
		p := filepath.Join(dir, h.Name)
		if h.Typeflag == tar.TypeDir {
			if err := os.MkdirAll(p, 0o755); err != nil {
				t.Fatal(err)
			}
			return
		}
		b, _ := io.ReadAll(r)
		if err := os.WriteFile(p, b, 0o644); err != nil {
			t.Fatal(err)
		}
	})
	idx, err := layout.ImageIndexFromPath(dir)
	if err != nil {
		t.Fatal(err)
	}
	im, err := idx.IndexManifest()
	if err != nil {
		t.Fatal(err)
	}
	if len(im.Manifests) != 1 || im.Manifests[0].Annotations["io.containerd.image.name"] != name ||
		im.Manifests[0].Platform == nil || im.Manifests[0].Platform.OS != "linux" {
		t.Fatalf("index does not name one linux image %s: %+v", name, im.Manifests)
	}
	img, err := idx.Image(im.Manifests[0].Digest)
	if err != nil {
		t.Fatal(err)
	}
	raw, err := img.RawConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	var cfg imageConfig
	if err := json.Unmarshal(raw, &cfg); err != nil {
		t.Fatal(err)
	}
	layers, err := img.Layers()
	if err != nil || len(layers) != 1 {
		t.Fatalf("want one layer: %d, %v", len(layers), err)
	}
	rc, err := layers[0].Uncompressed()
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	files := map[string]*tar.Header{}
	eachEntry(t, rc, func(h *tar.Header, _ io.Reader) { files[h.Name] = h })
	return cfg, files
}

// eachEntry calls fn for every entry of the tar stream r, with a reader of its content.
func eachEntry(t *testing.T, r io.Reader, fn func(*tar.Header, io.Reader)) {
	t.Helper()
	tr := tar.NewReader(r)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return
		}
		if err != nil {
			t.Fatal(err)
		}
		fn(h, tr)
	}
}

// TestArchiveReproducible: the same inputs give byte-identical archives (so re-imports are no-ops).
func TestArchiveReproducible(t *testing.T) {
	r, err := shellRecipe("/proc/self/exe")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	a, b := filepath.Join(dir, "a.tar"), filepath.Join(dir, "b.tar")
	for _, out := range []string{a, b} {
		if err := writeArchive(r, "127.0.0.1:5999/backupctl/testshell:test", out); err != nil {
			t.Fatal(err)
		}
	}
	x, _ := os.ReadFile(a)
	y, _ := os.ReadFile(b)
	if len(x) == 0 || string(x) != string(y) {
		t.Errorf("two archives of the same image differ (%d and %d bytes)", len(x), len(y))
	}
}
