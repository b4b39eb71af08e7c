package main

import (
	"fmt"
	"os"
	"path/filepath"
)

// entry is one file, directory or symlink of an image's single layer.
type entry struct {
	path string // absolute, in the image
	mode int64  // permission bits (and sticky)
	uid  int
	data []byte // a regular file's content
	dir  bool
	link string // a symlink's target
}

// recipe is what an image holds and how its container starts.
type recipe struct {
	entries    []entry
	user       string
	entrypoint []string
	env        []string
	workdir    string
}

// caBundle is where Debian (and distroless) keep the CA certificates; Go reads it there.
const caBundle = "/etc/ssl/certs/ca-certificates.crt"

// passwd and group are distroless/static's: root, nobody and nonroot (65532), no login shell.
const (
	passwd = "root:x:0:0:root:/root:/sbin/nologin\n" +
		"nobody:x:65534:65534:nobody:/nonexistent:/sbin/nologin\n" +
		"nonroot:x:65532:65532:nonroot:/home/nonroot:/sbin/nologin\n"
	group = "root:x:0:\nnobody:x:65534:\ntty:x:5:\nstaff:x:50:\nnonroot:x:65532:\n"
)

const defaultPath = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

// dumperBinaries are the files the Dockerfile copies into /usr/local/bin.
var dumperBinaries = []string{"dumper", "backupctl"}

// dumperRecipe is the Dockerfile's image (distroless/static:nonroot plus the two static
// binaries): binDir holds the binaries `make build` wrote, ca is the host's CA bundle.
func dumperRecipe(binDir, ca string) (recipe, error) {
	r := recipe{
		user:       "65532:65532",
		entrypoint: []string{"/usr/local/bin/dumper"},
		env:        []string{defaultPath, "SSL_CERT_FILE=" + caBundle},
		workdir:    "/home/nonroot",
		entries: []entry{
			{path: "/etc", dir: true, mode: 0o755},
			{path: "/etc/passwd", mode: 0o644, data: []byte(passwd)},
			{path: "/etc/group", mode: 0o644, data: []byte(group)},
			{path: "/etc/ssl", dir: true, mode: 0o755},
			{path: "/etc/ssl/certs", dir: true, mode: 0o755},
			{path: "/home", dir: true, mode: 0o755},
			{path: "/home/nonroot", dir: true, mode: 0o700, uid: 65532},
			{path: "/tmp", dir: true, mode: 0o1777},
			{path: "/usr", dir: true, mode: 0o755},
			{path: "/usr/local", dir: true, mode: 0o755},
			{path: "/usr/local/bin", dir: true, mode: 0o755},
		},
	}
	if err := r.addFile(caBundle, ca, 0o644); err != nil {
		return r, err
	}
	for _, b := range dumperBinaries {
		if err := r.addFile("/usr/local/bin/"+b, filepath.Join(binDir, b), 0o755); err != nil {
			return r, err
		}
	}
	return r, nil
}

// pauseRecipe is the sandbox image: the static pause program, run as nobody-like 65535.
func pauseRecipe(bin string) (recipe, error) {
	r := recipe{user: "65535:65535", entrypoint: []string{"/pause"}}
	return r, r.addFile("/pause", bin, 0o755)
}

// shellApplets are the busybox commands the tests' shell scripts use.
var shellApplets = []string{"sh", "cat", "echo", "sleep", "id", "touch", "ls", "env", "grep", "head",
	"tail", "wc", "mkdir", "rm", "test", "true", "false", "date", "printf", "nc", "ps", "kill", "tr", "cut", "sed"}

// shellRecipe is the tests' shell image: a static busybox as /bin/sh and a few applets.
func shellRecipe(busybox string) (recipe, error) {
	r := recipe{
		entrypoint: []string{"/bin/sh"},
		env:        []string{defaultPath},
		entries: []entry{
			{path: "/bin", dir: true, mode: 0o755},
			{path: "/etc", dir: true, mode: 0o755},
			{path: "/etc/passwd", mode: 0o644, data: []byte(passwd)},
			{path: "/etc/group", mode: 0o644, data: []byte(group)},
			{path: "/tmp", dir: true, mode: 0o1777},
		},
	}
	if err := r.addFile("/bin/busybox", busybox, 0o755); err != nil {
		return r, err
	}
	for _, a := range shellApplets {
		r.entries = append(r.entries, entry{path: "/bin/" + a, link: "busybox"})
	}
	return r, nil
}

// addFile adds the host file src as path.
func (r *recipe) addFile(path, src string, mode int64) error {
	b, err := os.ReadFile(src)
	if err != nil {
		return fmt.Errorf("image file %s: %w", path, err)
	}
	r.entries = append(r.entries, entry{path: path, mode: mode, data: b})
	return nil
}
