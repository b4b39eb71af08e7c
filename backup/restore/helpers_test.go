package restore

import (
	"bytes"
	"cmp"
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"fmt"
	"io"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/backupctl/backupctl/backup/dbconn"
	"github.com/backupctl/backupctl/backup/format"
	"github.com/backupctl/backupctl/backup/internal/backuptest"
	"github.com/backupctl/backupctl/backup/sqltext"
	"github.com/backupctl/backupctl/backup/verify"
	"github.com/backupctl/backupctl/internal/testenv"
	"github.com/backupctl/backupctl/storage"
	"github.com/backupctl/backupctl/storage/storagetest"
)

// restoreServers are the test servers from .stack/env.
type restoreServers struct {
	src, dst dbconn.Config
	bucket   storage.Bucket
}

// restoreTestEnv finds the servers that `make up` starts and a prefix of the bucket of its own,
// emptied at the end. Missing ones are a failure (CI must not pass by skipping), except under
// -short.
func restoreTestEnv(t *testing.T) *restoreServers {
	t.Helper()
	s := &restoreServers{}
	s.src, s.dst = backuptest.ServerConfigs(t)
	s.bucket = storagetest.MinIO(t, "restore-test/"+testenv.UniqueName("p"))
	return s
}

// restoreTestDB opens a pool on a test server.
func restoreTestDB(t *testing.T, c dbconn.Config) *sql.DB {
	t.Helper()
	return backuptest.OpenDB(t, c)
}

// restoreDropAtEnd drops the databases when the test ends, whatever happened.
func restoreDropAtEnd(t *testing.T, db *sql.DB, names ...string) {
	t.Cleanup(func() {
		for _, n := range names {
			if _, err := db.ExecContext(context.WithoutCancel(context.Background()), "DROP DATABASE IF EXISTS "+sqltext.QuoteIdent(n)); err != nil {
				t.Logf("drop %s: %v", n, err)
			}
		}
	})
}

// restoreUnchanged runs f and fails the test when it changed the databases names on db; what
// names f in the message.
func restoreUnchanged(t *testing.T, db *sql.DB, names []string, what string, f func()) {
	t.Helper()
	before := restoreInventory(t, db, names...)
	f()
	if after := restoreInventory(t, db, names...); !reflect.DeepEqual(before, after) {
		t.Errorf("%s changed the server:\nbefore %q\nafter  %q", what, before, after)
	}
}

// restoreNewDB returns a new database name from prefix, dropped on db when the test ends.
func restoreNewDB(t *testing.T, db *sql.DB, prefix string) string {
	name := testenv.UniqueName(prefix)
	restoreDropAtEnd(t, db, name)
	return name
}

func restoreQueryStrings(t *testing.T, db *sql.DB, q string, args ...any) []string {
	t.Helper()
	rows, err := db.QueryContext(t.Context(), q, args...)
	if err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	defer rows.Close()
	cols, _ := rows.Columns()
	var out []string
	for rows.Next() {
		vals := make([]sql.NullString, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			t.Fatal(err)
		}
		parts := make([]string, len(cols))
		for i, v := range vals {
			if v.Valid {
				parts[i] = v.String
			} else {
				parts[i] = "NULL"
			}
		}
		out = append(out, strings.Join(parts, "|"))
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// restoreInventory lists what a restore could create or change in the named databases: other
// tests share the servers, so the rest is not looked at. Row counts are exact (TABLE_ROWS is
// an estimate that moves by itself).
func restoreInventory(t *testing.T, db *sql.DB, names ...string) []string {
	t.Helper()
	var out []string
	for _, n := range names {
		out = append(out, restoreQueryStrings(t, db, "SELECT SCHEMA_NAME, DEFAULT_COLLATION_NAME FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = ?", n)...)
		for _, r := range restoreQueryStrings(t, db, "SELECT TABLE_NAME, TABLE_TYPE FROM information_schema.TABLES WHERE TABLE_SCHEMA = ? ORDER BY 1", n) {
			out = append(out, r)
			if tn, typ, _ := strings.Cut(r, "|"); typ == "BASE TABLE" {
				out = append(out, restoreQueryStrings(t, db, "SELECT COUNT(*) FROM "+sqltext.QuoteIdent(n)+"."+sqltext.QuoteIdent(tn))...)
			}
		}
		out = append(out, restoreQueryStrings(t, db, "SELECT ROUTINE_NAME FROM information_schema.ROUTINES WHERE ROUTINE_SCHEMA = ? ORDER BY 1", n)...)
		out = append(out, restoreQueryStrings(t, db, "SELECT TRIGGER_NAME FROM information_schema.TRIGGERS WHERE TRIGGER_SCHEMA = ? ORDER BY 1", n)...)
	}
	return out
}

// restoreFixture is a hand-written backup in the documented format, for testing restore apart
// from the dumper.
type restoreFixture struct {
	db        string
	charset   string
	collation string
	tables    []restoreFixtureTable
	post      string
	views     []string
	routines  []string
	triggers  []string
}

type restoreFixtureTable struct {
	name, kind   string
	schema, data string
	rows         int64
}

const restoreFixtureHeader = "-- backupctl test fixture\n" +
	"SET NAMES utf8mb4;\nSET TIME_ZONE='+00:00';\nSET SQL_MODE='NO_AUTO_VALUE_ON_ZERO';\n" +
	"SET FOREIGN_KEY_CHECKS=0;\nSET UNIQUE_CHECKS=0;\nSET SQL_NOTES=0;\n"

// newRestoreFixture builds a database with the awkward cases: a foreign key loaded child first,
// strings holding delimiters and DELIMITER, a sequence, a qualified view, a trigger and a
// procedure between DELIMITER lines.
func newRestoreFixture(db string) restoreFixture {
	q := sqltext.QuoteIdent(db)
	return restoreFixture{
		db: db, charset: "utf8mb4", collation: "utf8mb4_unicode_ci",
		tables: []restoreFixtureTable{
			{name: "child", kind: "table",
				schema: "CREATE TABLE `child` (\n  `id` int NOT NULL,\n  `parent_id` int NOT NULL,\n  `note` text,\n  PRIMARY KEY (`id`),\n  CONSTRAINT `fk` FOREIGN KEY (`parent_id`) REFERENCES `parent` (`id`)\n) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;\n",
				data:   "INSERT INTO `child` (`id`, `parent_id`, `note`) VALUES (1,1,'a;b'),(2,1,'\\nDELIMITER ;;\\n'),(3,2,'it''s \\'quoted\\' -- not a comment');\n",
				rows:   3},
			{name: "parent", kind: "table",
				schema: "CREATE TABLE `parent` (\n  `id` int NOT NULL,\n  `name` varchar(50) DEFAULT NULL,\n  PRIMARY KEY (`id`)\n) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;\n",
				data:   "INSERT INTO `parent` (`id`, `name`) VALUES (1,'one /* x */'),(2,'two # y');\nINSERT INTO `parent` (`id`, `name`) VALUES (3,NULL);\n",
				rows:   3},
			{name: "empty", kind: "table",
				schema: "CREATE TABLE `empty` (`id` int NOT NULL PRIMARY KEY) ENGINE=InnoDB;\n"},
			{name: "seq", kind: "sequence",
				schema: "CREATE SEQUENCE `seq` start with 1 minvalue 1 maxvalue 9223372036854775806 increment by 1 cache 1000 nocycle ENGINE=InnoDB;\n",
				data:   "SELECT SETVAL(`seq`, 42, 1);\n",
				rows:   1},
		},
		post: "CREATE VIEW `v` AS select " + q + ".`parent`.`id` AS `id`, " + q + ".`parent`.`name` AS `name` from " + q + ".`parent`;\n" +
			"DELIMITER ;;\n" +
			"CREATE TRIGGER `trg` BEFORE INSERT ON `child` FOR EACH ROW BEGIN SET NEW.note = CONCAT(IFNULL(NEW.note, ''), ';t'); END ;;\n" +
			"CREATE PROCEDURE `p`() BEGIN SELECT COUNT(*) FROM " + q + ".`child`; SELECT 'DELIMITER ;'; END ;;\n" +
			"DELIMITER ;\n",
		views:    []string{"v"},
		routines: []string{"p"},
		triggers: []string{"trg"},
	}
}

// restoreSectionWriter writes sections as separate frames and records their ranges.
type restoreSectionWriter struct {
	buf      bytes.Buffer
	raw      int64
	compress string
}

func (w *restoreSectionWriter) section(t *testing.T, sql string) format.Range {
	t.Helper()
	r := format.Range{Offset: int64(w.buf.Len()), RawOffset: w.raw, RawLength: int64(len(sql))}
	if sql == "" {
		return format.Range{}
	}
	f, err := format.NewFrame(&w.buf, w.compress, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.WriteString(f, sql); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	r.Length = int64(w.buf.Len()) - r.Offset
	w.raw += int64(len(sql))
	return r
}

// putRestoreFixture stores the fixtures as one backup and returns its manifest.
func putRestoreFixture(t *testing.T, b storage.Bucket, fixtures ...restoreFixture) *format.Manifest {
	t.Helper()
	id := time.Now().UTC().Format("20060102T150405Z") + "-" + testenv.RandomHex(3)
	w := &restoreSectionWriter{compress: format.CompressZstd}
	m := &format.Manifest{Format: format.FormatVersion, ID: id, StartedAt: time.Now().UTC(), Tool: "backupctl", ToolVersion: "test"}
	m.Header = w.section(t, restoreFixtureHeader)
	for _, f := range fixtures {
		d := format.Database{Name: f.db, Charset: f.charset, Collation: f.collation, Views: f.views, Routines: f.routines, Triggers: f.triggers}
		d.Create = w.section(t, fmt.Sprintf("CREATE DATABASE %s CHARACTER SET %s COLLATE %s;\nUSE %s;\n", sqltext.QuoteIdent(f.db), f.charset, f.collation, sqltext.QuoteIdent(f.db)))
		for _, ft := range f.tables {
			d.Tables = append(d.Tables, format.Table{Name: ft.name, Kind: ft.kind, Rows: ft.rows, Schema: w.section(t, ft.schema)})
		}
		for i, ft := range f.tables {
			d.Tables[i].Data = w.section(t, ft.data)
			sum := sha256.Sum256([]byte(ft.data))
			d.Tables[i].DataSHA256 = hex.EncodeToString(sum[:])
		}
		d.Post = w.section(t, f.post)
		m.Databases = append(m.Databases, d)
	}
	m.Footer = w.section(t, "-- backupctl dump completed "+id+"\n")
	sum := sha256.Sum256(w.buf.Bytes())
	m.Object = format.Object{Key: id + "/dump.sql.zst", Size: int64(w.buf.Len()), SHA256: hex.EncodeToString(sum[:]), Compression: format.CompressZstd, RawSize: w.raw}
	m.FinishedAt = time.Now().UTC()
	if _, err := b.Put(t.Context(), m.Object.Key, bytes.NewReader(w.buf.Bytes()), int64(w.buf.Len())); err != nil {
		t.Fatal(err)
	}
	enc, err := m.Encode()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := b.Put(t.Context(), format.ManifestKey(id), bytes.NewReader(enc), int64(len(enc))); err != nil {
		t.Fatal(err)
	}
	return m
}

// objectGets counts the whole reads of m's object that cb saw (the manifest's are not counted).
func objectGets(cb *storagetest.Faulty, m *format.Manifest) int {
	return cb.Count(storagetest.MethodGet, m.Object.Key)
}

// readRanges are the ranged reads cb saw, as [offset, length].
func readRanges(cb *storagetest.Faulty) [][2]int64 {
	var out [][2]int64
	for _, c := range cb.Calls(storagetest.MethodGetRange) {
		out = append(out, [2]int64{c.Offset, c.Length})
	}
	return out
}

// rangeCover merges the ranged reads cb saw into the intervals of the object they cover, and
// says whether any byte was read twice.
func rangeCover(cb *storagetest.Faulty) (cover [][2]int64, overlap bool) {
	rs := readRanges(cb)
	slices.SortFunc(rs, func(a, b [2]int64) int { return cmp.Compare(a[0], b[0]) })
	for _, r := range rs {
		if n := len(cover); n > 0 && cover[n-1][1] >= r[0] {
			overlap = overlap || cover[n-1][1] > r[0]
			cover[n-1][1] = max(cover[n-1][1], r[0]+r[1])
			continue
		}
		cover = append(cover, [2]int64{r[0], r[0] + r[1]})
	}
	return cover, overlap
}

// rewriteObject replaces the stored object with edit(object), keeping the manifest.
func rewriteObject(t *testing.T, b storage.Bucket, m *format.Manifest, edit func([]byte) []byte) {
	t.Helper()
	rc, err := b.Get(t.Context(), m.Object.Key)
	if err != nil {
		t.Fatal(err)
	}
	data, err := io.ReadAll(rc)
	rc.Close()
	if err != nil {
		t.Fatal(err)
	}
	data = edit(data)
	if _, err := b.Put(t.Context(), m.Object.Key, bytes.NewReader(data), int64(len(data))); err != nil {
		t.Fatal(err)
	}
}

// Restore restores backup id as backup.Restore does, verifying with verify.Backup.
func Restore(ctx context.Context, target dbconn.Config, b storage.Bucket, id string, opts Options) (*Report, error) {
	return ByID(ctx, target, b, id, opts, verifyBackup)
}

// verifyBackup is the Verifier backup.Restore passes.
func verifyBackup(ctx context.Context, b storage.Bucket, m *format.Manifest, raw io.Writer) error {
	_, err := verify.BackupRaw(ctx, b, m, raw)
	return err
}
