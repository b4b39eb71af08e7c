package faults

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	_ "github.com/go-sql-driver/mysql"

	"github.com/backupctl/backupctl/backup/format"
	"github.com/backupctl/backupctl/internal/testenv"
	"github.com/backupctl/backupctl/storage"
)

// maxRSS bounds the peak resident memory of backupctl reading a crafted object: what it needs
// for a real backup of any size, far below what each of these objects asked for before reads
// were bounded (2 GB, 557 MB, 5.1 GB).
const maxRSS = 64 << 10 // KiB

// rleFrame is a zstd frame as a crafted object holds one: its header declares a window of
// 1<<windowLog bytes, and it has blocks RLE blocks of 128 KiB of newlines, 4 bytes each.
func rleFrame(windowLog uint, blocks int) []byte {
	b := []byte{0x28, 0xB5, 0x2F, 0xFD, 0x00, byte(windowLog-10) << 3}
	for i := range blocks {
		h := uint32(128<<10)<<3 | 1<<1
		if i == blocks-1 {
			h |= 1
		}
		b = append(b, byte(h), byte(h>>8), byte(h>>16), '\n')
	}
	return b
}

// section is a section of a crafted backup: its stored bytes and what the manifest says of
// its uncompressed length.
type section struct {
	frame []byte
	raw   int64
}

// realSection is a section as backupctl writes it.
func realSection(t *testing.T, sql string) section {
	t.Helper()
	codec, err := format.NewFrameCodec(format.CompressZstd, 0, 1)
	if err != nil {
		t.Fatal(err)
	}
	defer codec.Close()
	frame, err := codec.Encode(nil, []byte(sql))
	if err != nil {
		t.Fatal(err)
	}
	return section{frame, int64(len(sql))}
}

// storeCrafted stores a backup of a header, one table's data (in chunks when there are more
// than one) and a footer, with a manifest that describes the sections as given: consistent
// ranges, sizes and checksums, as anyone who can write to the bucket can make one.
func storeCrafted(t *testing.T, b storage.Bucket, id string, header section, data []section, footer section) {
	t.Helper()
	var obj []byte
	var raw int64
	add := func(s section) format.Range {
		r := format.Range{Offset: int64(len(obj)), Length: int64(len(s.frame)), RawOffset: raw, RawLength: s.raw}
		obj = append(obj, s.frame...)
		raw += s.raw
		return r
	}
	m := &format.Manifest{Format: format.FormatVersion, ID: id, StartedAt: time.Now().UTC(), FinishedAt: time.Now().UTC(), Tool: format.ToolName}
	m.Header = add(header)
	tb := format.Table{Name: "t", Kind: "table"}
	for _, s := range data {
		tb.Chunks = append(tb.Chunks, add(s))
	}
	tb.Data = tb.Chunks[0]
	tb.Data.Length, tb.Data.RawLength = int64(len(obj))-tb.Data.Offset, raw-tb.Data.RawOffset
	if len(data) == 1 {
		tb.Chunks = nil
	}
	m.Databases = []format.Database{{Name: "d", Charset: "utf8mb4", Collation: "utf8mb4_general_ci", Tables: []format.Table{tb}}}
	m.Footer = add(footer)
	sum := sha256.Sum256(obj)
	m.Object = format.Object{Key: id + "/dump.sql.zst", Size: int64(len(obj)), SHA256: hex.EncodeToString(sum[:]), Compression: format.CompressZstd, RawSize: raw}
	put(t, b, m.Object.Key, obj)
	if err := format.PutManifest(t.Context(), b, m); err != nil {
		t.Fatal(err)
	}
}

func put(t *testing.T, b storage.Bucket, key string, data []byte) {
	t.Helper()
	if _, err := b.Put(t.Context(), key, strings.NewReader(string(data)), int64(len(data))); err != nil {
		t.Fatal(err)
	}
}

// rssRunnerEnv, set, makes the test binary a runner: it runs its arguments as a command with its
// own standard streams, writes the command's peak resident memory in KiB to the file the
// variable names, and exits with the command's exit code.
//
// The peak is measured one process away because a process that Go starts inherits its
// starter's peak: Go starts processes with vfork (CLONE_VM), and at exec Linux records the peak
// of the memory the process had until then, the starter's, in the new process's maxrss. The
// runner is small; the test process, holding the crafted objects, is not.
const rssRunnerEnv = "BOUNDS_RSS_RUNNER_OUT"

func init() {
	out := os.Getenv(rssRunnerEnv)
	if out == "" {
		return
	}
	_ = os.Unsetenv(rssRunnerEnv)
	c := exec.Command(os.Args[1], os.Args[2:]...)
	c.Stdin, c.Stdout, c.Stderr = os.Stdin, os.Stdout, os.Stderr
	if err := c.Run(); c.ProcessState == nil {
		fmt.Fprintln(os.Stderr, "bounds runner:", err)
		os.Exit(127)
	}
	rss := c.ProcessState.SysUsage().(*syscall.Rusage).Maxrss
	if err := os.WriteFile(out, []byte(strconv.FormatInt(rss, 10)), 0o600); err != nil {
		fmt.Fprintln(os.Stderr, "bounds runner:", err)
		os.Exit(127)
	}
	os.Exit(c.ProcessState.ExitCode())
}

// runBounded runs backupctl to its end (at most 5 minutes) through the runner and returns its
// result and peak resident memory in KiB.
func runBounded(t *testing.T, env []string, args ...string) (testenv.Result, int64) {
	t.Helper()
	out := filepath.Join(t.TempDir(), "maxrss")
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, os.Args[0], append([]string{binary}, args...)...)
	cmd.Env = append(cliEnv(env), rssRunnerEnv+"="+out)
	var stdout, stderr strings.Builder
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	start := time.Now()
	_ = cmd.Run()
	res := testenv.Result{Prog: "backupctl", Args: args, Code: cmd.ProcessState.ExitCode(), Stdout: stdout.String(), Stderr: stderr.String(), Dur: time.Since(start)}
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatalf("backupctl %s: no peak memory from the runner (%v); exit %d: %s", strings.Join(args, " "), err, res.Code, res.Stderr)
	}
	rss, err := strconv.ParseInt(string(b), 10, 64)
	if err != nil {
		t.Fatal(err)
	}
	return res, rss
}

// Crafted objects in the bucket cannot make backupctl allocate far more than their size: each
// is refused, in one line, with exit 3, and the process stays small. The binary is the one
// the suite runs (BACKUP_FAULTS_BINARY, or built from this checkout: with cgo, the zstd
// library decodes chunks).
func TestBoundsCraftedObjects(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the binary on objects of up to 21 MB; not under -short")
	}
	dir := t.TempDir()
	var rnd [4]byte
	_, _ = rand.Read(rnd[:])
	prefix := "bounds-" + hex.EncodeToString(rnd[:])
	b, err := storage.Open(t.Context(), storage.Config{URL: "file://" + dir, Prefix: prefix})
	if err != nil {
		t.Fatal(err)
	}
	env := []string{"BACKUP_TO=file://" + dir, "BACKUP_S3_PREFIX=" + prefix}
	if out, err := exec.Command(binary, "version").Output(); err == nil {
		t.Logf("binary: %s", strings.TrimSpace(string(out)))
	}
	id := func(s string) string { return "20240101T000000Z-" + s }
	header := realSection(t, "-- header\n"+format.HeaderSQL)
	data := realSection(t, "INSERT INTO `t` VALUES (1);\n")
	footer := func(id string) section { return realSection(t, format.Footer(id)) }

	// A footer whose 16 KiB inflate to 256 MiB: the manifest says it has a footer's length.
	bomb := id("f00001")
	storeCrafted(t, b, bomb, header, []section{data}, section{rleFrame(20, 2048), int64(len(format.Footer(bomb)))})
	// The same footer, with a manifest that says what it inflates to.
	declared := id("f00002")
	storeCrafted(t, b, declared, header, []section{data}, section{rleFrame(20, 2048), 256 << 20})
	// The header declares a 512 MiB window, and 256 MiB of content to fill it.
	window := id("w00001")
	storeCrafted(t, b, window, section{rleFrame(29, 2048), 256 << 20}, []section{data}, footer(window))
	// Two chunks of a table, decoded whole in memory, each declaring a 512 MiB window.
	chunks := id("c00001")
	storeCrafted(t, b, chunks, header, []section{{rleFrame(29, 8), 1 << 20}, {rleFrame(29, 8), 1 << 20}}, footer(chunks))
	// A manifest of 7 million empty tables, 21 MB.
	tables := id("m00001")
	manifest := `{"format":1,"id":"` + tables + `","databases":[{"name":"d","tables":[` + strings.Repeat("{},", 7_000_000-1) + `{}]}]}`
	put(t, b, format.ManifestKey(tables), []byte(manifest))
	good := id("a00001")
	storeCrafted(t, b, good, header, []section{data}, footer(good))

	target := []string{"BACKUP_DB_HOST=127.0.0.1", "BACKUP_DB_USER=bounds", "BACKUP_DB_PASSWORD=unused"}
	for _, c := range []struct {
		name, injected string
		args           []string
		env            []string
		code           int
		want           string // the one-line message; none for list, which shows the others
	}{
		{"verify: a backup as backupctl writes it", "none: the sections of the other cases, as written", []string{"verify", good}, nil, 0, ""},
		{"verify: footer bomb", "footer range of 16 KiB that inflates to 256 MiB; the manifest says a footer's length", []string{"verify", bomb}, nil, 3,
			"backup " + bomb + ": footer section decompresses to more than the 52 bytes the manifest says"},
		{"verify: footer bomb, as the manifest says", "footer range of 16 KiB that inflates to 256 MiB, as the manifest says", []string{"verify", declared}, nil, 3,
			"footer missing: the manifest of " + declared + " gives the footer 268435456 uncompressed bytes, a backupctl footer has 52"},
		{"verify: zstd window of 512 MiB", "header frame declaring a 512 MiB window, with 256 MiB of RLE blocks", []string{"verify", window}, nil, 3,
			"backup " + window + ": header section does not decompress: zstd frame declares a window of 512 MiB: not written by backupctl"},
		{"verify: zstd window of 512 MiB in chunks", "two chunks, frames declaring a 512 MiB window", []string{"verify", chunks}, nil, 3,
			"`d`.`t` data section does not decompress: zstd frame declares a window of 512 MiB: not written by backupctl"},
		{"verify: manifest of 7 M empty tables", "21 MB manifest of 7,000,000 empty tables", []string{"verify", tables}, nil, 3,
			"manifest of backup " + tables + " (" + strconv.Itoa(len(manifest)) + " bytes) holds more than 250000 tables, views, routines, triggers and events"},
		{"restore --dry-run: manifest of 7 M empty tables", "21 MB manifest of 7,000,000 empty tables", []string{"restore", tables, "--local", "--dry-run"}, target, 3,
			"manifest of backup " + tables + " (" + strconv.Itoa(len(manifest)) + " bytes) holds more than 250000 tables"},
		{"list: manifest of 7 M empty tables", "21 MB manifest of 7,000,000 empty tables beside five others", []string{"list"}, nil, 0, ""},
	} {
		t.Run(strings.ReplaceAll(c.name, " ", "_"), func(t *testing.T) {
			o := record(t, "security", c.name, c.injected)
			r, rss := runBounded(t, append(env, c.env...), append(c.args, "-q")...)
			o.set(r)
			t.Logf("exit %d, peak RSS %d KiB: %s", r.Code, rss, r.Message())
			if r.Code != c.code {
				t.Errorf("exit %d, want %d: %s", r.Code, c.code, r.Message())
			}
			if rss > maxRSS {
				t.Errorf("peak RSS %d KiB, more than %d", rss, maxRSS)
			}
			if c.code == 0 && c.args[0] == "verify" {
				o.check("verified; peak RSS " + strconv.Itoa(int(rss>>10)) + " MiB")
				return
			}
			if c.want == "" {
				for _, listed := range []string{bomb, declared, window, chunks, good} {
					if !strings.Contains(r.Stdout, listed) {
						t.Errorf("list does not show %s:\n%s", listed, r.Stdout)
					}
				}
				if strings.Contains(r.Stdout, tables) {
					t.Errorf("list shows the manifest of 7 M tables:\n%s", r.Stdout)
				}
				o.check("the other backups listed", "peak RSS "+strconv.Itoa(int(rss>>10))+" MiB")
				return
			}
			if len(r.Messages()) != 1 || !strings.Contains(r.Message(), c.want) {
				t.Errorf("message %q, want one line with %q", r.Message(), c.want)
			}
			o.check("peak RSS " + strconv.Itoa(int(rss>>10)) + " MiB")
		})
	}
}

// A restore that does not verify first streams the object: the crafted frame is refused there
// too, before any statement of the object reaches the target (the restore creates the database
// it restores into first, and says so).
func TestBoundsRestoreStreamsNoWindow(t *testing.T) {
	if testing.Short() {
		t.Skip("restores to the shared target server; not under -short")
	}
	host, port := os.Getenv("BACKUP_TEST_DST_HOST"), os.Getenv("BACKUP_TEST_DST_PORT")
	if host == "" || port == "" {
		t.Fatal("BACKUP_TEST_DST_HOST and BACKUP_TEST_DST_PORT are not set: run `make up` and source .stack/env")
	}
	dir := t.TempDir()
	b, err := storage.Open(t.Context(), storage.Config{URL: "file://" + dir})
	if err != nil {
		t.Fatal(err)
	}
	id := "20240101T000000Z-w00002"
	var rnd [4]byte
	_, _ = rand.Read(rnd[:])
	db := "bounds_" + hex.EncodeToString(rnd[:])
	storeCrafted(t, b, id, section{rleFrame(29, 2048), 256 << 20}, []section{realSection(t, "INSERT INTO `t` VALUES (1);\n")}, realSection(t, format.Footer(id)))
	env := []string{"BACKUP_TO=file://" + dir, "BACKUP_DB_HOST=" + host, "BACKUP_DB_PORT=" + port,
		"BACKUP_DB_USER=" + os.Getenv("BACKUP_DB_USER"), "BACKUP_DB_PASSWORD=" + os.Getenv("BACKUP_DB_PASSWORD")}
	o := record(t, "security", "restore --no-verify-first: zstd window of 512 MiB", "header frame declaring a 512 MiB window, with 256 MiB of RLE blocks; restored into a new database")
	r, rss := runBounded(t, env, "restore", id, "--local", "--no-verify-first", "--into", db, "-q")
	o.set(r)
	t.Logf("exit %d, peak RSS %d KiB: %s", r.Code, rss, r.Message())
	if r.Code != 3 || len(r.Messages()) != 1 || !strings.Contains(r.Message(), "zstd frame declares a window of 512 MiB: not written by backupctl") {
		t.Errorf("exit %d, message %q: want 3 and the window refused", r.Code, r.Message())
	}
	if rss > maxRSS {
		t.Errorf("peak RSS %d KiB, more than %d", rss, maxRSS)
	}
	conn, err := sql.Open("mysql", os.Getenv("BACKUP_DB_USER")+":"+os.Getenv("BACKUP_DB_PASSWORD")+"@tcp("+net.JoinHostPort(host, port)+")/")
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	t.Cleanup(func() { _, _ = conn.Exec("DROP DATABASE IF EXISTS `" + db + "`") })
	var n int
	if err := conn.QueryRowContext(ctxFor(t, time.Minute), "SELECT COUNT(*) FROM information_schema.TABLES WHERE TABLE_SCHEMA = ?", db).Scan(&n); err != nil {
		t.Fatal(err)
	}
	if n != 0 {
		t.Errorf("%d tables were created in %s on the target", n, db)
	}
	o.check("peak RSS "+strconv.Itoa(int(rss>>10))+" MiB", "no table created on the target")
}
