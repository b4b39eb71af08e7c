package faults

import (
	"bytes"
	"encoding/json"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/backupctl/backupctl/contract"
)

// Exit codes of the README.
const (
	exitFailed   = 1
	exitUsage    = 2
	exitVerify   = 3
	exitNotFound = 4
	exitRefused  = 5
)

// badFixture is what the bad-input cases work on: private servers (the shared ones can be held
// by other tests' locks), two small databases, and backups of them under a prefix of their own.
type badFixture struct {
	src, dst   *mariaDB
	s3         *minIO
	prefix     string // holds the backups
	empty      string // a prefix that must stay empty
	dbA, dbB   string
	good       string // a backup of both databases
	tampered   string // its manifest's row count edited
	format99   string // its manifest says "format": 99
	missingObj string // its dump object deleted
	nonEmpty   string // a database on the target that holds a row
}

func newBadFixture(t *testing.T) *badFixture {
	t.Helper()
	f := &badFixture{prefix: "bad", empty: "bad-empty", dbA: "faults_a", dbB: "faults_b", nonEmpty: "faults_full"}
	f.src = startMariaDB(t, "src", "db-pw-bad")
	f.dst = startMariaDB(t, "dst", "db-pw-bad")
	f.s3 = startMinIO(t, "s3-pw-bad", nil)
	st := f.s3.store(t)
	for _, db := range []string{f.dbA, f.dbB} {
		loadSmall(t, f.src, db)
	}
	f.dst.root(t, "CREATE DATABASE faults_full; CREATE TABLE faults_full.t (id INT PRIMARY KEY); INSERT INTO faults_full.t VALUES (1);")
	ids := make([]string, 4)
	for i := range ids {
		r := runCLI(t, f.srcEnv(f.prefix), "backup", "now", "--local", "-o", "json", "-q", "-d", f.dbA+","+f.dbB)
		if r.Code != 0 {
			t.Fatalf("fixture backup: exit %d: %s", r.Code, r.Message())
		}
		ids[i] = resultID(t, r)
	}
	f.good, f.tampered, f.format99, f.missingObj = ids[0], ids[1], ids[2], ids[3]
	edit := func(id string, change func(m map[string]any)) {
		key := f.prefix + "/" + id + "/manifest.json"
		var m map[string]any
		dec := json.NewDecoder(bytes.NewReader(st.get(t, key)))
		dec.UseNumber()
		if err := dec.Decode(&m); err != nil {
			t.Fatal(err)
		}
		change(m)
		b, err := json.MarshalIndent(m, "", "  ")
		if err != nil {
			t.Fatal(err)
		}
		st.put(t, key, b)
	}
	edit(f.tampered, func(m map[string]any) {
		dbs := m["databases"].([]any)
		tbl := dbs[0].(map[string]any)["tables"].([]any)[0].(map[string]any)
		tbl["rows"] = json.Number("1000")
	})
	edit(f.format99, func(m map[string]any) { m["format"] = json.Number("99") })
	st.remove(t, f.prefix+"/"+f.missingObj+"/dump.sql.zst")
	return f
}

// srcEnv reaches the private source and MinIO under prefix.
func (f *badFixture) srcEnv(prefix string) []string { return faultEnv(f.src, f.s3, prefix) }

// dstEnv points the DB settings at the private restore target.
func (f *badFixture) dstEnv(prefix string) []string { return faultEnv(f.dst, f.s3, prefix) }

// targetHas says which of names exist on the target.
func (f *badFixture) targetHas(t *testing.T, names ...string) []string {
	t.Helper()
	var out []string
	have := f.dst.databases(t)
	for _, n := range names {
		if slices.Contains(have, n) {
			out = append(out, n)
		}
	}
	return out
}

func TestBadInput(t *testing.T) {
	needPrivate(t)
	f := newBadFixture(t)
	st := f.s3.store(t)
	endpoint := f.s3.endpoint()
	// Backups name one small database: a case that wrongly goes ahead stays short.
	srcEnv := func(extra ...string) []string {
		return append(append(f.srcEnv(f.empty), "BACKUP_DATABASES="+f.dbA), extra...)
	}
	dstEnv := func(extra ...string) []string { return append(f.dstEnv(f.prefix), extra...) }
	into := "faults_into"
	kube := "KUBECONFIG=" + os.Getenv("KUBECONFIG")
	type tc struct {
		name string
		env  []string
		args []string
		code []int    // accepted exit codes; the first is what the README asks for
		want []string // all must appear: the problem
		fix  []string // one must appear: the fix (a flag, a variable, a command)
	}
	cases := []tc{
		{"wrong DB password", srcEnv("BACKUP_DB_PASSWORD=wrong-password"), []string{"backup", "now", "--local"},
			[]int{exitUsage}, []string{"Access denied"}, []string{"BACKUP_DB_PASSWORD", "--db-password-file"}},
		// A name the resolver refuses before it asks anyone: no query leaves this machine.
		{"unknown DB host", srcEnv("BACKUP_DB_HOST=nosuchhost!", "BACKUP_INSECURE_TRANSPORT=true"), []string{"backup", "now", "--local"},
			[]int{exitUsage}, []string{"nosuchhost!"}, []string{"--db-host"}},
		{"unknown database", srcEnv(), []string{"backup", "now", "--local", "-d", "faults_no_such_db"},
			[]int{exitUsage}, []string{"faults_no_such_db", "does not exist"}, []string{"--database", "SHOW DATABASES"}},
		{"missing bucket", srcEnv("BACKUP_S3_BUCKET=faults-no-such-bucket"), []string{"backup", "now", "--local"},
			[]int{exitUsage}, []string{"faults-no-such-bucket", "does not exist"}, []string{"--bucket"}},
		{"wrong S3 secret key", srcEnv("AWS_SECRET_ACCESS_KEY=wrong-secret"), []string{"backup", "now", "--local"},
			[]int{exitUsage}, []string{"rejected"}, []string{"AWS_SECRET_ACCESS_KEY"}},
		{"wrong S3 access key", srcEnv("AWS_ACCESS_KEY_ID=nobody"), []string{"list"},
			[]int{exitUsage}, []string{"rejected"}, []string{"AWS_ACCESS_KEY_ID"}},
		// A refused connection is transient (exit 75: a Job retries it); the message still names the flag.
		{"endpoint typo: port", srcEnv("BACKUP_S3_ENDPOINT=http://127.0.0.1:1"), []string{"backup", "now", "--local"},
			[]int{contract.ExitTransient}, []string{"cannot reach"}, []string{"--s3-endpoint"}},
		{"endpoint typo: host", srcEnv("BACKUP_S3_ENDPOINT=http://minio!:"+strconv.Itoa(f.s3.port), "BACKUP_INSECURE_TRANSPORT=true"), []string{"list"},
			[]int{exitUsage}, []string{"minio!"}, []string{"--s3-endpoint"}},
		{"endpoint typo: path", srcEnv("BACKUP_S3_ENDPOINT=" + endpoint + "/faults"), []string{"list"},
			[]int{exitUsage}, []string{"no path"}, []string{"--s3-endpoint"}},
		{"TLS failure: https to a plain-http S3", srcEnv("BACKUP_S3_ENDPOINT=" + strings.Replace(endpoint, "http://", "https://", 1)),
			[]string{"list"}, []int{exitUsage}, []string{"TLS"}, []string{"http://", "--s3-endpoint"}},
		{"TLS failure: --db-tls on to a server without TLS", srcEnv(), []string{"backup", "now", "--local", "--db-tls", "on"},
			[]int{exitUsage}, []string{"TLS"}, []string{"--db-tls"}},
		{"S3 CA file on a plain-http endpoint", srcEnv(), []string{"list", "--s3-ca-file", "/etc/ssl/certs/ca-certificates.crt"},
			[]int{exitUsage}, []string{"plain http"}, []string{"--s3-ca-file"}},
		{"part size under 5 MiB", srcEnv(), []string{"backup", "now", "--local", "--s3-part-size", "4MiB"},
			[]int{exitUsage}, []string{"5 MiB"}, []string{"--s3-part-size"}},
		{"part size not a size", srcEnv(), []string{"backup", "now", "--local", "--s3-part-size", "lots"},
			[]int{exitUsage}, []string{"lots"}, []string{"--s3-part-size"}},
		{"prefix with ..", srcEnv("BACKUP_S3_PREFIX=a/../b"), []string{"backup", "now", "--local"},
			[]int{exitUsage}, []string{".."}, []string{"--prefix"}},
		{"compression not supported", srcEnv(), []string{"backup", "now", "--local", "--compression", "lz4"},
			[]int{exitUsage}, []string{"lz4"}, []string{"--compression"}},
		{"compression level out of range", srcEnv(), []string{"backup", "now", "--local", "--compression-level", "99"},
			[]int{exitUsage}, []string{"99"}, []string{"--compression-level"}},
		{"password file missing", srcEnv(), []string{"backup", "now", "--local", "--db-password-file", "/nonexistent/faults-pw"},
			[]int{exitUsage}, []string{"/nonexistent/faults-pw"}, []string{"--db-password-file"}},
		{"no storage given", []string{"BACKUP_DB_PASSWORD=x", "BACKUP_DATABASES=" + f.dbA}, []string{"backup", "now", "--local"},
			[]int{exitUsage}, []string{"no storage"}, []string{"--s3-endpoint", "--to"}},
		{"both --to and --s3-endpoint", srcEnv("BACKUP_TO=file:///tmp"), []string{"list"},
			[]int{exitUsage}, []string{"both"}, []string{"choose one"}},
		{"invalid cron", []string{kube}, []string{"schedule", "set", "--schedule", "61 * * * *", "-n", "faults-none", "--s3-endpoint", "http://127.0.0.1:1", "--bucket", "x"},
			[]int{exitUsage}, []string{"61 * * * *"}, []string{"--schedule"}},
		{"invalid time zone", []string{kube}, []string{"schedule", "set", "--time-zone", "Mars/Olympus", "-n", "faults-none", "--s3-endpoint", "http://127.0.0.1:1", "--bucket", "x"},
			[]int{exitUsage}, []string{"Mars/Olympus"}, []string{"--time-zone"}},
		{"unknown backup id: verify", dstEnv(), []string{"verify", "20200101T000000Z-000000"},
			[]int{exitNotFound}, []string{"20200101T000000Z-000000", "no manifest"}, []string{"backupctl list"}},
		{"unknown backup id: restore", dstEnv(), []string{"restore", "20200101T000000Z-000000", "--local"},
			[]int{exitNotFound}, []string{"20200101T000000Z-000000", "no manifest"}, []string{"backupctl list"}},
		{"manifest of an unknown format version: verify", dstEnv(), []string{"verify", f.format99},
			[]int{exitVerify, exitFailed}, []string{"format 99"}, []string{"use a backupctl"}},
		{"manifest of an unknown format version: restore", dstEnv(), []string{"restore", f.format99, "--local"},
			[]int{exitVerify, exitFailed}, []string{"format 99"}, []string{"use a backupctl"}},
		{"object missing behind a manifest: verify", dstEnv(), []string{"verify", f.missingObj},
			[]int{exitVerify}, []string{"missing"}, []string{f.missingObj}},
		{"object missing behind a manifest: restore", dstEnv(), []string{"restore", f.missingObj, "--local"},
			[]int{exitVerify}, []string{"missing", "nothing was applied"}, []string{f.missingObj}},
		{"tampered manifest: verify", dstEnv(), []string{"verify", f.tampered},
			[]int{exitVerify}, []string{"checksum mismatch"}, []string{"changed"}},
		{"tampered manifest: restore", dstEnv(), []string{"restore", f.tampered, "--local"},
			[]int{exitVerify}, []string{"checksum mismatch"}, []string{"changed"}},
		{"--into with several databases", dstEnv(), []string{"restore", f.good, "--local", "--into", into},
			[]int{exitUsage}, []string{"--into"}, []string{"--database"}},
		{"--table not in the backup", dstEnv(), []string{"restore", f.good, "--local", "--table", f.dbA + ".nope"},
			[]int{exitUsage}, []string{"nope", "no such table"}, []string{"holds"}},
		{"--table not of the form db.table", dstEnv(), []string{"restore", f.good, "--local", "--table", "nodot"},
			[]int{exitUsage}, []string{"nodot"}, []string{"database.table"}},
		{"--without-foreign-keys without --table", dstEnv(), []string{"restore", f.good, "--local", "--without-foreign-keys"},
			[]int{exitUsage}, []string{"--without-foreign-keys"}, []string{"--table"}},
		{"restore into a non-empty database", dstEnv(), []string{"restore", f.good, "--local", "-d", f.dbA, "--into", f.nonEmpty},
			[]int{exitRefused}, []string{f.nonEmpty}, []string{"--drop-existing"}},
		{"unknown flag", srcEnv(), []string{"backup", "now", "--local", "--no-such-flag"},
			[]int{exitUsage}, []string{"--no-such-flag"}, []string{"--help"}},
	}
	if len(cases) < 20 {
		t.Fatalf("only %d cases", len(cases))
	}
	for _, c := range cases {
		t.Run(strings.ReplaceAll(c.name, " ", "_"), func(t *testing.T) {
			o := record(t, "bad input", c.name, "`backupctl "+strings.Join(c.args, " ")+"`"+envNote(c.env, append(srcEnv(), dstEnv()...)))
			keysBefore, emptyBefore := st.keys(t, f.prefix+"/"), st.keys(t, f.empty+"/")
			dbsBefore := f.targetHas(t, f.dbA, f.dbB, into, f.nonEmpty)
			r := startCLI(t, c.env, append(c.args, "-q")...).wait(t, time.Minute)
			o.set(r)
			if !slices.Contains(c.code, r.Code) {
				t.Errorf("exit %d, want %v: %s", r.Code, c.code[0], r.Message())
			}
			msgs := r.Messages()
			if len(msgs) != 1 || strings.TrimSpace(r.Stderr) != msgs[0] {
				t.Errorf("stderr is not one line: %q", r.Stderr)
			}
			msg := r.Message()
			for _, w := range c.want {
				if !strings.Contains(msg, w) {
					t.Errorf("the message does not name the problem (%q): %s", w, msg)
				}
			}
			if !slices.ContainsFunc(c.fix, func(s string) bool { return strings.Contains(msg, s) }) {
				t.Errorf("the message does not name the fix (one of %q): %s", c.fix, msg)
			}
			objectsSame, dbsSame := true, true
			if after := st.keys(t, f.prefix+"/"); !slices.Equal(keysBefore, after) {
				t.Errorf("objects changed under the backups' prefix: before %v, after %v", keysBefore, after)
				objectsSame = false
			}
			if after := st.keys(t, f.empty+"/"); !slices.Equal(emptyBefore, after) {
				t.Errorf("objects created: %v", after)
				objectsSame = false
			}
			if after := f.targetHas(t, f.dbA, f.dbB, into, f.nonEmpty); !slices.Equal(dbsBefore, after) {
				t.Errorf("databases on the target changed: before %v, after %v", dbsBefore, after)
				dbsSame = false
			}
			if objectsSame {
				o.check("no object created or deleted")
			} else {
				o.check("OBJECTS CREATED OR DELETED")
			}
			if dbsSame {
				o.check("no database created or dropped on the target")
			} else {
				o.check("TARGET DATABASES CHANGED")
			}
		})
	}
}

// envNote shows the settings a case changed from the fixture's.
func envNote(env, base []string) string {
	var notes []string
	for _, kv := range env {
		if slices.Contains(base, kv) {
			continue
		}
		k, _, _ := strings.Cut(kv, "=")
		if k == "BACKUP_S3_PREFIX" || k == "KUBECONFIG" || k == "BACKUP_DATABASES" || k == "BACKUP_DB_PORT" || k == "BACKUP_DB_USER" {
			continue
		}
		notes = append(notes, kv)
	}
	if len(notes) == 0 {
		return ""
	}
	return " with " + strings.Join(notes, ", ")
}
