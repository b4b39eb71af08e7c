package dump

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/backupctl/backupctl/backup/format"
	"github.com/backupctl/backupctl/backup/internal/backuptest"
	"github.com/backupctl/backupctl/backup/sqltext"
	"github.com/backupctl/backupctl/backup/verify"
	"github.com/backupctl/backupctl/internal/testenv"
	"github.com/backupctl/backupctl/storage"
	"github.com/backupctl/backupctl/storage/storagetest"
)

// dumpAdversarialSQL is a database that breaks the other dumpers (see issue 3). %[1]s is the
// database name quoted, %[2]s a marker file a shell command injected through a name would create.
const dumpAdversarialSQL = "SET sql_mode = 'NO_AUTO_VALUE_ON_ZERO';\n" +
	"SET time_zone = '+00:00';\n" +
	"CREATE DATABASE %[1]s CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci;\n" +
	"USE %[1]s;\n" +
	// A table whose default uses a sequence: mariadb-dump's output of it cannot be restored.
	"CREATE SEQUENCE s1 START WITH 100 INCREMENT BY 5 CACHE 10;\n" +
	"DO NEXTVAL(s1); DO NEXTVAL(s1);\n" +
	"CREATE SEQUENCE `s2``cyc` START WITH 1 MAXVALUE 3 CYCLE CACHE 0;\n" +
	"DO NEXTVAL(`s2``cyc`); DO NEXTVAL(`s2``cyc`); DO NEXTVAL(`s2``cyc`); DO NEXTVAL(`s2``cyc`);\n" +
	"CREATE TABLE t_seq (id INT PRIMARY KEY DEFAULT NEXTVAL(s1), v VARCHAR(10));\n" +
	"INSERT INTO t_seq (v) VALUES ('a'), ('b');\n" +
	// Names that inject a shell command into a client replaying a careless dump.
	"CREATE TABLE `we``ird\n\\! touch %[2]s\nname` (`col``tick` INT, `c\n\\! touch %[2]s\nd` TEXT, `\\!ls` INT, `ü ñ 日本` INT);\n" +
	"INSERT INTO `we``ird\n\\! touch %[2]s\nname` VALUES (1, 'x\n\\! touch %[2]s', 2, 3);\n" +
	"CREATE TABLE `\\! touch %[2]s` (a INT);\n" +
	// Other client commands (\q quit, \c clear, \d delimiter, \g go) and delimiters in names.
	"CREATE TABLE `bs\\q\\c\\d ;;\\g\\` (`\\G` INT);\n" +
	"INSERT INTO `bs\\q\\c\\d ;;\\g\\` VALUES (1);\n" +
	"INSERT INTO `\\! touch %[2]s` VALUES (1);\n" +
	"CREATE TABLE vals (\n" +
	" id INT AUTO_INCREMENT PRIMARY KEY,\n" +
	" f FLOAT, d DOUBLE, fu FLOAT UNSIGNED, f53 FLOAT(53),\n" +
	" dec65 DECIMAL(65,30), bi BIGINT UNSIGNED, si BIGINT, ti TINYINT,\n" +
	" b BIT(17), b1 BIT(1), b64 BIT(64),\n" +
	" j JSON, u UUID, i6 INET6, i4 INET4,\n" +
	" g GEOMETRY, p POINT,\n" +
	" bl BLOB, vb VARBINARY(20), bn BINARY(4),\n" +
	" txt TEXT, vc VARCHAR(50), latin VARCHAR(20) CHARACTER SET latin1, bincs VARCHAR(20) CHARACTER SET binary,\n" +
	" dt DATETIME(6), ts TIMESTAMP(6) NULL DEFAULT NULL, dte DATE, tm TIME(3), yr YEAR,\n" +
	" e ENUM('a','b','x y'), st SET('a','b','c'),\n" +
	" gen INT AS (id * 2) VIRTUAL, gens VARCHAR(60) AS (CONCAT(vc, 'x')) STORED,\n" +
	" inv INT INVISIBLE DEFAULT 7\n" +
	") AUTO_INCREMENT = 1000;\n" +
	"INSERT INTO vals (id, f, d, fu, f53, dec65, bi, si, ti, b, b1, b64, j, u, i6, i4, g, p, bl, vb, bn, txt, vc, latin, bincs, dt, ts, dte, tm, yr, e, st, inv) VALUES\n" +
	"(0, 3.4028234e38, 1.7976931348623157e308, 1.17549435e-38, 0.1, -99999999999999999999999999999999999.999999999999999999999999999999, 18446744073709551615, -9223372036854775808, -128, b'10101010101010101', b'1', b'1111111111111111111111111111111111111111111111111111111111111111', '{\"a\": [1, 2.5, \"x\\\\\"y\"], \"b\": null}', '123e4567-e89b-12d3-a456-426614174000', '2001:db8::ff00:42:8329', '192.168.0.1', ST_GeomFromText('POLYGON((0 0,10 0,10 10,0 10,0 0))'), POINT(1.5, -2.25), '', '', 'ab', '', '', '', '', '0000-00-00 00:00:00.000000', '0000-00-00 00:00:00.000000', '0000-00-00', '-838:59:59.000', 0, 'x y', 'a,c', 0),\n" +
	"(1, 1.4e-45, 4.9e-324, 16777217, 0.30000000000000004, 0.000000000000000000000000000001, 0, 0, 0, b'0', b'0', b'0', '[]', '00000000-0000-0000-0000-000000000000', '::', '0.0.0.0', NULL, NULL, x'00275c0a0d1a22', x'00', x'00000000', 'NULL', 'null', 'caf\\xe9', x'ff00fe', '2024-02-29 23:59:59.999999', '2038-01-19 03:14:07.999999', '2020-00-00', '00:00:00.001', 2155, 'a', '', NULL),\n" +
	"(2, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL),\n" +
	"(3, -0.333333343, 0.1, 3.14159274, -1e-300, 1, 1, 1, 1, b'1', b'1', b'1', '\"😀\"', NULL, NULL, NULL, NULL, NULL, REPEAT(x'00ff', 1000), NULL, NULL, 'it''s a \\\\ back\\\\slash\\nnew line\\r\\0nul\\Zctrl-z 😀', 'tab\\there', 'ÿé', NULL, '1000-01-01 00:00:00', '1970-01-01 00:00:01', '9999-12-31', '838:59:59.999', 1901, 'b', 'a,b,c', -1);\n" +
	"UPDATE vals SET latin = CONVERT(x'e9e8ff' USING latin1) WHERE id = 1;\n" +
	// A row larger than one INSERT and many rows that need several.
	"CREATE TABLE big (id INT PRIMARY KEY, v LONGBLOB);\n" +
	"INSERT INTO big SELECT seq, REPEAT(CHAR(MOD(seq, 256)), 500) FROM seq_1_to_5000;\n" +
	"INSERT INTO big VALUES (0, REPEAT(x'5c27', 1500000));\n" +
	// System-versioned tables keep their history.
	"CREATE TABLE hist (a INT PRIMARY KEY, b TEXT) WITH SYSTEM VERSIONING;\n" +
	"INSERT INTO hist VALUES (1, 'one'), (2, 'two');\n" +
	"UPDATE hist SET b = 'uno' WHERE a = 1;\n" +
	"DELETE FROM hist WHERE a = 2;\n" +
	"CREATE TABLE hist2 (a INT, s TIMESTAMP(6) AS ROW START INVISIBLE, e TIMESTAMP(6) AS ROW END INVISIBLE, PERIOD FOR SYSTEM_TIME(s, e)) WITH SYSTEM VERSIONING;\n" +
	"INSERT INTO hist2 VALUES (1); UPDATE hist2 SET a = 2;\n" +
	// Non-transactional tables.
	"CREATE TABLE my (a INT, b VARCHAR(10)) ENGINE = MyISAM;\n" +
	"INSERT INTO my VALUES (1, 'm'), (NULL, '');\n" +
	"CREATE TABLE ar (a INT) ENGINE = Aria;\n" +
	"INSERT INTO ar VALUES (1);\n" +
	"CREATE TABLE emptyt (a INT);\n" +
	// Defaults that SHOW CREATE prints as raw bytes (binary) or converted text (latin1).
	"CREATE TABLE defs (vb VARBINARY(4) DEFAULT x'FF0027', c CHAR(2) CHARACTER SET latin1 DEFAULT 'é', e ENUM('é', '\\\\') CHARACTER SET latin1 DEFAULT 'é') COMMENT 'ü';\n" +
	// Triggers must come after the data they would fire on.
	"CREATE TABLE t_trig (v VARCHAR(50));\n" +
	"INSERT INTO t_trig VALUES ('row');\n" +
	"CREATE TRIGGER trg1 BEFORE INSERT ON t_trig FOR EACH ROW SET NEW.v = CONCAT(NEW.v, '!');\n" +
	"CREATE TRIGGER `trg``2\n\\! touch %[2]s` BEFORE INSERT ON t_trig FOR EACH ROW PRECEDES trg1 SET NEW.v = CONCAT(NEW.v, '?');\n" +
	// Views in an order that name order would break.
	"CREATE VIEW z_base AS SELECT id, vc FROM vals;\n" +
	"CREATE VIEW a_top AS SELECT id FROM z_base WHERE id > 0;\n" +
	"CREATE VIEW `v\n\\! touch %[2]s` AS SELECT 'é' AS `c``1`;\n" +
	"DELIMITER ;;\n" +
	"CREATE FUNCTION f_add(a INT, b INT) RETURNS INT DETERMINISTIC\n" +
	"BEGIN\n" +
	"  -- a comment with ;; inside\n" +
	"  RETURN a + b; /* block comment */\n" +
	"END;;\n" +
	"CREATE PROCEDURE `p\n\\! touch %[2]s`(IN x INT)\n" +
	"BEGIN\n" +
	"  SELECT x, 'a;b', \"c;;d\";\n" +
	"END;;\n" +
	"CREATE PROCEDURE `p;;q\\d`() SELECT ';;' AS `;;`;;\n" +
	"DELIMITER ;\n" +
	"CREATE VIEW v_func AS SELECT f_add(1, 2) AS three;\n" +
	"SET sql_mode = 'ANSI_QUOTES,PIPES_AS_CONCAT';\n" +
	"CREATE PROCEDURE p_ansi() SELECT 'a' || 'b' AS \"x\";\n" +
	"SET sql_mode = 'NO_AUTO_VALUE_ON_ZERO';\n" +
	// A routine created when the database had another collation keeps it.
	"ALTER DATABASE %[1]s COLLATE utf8mb4_general_ci;\n" +
	"CREATE PROCEDURE p_coll(x VARCHAR(5)) SELECT x;\n" +
	"ALTER DATABASE %[1]s COLLATE utf8mb4_unicode_ci;\n" +
	"SET time_zone = '+05:30';\n" +
	"CREATE EVENT ev_disabled ON SCHEDULE EVERY 1 DAY STARTS '2030-01-01 00:00:00' DISABLE COMMENT 'kept off' DO DELETE FROM t_trig WHERE 0;\n" +
	"SET time_zone = '+00:00';\n"

func dumpLoadAdversarial(t *testing.T, s *dumpServers, db, marker string) {
	t.Helper()
	dumpClient(t, s.src, []byte(strings.ReplaceAll(
		strings.ReplaceAll(dumpAdversarialSQL, "%[1]s", sqltext.QuoteIdent(db)), "%[2]s", marker)))
	// latin1 session: a procedure whose body holds a latin1 byte, replayed under its own charset.
	dumpClient(t, s.src, []byte("SET NAMES latin1;\nUSE "+sqltext.QuoteIdent(db)+";\nCREATE PROCEDURE p_latin() SELECT '\xe9' AS e;\n"))
}

// dumpRoundTrip dumps db into b, replays the stored object with the stock tools into the
// target server and compares.
func dumpRoundTrip(t *testing.T, s *dumpServers, db, compression string) *Result {
	t.Helper()
	b, dir := storagetest.Local(t)
	res, err := Run(t.Context(), s.src, b, Options{Databases: []string{db}, Compression: compression})
	if err != nil {
		t.Fatalf("Dump: %v", err)
	}
	if !res.Verified || res.BytesRead != res.Size || res.Size == 0 {
		t.Fatalf("result %+v", res)
	}
	file := filepath.Join(dir, filepath.FromSlash(res.Key))
	if keep := os.Getenv("BACKUP_TEST_KEEP_DUMPS"); keep != "" { // for reading a dump by eye
		if data, err := os.ReadFile(file); err == nil {
			_ = os.WriteFile(filepath.Join(keep, filepath.Base(file)), data, 0o644)
		}
	}
	dumpReplay(t, s.dst, file, compression)
	dumpCompare(t, s.srcDB, s.dstDB, db)
	return res
}

func TestDumpAdversarialRoundTrip(t *testing.T) {
	s := dumpTestEnv(t)
	db := "bk adv`" + testenv.RandomHex(4) + "\n\\! x"
	marker := filepath.Join(os.TempDir(), "pwned-"+testenv.RandomHex(4))
	s.dumpDropAtEnd(t, db)
	dumpLoadAdversarial(t, s, db, marker)
	if _, err := os.Stat(marker); err == nil {
		t.Fatalf("loading the fixture created %s", marker)
	}
	for _, c := range []string{format.CompressZstd, format.CompressGzip, format.CompressNone} {
		t.Run(c, func(t *testing.T) {
			res := dumpRoundTrip(t, s, db, c)
			if _, err := os.Stat(marker); err == nil {
				t.Fatalf("replaying the dump ran a shell command (%s exists)", marker)
			}
			if res.Tables < 10 || res.Rows < 5000 {
				t.Errorf("result %+v", res)
			}
			// Triggers did not fire on restored rows.
			got := dumpQuery(t, s.dstDB, "SELECT v FROM "+sqltext.QuoteIdent(db)+".t_trig")
			if len(got) != 1 || got[0][0] != "'row'" {
				t.Errorf("t_trig on the target: %v", got)
			}
			if _, err := s.dstDB.ExecContext(t.Context(), "DROP DATABASE "+sqltext.QuoteIdent(db)); err != nil {
				t.Fatal(err)
			}
		})
	}
}

// TestDumpFloatExact checks that FLOAT and DOUBLE values come back bit for bit, extremes
// included: the text protocol rounds FLOAT to 6 digits, the dump must not.
func TestDumpFloatExact(t *testing.T) {
	s := dumpTestEnv(t)
	db := testenv.UniqueName("bk_float")
	s.dumpDropAtEnd(t, db)
	floats := []float32{math.MaxFloat32, math.SmallestNonzeroFloat32, -math.MaxFloat32, 1.17549435e-38, 0.1, 1.0 / 3, 16777217, 3.4028e38, 1e-10, 123456.789, -0.0}
	doubles := []float64{math.MaxFloat64, math.SmallestNonzeroFloat64, 2.2250738585072014e-308, 0.1, 0.1 + 0.2, 1.0 / 3, 1e308, 123456789.12345679, 9007199254740993, -1e-300}
	var sqlText strings.Builder
	sqlText.WriteString("CREATE DATABASE " + sqltext.QuoteIdent(db) + ";\nUSE " + sqltext.QuoteIdent(db) + ";\nCREATE TABLE fl (id INT PRIMARY KEY, f FLOAT, d DOUBLE);\n")
	for i := range max(len(floats), len(doubles)) {
		f, d := "NULL", "NULL"
		if i < len(floats) {
			f = strconv.FormatFloat(float64(floats[i]), 'g', -1, 64) // the float's exact value; its shortest form can exceed FLT_MAX
		}
		if i < len(doubles) {
			d = strconv.FormatFloat(doubles[i], 'g', -1, 64)
		}
		sqlText.WriteString("INSERT INTO fl VALUES (" + strconv.Itoa(i) + ", " + f + ", " + d + ");\n")
	}
	dumpClient(t, s.src, []byte(sqlText.String()))
	dumpRoundTrip(t, s, db, format.CompressZstd)
	// Bit-exact on the target: compare with what was inserted, not only with the source.
	for _, r := range dumpQuery(t, s.dstDB, "SELECT id, CAST(f AS DOUBLE), d FROM "+sqltext.QuoteIdent(db)+".fl ORDER BY id") {
		id, _ := strconv.Atoi(strings.Trim(r[0], "'"))
		if id < len(floats) {
			got, err := strconv.ParseFloat(strings.Trim(r[1], "'"), 64)
			if err != nil || math.Float32bits(float32(got)) != math.Float32bits(floats[id]) && floats[id] != 0 {
				t.Errorf("float %d: %s, want %g", id, r[1], floats[id])
			}
		}
		if id < len(doubles) {
			got, err := strconv.ParseFloat(strings.Trim(r[2], "'"), 64)
			if err != nil || got != doubles[id] {
				t.Errorf("double %d: %s, want %g", id, r[2], doubles[id])
			}
		}
	}
}

// TestDumpUploadFailureLeavesNothing: a backup whose upload fails midway leaves no object and no manifest.
func TestDumpUploadFailureLeavesNothing(t *testing.T) {
	s := dumpTestEnv(t)
	db := testenv.UniqueName("bk_fail")
	s.dumpDropAtEnd(t, db)
	dumpClient(t, s.src, []byte("CREATE DATABASE "+sqltext.QuoteIdent(db)+";\nUSE "+sqltext.QuoteIdent(db)+";\nCREATE TABLE t (a LONGBLOB);\nINSERT INTO t SELECT REPEAT(MD5(seq), 100) FROM seq_1_to_2000;\n"))
	b := backuptest.NewMemBucket()
	b.FailPutAfter = 1000
	_, err := Run(t.Context(), s.src, b, Options{Databases: []string{db}})
	if err == nil || !strings.Contains(err.Error(), "injected upload failure") {
		t.Fatalf("Dump = %v, want the upload failure", err)
	}
	if keys := b.Keys(); len(keys) != 0 {
		t.Fatalf("a failed backup left %v", keys)
	}
	ms, err := format.List(t.Context(), b)
	if err != nil || len(ms) != 0 {
		t.Fatalf("List = %v, %v", ms, err)
	}
}

// TestDumpReadBackDiffers: a store that gives back other bytes than it was sent fails the
// backup, and says so, whether the change breaks a frame or not; nothing is left behind.
func TestDumpReadBackDiffers(t *testing.T) {
	s := dumpTestEnv(t)
	db := testenv.UniqueName("bk_readback")
	s.dumpDropAtEnd(t, db)
	dumpClient(t, s.src, []byte("CREATE DATABASE "+sqltext.QuoteIdent(db)+";\nUSE "+sqltext.QuoteIdent(db)+";\nCREATE TABLE t (a INT PRIMARY KEY, b TEXT);\nINSERT INTO t SELECT seq, MD5(seq) FROM seq_1_to_20000;\n"))
	for _, tc := range []struct {
		name, compression string
		readBack          func([]byte) []byte
	}{
		{"a byte of a zstd frame changed", format.CompressZstd, func(v []byte) []byte { v[len(v)/2] ^= 0x40; return v }},
		// Uncompressed, two bytes of the footer swapped: no codec checksum to catch it.
		{"two bytes swapped, no frame checksums", format.CompressNone, func(v []byte) []byte {
			i := bytes.LastIndex(v, []byte("dump completed"))
			v[i], v[i+1] = v[i+1], v[i]
			return v
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := backuptest.NewMemBucket()
			b.ReadBack = tc.readBack
			_, err := Run(t.Context(), s.src, b, Options{Databases: []string{db}, Compression: tc.compression})
			if !errors.Is(err, format.ErrVerify) || !strings.Contains(err.Error(), "read back differs from what was written") {
				t.Fatalf("Dump = %v, want a verification failure saying the read-back differs", err)
			}
			if keys := b.Keys(); len(keys) != 0 {
				t.Fatalf("a failed backup left %v", keys)
			}
		})
	}
}

func TestDumpUnknownDatabase(t *testing.T) {
	s := dumpTestEnv(t)
	b := backuptest.NewMemBucket()
	name := testenv.UniqueName("bk_missing")
	_, err := Run(t.Context(), s.src, b, Options{Databases: []string{name}})
	if !errors.Is(err, ErrUnknownDatabase) || !strings.Contains(err.Error(), name) {
		t.Fatalf("Dump = %v", err)
	}
	if len(b.Puts) != 0 {
		t.Fatalf("uploaded %v before checking the databases", b.Puts)
	}
}

// TestDumpS3VerifyTamperTruncate runs a backup through MinIO, then damages the stored object
// and checks that verify refuses it; and that format.List shows it newest first.
func TestDumpS3VerifyTamperTruncate(t *testing.T) {
	s := dumpTestEnv(t)
	db := testenv.UniqueName("bk_s3")
	s.dumpDropAtEnd(t, db)
	dumpClient(t, s.src, []byte("CREATE DATABASE "+sqltext.QuoteIdent(db)+";\nUSE "+sqltext.QuoteIdent(db)+";\nCREATE TABLE t (a INT PRIMARY KEY, b TEXT);\nINSERT INTO t SELECT seq, MD5(seq) FROM seq_1_to_20000;\n"))
	b := storagetest.MinIO(t, "dump-test/"+testenv.RandomHex(4))
	ctx := t.Context()
	clock := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	now := func() time.Time { clock = clock.Add(time.Second); return clock }
	r1, err := Run(ctx, s.src, b, Options{Databases: []string{db}, Now: now})
	if err != nil {
		t.Fatal(err)
	}
	r2, err := Run(ctx, s.src, b, Options{Databases: []string{db}, Now: now, Compression: format.CompressGzip})
	if err != nil {
		t.Fatal(err)
	}
	ms, err := format.List(ctx, b)
	if err != nil || len(ms) != 2 || ms[0].ID != r2.ID || ms[1].ID != r1.ID {
		t.Fatalf("List = %v, %v", ms, err)
	}
	if rep, err := verify.ByID(ctx, b, r1.ID); err != nil || !rep.Verified || rep.BytesRead != r1.Size {
		t.Fatalf("VerifyID = %+v, %v", rep, err)
	}
	// The verification of a new backup records each table's data checksum: it must be the
	// SHA-256 of the table's data section as a ranged read decompresses it.
	for _, id := range []string{r1.ID, r2.ID} {
		m, err := format.LoadManifest(ctx, b, id)
		if err != nil {
			t.Fatal(err)
		}
		tb := m.Databases[0].Tables[0]
		rc, err := b.GetRange(ctx, m.Object.Key, tb.Data.Offset, tb.Data.Length)
		if err != nil {
			t.Fatal(err)
		}
		dec, err := format.NewDecompressor(rc, m.Object.Compression)
		if err != nil {
			t.Fatal(err)
		}
		h := sha256.New()
		n, err := io.Copy(h, dec)
		rc.Close()
		if err != nil || n != tb.Data.RawLength || hex.EncodeToString(h.Sum(nil)) != tb.DataSHA256 {
			t.Errorf("%s (%s): data section of %d raw bytes (manifest: %d) hashes to %x, manifest says %q (%v)",
				id, m.Object.Compression, n, tb.Data.RawLength, h.Sum(nil), tb.DataSHA256, err)
		}
	}
	rc, err := b.Get(ctx, r1.Key)
	if err != nil {
		t.Fatal(err)
	}
	var obj bytes.Buffer
	_, _ = obj.ReadFrom(rc)
	rc.Close()
	tampered := bytes.Clone(obj.Bytes())
	tampered[len(tampered)/3] ^= 0x40
	if _, err := b.Put(ctx, r1.Key, bytes.NewReader(tampered), int64(len(tampered))); err != nil {
		t.Fatal(err)
	}
	if _, err := verify.ByID(ctx, b, r1.ID); !errors.Is(err, format.ErrVerify) || !strings.Contains(err.Error(), "checksum mismatch") {
		t.Fatalf("tampered: %v", err)
	}
	trunc := obj.Bytes()[:obj.Len()-100]
	if _, err := b.Put(ctx, r1.Key, bytes.NewReader(trunc), int64(len(trunc))); err != nil {
		t.Fatal(err)
	}
	if _, err := verify.ByID(ctx, b, r1.ID); !errors.Is(err, format.ErrVerify) || !strings.Contains(err.Error(), "size mismatch") {
		t.Fatalf("truncated: %v", err)
	}
	if err := b.Delete(ctx, format.ManifestKey(r2.ID)); err != nil {
		t.Fatal(err)
	}
	if _, err := verify.ByID(ctx, b, r2.ID); !errors.Is(err, format.ErrNoManifest) {
		t.Fatalf("no manifest: %v", err)
	}
}

// TestDumpTwoDatabasesCrossView dumps two databases in one snapshot, where a view of the first
// (by name) reads the second: the stock replay works only if the second comes first.
func TestDumpTwoDatabasesCrossView(t *testing.T) {
	s := dumpTestEnv(t)
	r := testenv.RandomHex(4)
	a, b := "bk_a_"+r, "bk_b_"+r
	s.dumpDropAtEnd(t, a, b)
	dumpClient(t, s.src, []byte("CREATE DATABASE "+sqltext.QuoteIdent(b)+" CHARACTER SET latin1;\nCREATE TABLE "+sqltext.QuoteIdent(b)+".t (x INT, s VARCHAR(5));\n"+
		"INSERT INTO "+sqltext.QuoteIdent(b)+".t VALUES (1, 'é');\n"+
		"CREATE DATABASE "+sqltext.QuoteIdent(a)+";\nCREATE VIEW "+sqltext.QuoteIdent(a)+".v AS SELECT x, s FROM "+sqltext.QuoteIdent(b)+".t;\n"))
	bk, dir := storagetest.Local(t)
	res, err := Run(t.Context(), s.src, bk, Options{Databases: []string{a, b}})
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(res.Databases, " ") != b+" "+a {
		t.Errorf("databases in order %v, want %s first", res.Databases, b)
	}
	dumpReplay(t, s.dst, filepath.Join(dir, filepath.FromSlash(res.Key)), format.CompressZstd)
	dumpCompare(t, s.srcDB, s.dstDB, b)
	dumpCompare(t, s.srcDB, s.dstDB, a)
	got := dumpQuery(t, s.dstDB, "SELECT HEX(s) FROM "+sqltext.QuoteIdent(a)+".v")
	if len(got) != 1 || got[0][0] != "'E9'" {
		t.Errorf("view on the target reads %v", got)
	}
}

// cancelBucket cancels the dump's context once the upload has started.
type cancelBucket struct {
	*backuptest.MemBucket
	cancel context.CancelFunc
}

func (b *cancelBucket) Put(ctx context.Context, key string, r io.Reader, size int64) (storage.ObjectInfo, error) {
	if _, err := io.CopyN(io.Discard, r, 100); err != nil {
		return storage.ObjectInfo{}, err
	}
	b.cancel()
	return b.MemBucket.Put(ctx, key, r, size)
}

// TestDumpCancelledLeavesNothing: an interrupted backup reports context.Canceled (exit 130)
// and leaves no object and no manifest.
func TestDumpCancelledLeavesNothing(t *testing.T) {
	s := dumpTestEnv(t)
	db := testenv.UniqueName("bk_cancel")
	s.dumpDropAtEnd(t, db)
	dumpClient(t, s.src, []byte("CREATE DATABASE "+sqltext.QuoteIdent(db)+";\nUSE "+sqltext.QuoteIdent(db)+";\nCREATE TABLE t (a LONGBLOB);\nINSERT INTO t SELECT REPEAT(MD5(seq), 1000) FROM seq_1_to_3000;\n"))
	ctx, cancel := context.WithCancel(t.Context())
	b := &cancelBucket{backuptest.NewMemBucket(), cancel}
	_, err := Run(ctx, s.src, b, Options{Databases: []string{db}})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("Dump = %v, want context.Canceled", err)
	}
	if keys := b.Keys(); len(keys) != 0 {
		t.Fatalf("an interrupted backup left %v", keys)
	}
}

// hookBucket runs hook once the upload has read its first bytes.
type hookBucket struct {
	*backuptest.MemBucket
	hook func()
}

func (b *hookBucket) Put(ctx context.Context, key string, r io.Reader, size int64) (storage.ObjectInfo, error) {
	if strings.HasSuffix(key, format.ManifestName) {
		return b.MemBucket.Put(ctx, key, r, size)
	}
	head := make([]byte, 100)
	if _, err := io.ReadFull(r, head); err != nil {
		return storage.ObjectInfo{}, err
	}
	b.hook()
	return b.MemBucket.Put(ctx, key, io.MultiReader(bytes.NewReader(head), r), size)
}

// TestDumpServerErrorLeavesNothing: a table dropped mid-dump makes the dump fail with a message
// naming it, and nothing is left in the bucket.
func TestDumpServerErrorLeavesNothing(t *testing.T) {
	s := dumpTestEnv(t)
	db := testenv.UniqueName("bk_drop")
	s.dumpDropAtEnd(t, db)
	dumpClient(t, s.src, []byte("CREATE DATABASE "+sqltext.QuoteIdent(db)+";\nUSE "+sqltext.QuoteIdent(db)+";\n"+
		"CREATE TABLE a (v BLOB);\nINSERT INTO a SELECT REPEAT('a', 1000) FROM seq_1_to_2000;\nCREATE TABLE z (v INT);\n"))
	b := &hookBucket{MemBucket: backuptest.NewMemBucket(), hook: func() {
		if _, err := s.srcDB.ExecContext(t.Context(), "DROP TABLE "+sqltext.QuoteIdent(db)+".z"); err != nil {
			t.Errorf("drop: %v", err)
		}
	}}
	// One connection and small frames: its reading of a stalls (frames wait for the upload,
	// which the hook holds) before it opens z. With read-ahead z could already be open in the
	// snapshot, and DROP would wait for the dump's metadata lock while the hook waits for DROP.
	_, err := Run(t.Context(), s.src, b, Options{Databases: []string{db}, Parallel: 1, FrameBytes: 16 << 10})
	if err == nil || !strings.Contains(err.Error(), "`z`") || strings.Contains(err.Error(), "upload") {
		t.Fatalf("Dump = %v, want an error naming table z", err)
	}
	t.Logf("error: %v", err)
	if keys := b.Keys(); len(keys) != 0 {
		t.Fatalf("a failed backup left %v", keys)
	}
}

// TestDumpCaseDistinctDatabases: `bk_Case_x` and `bk_case_x` are two databases; dumping one
// takes none of the other's objects (information_schema compares names case-insensitively).
func TestDumpCaseDistinctDatabases(t *testing.T) {
	var sqlText strings.Builder
	s := dumpTestEnv(t)
	r := testenv.RandomHex(4)
	upper, lower := "bk_Case_"+r, "bk_case_"+r
	s.dumpDropAtEnd(t, upper, lower)
	for _, db := range []string{upper, lower} {
		q := sqltext.QuoteIdent(db)
		sqlText.WriteString("CREATE DATABASE " + q + ";\nUSE " + q + ";\nCREATE TABLE t_" + db + " (a INT);\n" +
			"CREATE PROCEDURE p_" + db + "() SELECT 1;\nCREATE TRIGGER g_" + db + " BEFORE INSERT ON t_" + db + " FOR EACH ROW SET NEW.a = 1;\n" +
			"CREATE EVENT e_" + db + " ON SCHEDULE EVERY 1 DAY DISABLE DO SELECT 1;\nCREATE VIEW v_" + db + " AS SELECT 1 AS x;\n")
	}
	dumpClient(t, s.src, []byte(sqlText.String()))
	b := backuptest.NewMemBucket()
	res, err := Run(t.Context(), s.src, b, Options{Databases: []string{upper}})
	if err != nil {
		t.Fatal(err)
	}
	m, err := format.LoadManifest(t.Context(), b, res.ID)
	if err != nil {
		t.Fatal(err)
	}
	d := m.Databases[0]
	got := fmt.Sprint(len(m.Databases), d.Name, d.Tables[0].Name, len(d.Tables), d.Routines, d.Triggers, d.Events, d.Views)
	want := fmt.Sprint(1, upper, "t_"+upper, 1, []string{"p_" + upper}, []string{"g_" + upper}, []string{"e_" + upper}, []string{"v_" + upper})
	if got != want {
		t.Fatalf("manifest of %s: %s, want %s", upper, got, want)
	}
}

// TestDumpEmptyDatabase: a database without objects still round-trips with its charset.
func TestDumpEmptyDatabase(t *testing.T) {
	s := dumpTestEnv(t)
	db := testenv.UniqueName("bk_empty")
	s.dumpDropAtEnd(t, db)
	dumpClient(t, s.src, []byte("CREATE DATABASE "+sqltext.QuoteIdent(db)+" CHARACTER SET utf8mb3 COLLATE utf8mb3_bin;\n"))
	b, dir := storagetest.Local(t)
	res, err := Run(t.Context(), s.src, b, Options{Databases: []string{db}, Compression: format.CompressNone})
	if err != nil {
		t.Fatal(err)
	}
	dumpReplay(t, s.dst, filepath.Join(dir, filepath.FromSlash(res.Key)), format.CompressNone)
	q := "SELECT DEFAULT_CHARACTER_SET_NAME, DEFAULT_COLLATION_NAME FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = " + sqltext.QuoteString(db)
	if a, b := fmt.Sprint(dumpQuery(t, s.srcDB, q)), fmt.Sprint(dumpQuery(t, s.dstDB, q)); a != b {
		t.Fatalf("source %s, target %s", a, b)
	}
}

// TestListDatabasesDefault: without --database every database but the system schemas is dumped.
func TestListDatabasesDefault(t *testing.T) {
	s := dumpTestEnv(t)
	c, err := s.srcDB.Conn(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	dbs, err := listDatabases(t.Context(), c, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range dbs {
		if systemSchemas[strings.ToLower(d.Name)] {
			t.Errorf("system schema %s selected", d.Name)
		}
		if d.Charset == "" || d.Collation == "" {
			t.Errorf("database %s without charset/collation", d.Name)
		}
	}
	dbs, err = listDatabases(t.Context(), c, []string{"mysql"})
	if err != nil || len(dbs) != 1 || dbs[0].Name != "mysql" {
		t.Fatalf("asking for mysql by name: %v, %v", dbs, err)
	}
	_, err = listDatabases(t.Context(), c, []string{"mysql", "bk_no_such_a", "bk_no_such_b"})
	if !errors.Is(err, ErrUnknownDatabase) || !strings.Contains(err.Error(), "`bk_no_such_a`, `bk_no_such_b`") {
		t.Fatalf("unknown databases: %v", err)
	}
}
