package restore_test

// Users, roles and grants: backed up with Users from the source, restored into the target with
// Users, and replayed with the stock client; compared account by account.

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/backupctl/backupctl/backup"
	"github.com/backupctl/backupctl/backup/format"
	"github.com/backupctl/backupctl/backup/restore"
	"github.com/backupctl/backupctl/contract"
	"github.com/backupctl/backupctl/internal/cli"
	"github.com/backupctl/backupctl/internal/dbtest"
	"github.com/backupctl/backupctl/storage"
)

// rootOf is server s as root over its Unix socket: the test creates accounts with grants (PROXY)
// that only root can give.
func rootOf(t *testing.T, s *dbtest.Server, socketVar string) *dbtest.Server {
	t.Helper()
	sock := os.Getenv(socketVar)
	if sock == "" {
		t.Fatalf("%s is not set: run `make up` and source .stack/env", socketVar)
	}
	return &dbtest.Server{Name: s.Name + " (root)", Socket: sock, User: "root"}
}

// testAccount is one account the test creates.
type testAccount struct {
	user, host string
	role       bool
}

func (a testAccount) name() string {
	if a.role {
		return dbtest.QuoteIdent(a.user)
	}
	return dbtest.QuoteIdent(a.user) + "@" + dbtest.QuoteIdent(a.host)
}

// accountState is what a server says about the test's accounts: SHOW CREATE USER, SHOW GRANTS
// (sorted), the mysql.global_priv row without password_last_changed (CREATE USER sets it to
// the time of the restore; an expired password keeps its 0), and the role mappings to them.
func accountState(t *testing.T, db *sql.DB, accts []testAccount) []string {
	t.Helper()
	var out []string
	for _, a := range accts {
		if !a.role {
			var create string
			if err := db.QueryRowContext(t.Context(), "SHOW CREATE USER "+a.name()).Scan(&create); err != nil {
				out = append(out, a.name()+" create: "+err.Error())
			} else {
				out = append(out, a.name()+" create: "+create)
			}
		}
		grants := queryStrings(t, db, "SHOW GRANTS FOR "+a.name())
		slices.Sort(grants)
		for _, g := range grants {
			out = append(out, a.name()+" grant: "+g)
		}
		var priv string
		err := db.QueryRowContext(t.Context(), "SELECT Priv FROM mysql.global_priv WHERE User = ? AND Host = ?", a.user, a.host).Scan(&priv)
		if err != nil {
			out = append(out, a.name()+" global_priv: "+err.Error())
			continue
		}
		var m map[string]any
		if err := json.Unmarshal([]byte(priv), &m); err != nil {
			t.Fatal(err)
		}
		if v, ok := m["password_last_changed"]; ok && v != float64(0) {
			m["password_last_changed"] = "set"
		}
		b, _ := json.Marshal(m)
		out = append(out, a.name()+" global_priv: "+string(b))
		for _, r := range queryStrings(t, db, "SELECT CONCAT(User, '@', Host, ' ', Role, ' ', Admin_option) FROM mysql.roles_mapping WHERE (User = ? AND Host = ?) OR Role = ? ORDER BY 1", a.user, a.host, a.user) {
			out = append(out, a.name()+" mapping: "+r)
		}
	}
	return out
}

func queryStrings(t *testing.T, db *sql.DB, q string, args ...any) []string {
	t.Helper()
	rs, err := db.QueryContext(t.Context(), q, args...)
	if err != nil {
		return []string{"error: " + err.Error()}
	}
	defer rs.Close()
	var out []string
	for rs.Next() {
		var s string
		if err := rs.Scan(&s); err != nil {
			t.Fatal(err)
		}
		out = append(out, s)
	}
	if err := rs.Err(); err != nil {
		return append(out, "error: "+err.Error())
	}
	return out
}

// withoutMappings leaves out the role mappings of the given grantees (built-in accounts and
// the restoring one, whose CREATE ROLE mappings a restore does not reproduce).
func withoutMappings(state []string, grantees ...string) []string {
	var out []string
	for _, s := range state {
		skip := false
		for _, g := range grantees {
			skip = skip || strings.Contains(s, " mapping: "+g+" ")
		}
		if !skip {
			out = append(out, s)
		}
	}
	return out
}

// ensurePlugin installs the ed25519 plugin on s unless it is active, and uninstalls it when
// the test ends if it installed it.
func ensurePlugin(t *testing.T, db *sql.DB) {
	t.Helper()
	var status string
	err := db.QueryRowContext(t.Context(), "SELECT PLUGIN_STATUS FROM information_schema.PLUGINS WHERE PLUGIN_NAME = 'ed25519'").Scan(&status)
	if err == nil && status == "ACTIVE" {
		return
	}
	if _, err := db.ExecContext(t.Context(), "INSTALL SONAME 'auth_ed25519'"); err != nil {
		t.Fatalf("install ed25519: %v", err)
	}
	t.Cleanup(func() {
		if _, err := db.ExecContext(context.WithoutCancel(t.Context()), "UNINSTALL SONAME 'auth_ed25519'"); err != nil {
			t.Logf("uninstall ed25519: %v", err)
		}
	})
}

func dropAccounts(ctx context.Context, db *sql.DB, accts []testAccount) error {
	var errs []error
	for _, a := range accts {
		q := "DROP USER IF EXISTS " + a.name()
		if a.role {
			q = "DROP ROLE IF EXISTS " + a.name()
		}
		if _, err := db.ExecContext(ctx, q); err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", q, err))
		}
	}
	return errors.Join(errs...)
}

func TestRestoreAccounts(t *testing.T) {
	src, dst := dbtest.Source(t), dbtest.Target(t)
	rsrc, rdst := rootOf(t, src, "BACKUP_TEST_ROOT_SOCKET"), rootOf(t, dst, "BACKUP_TEST_DST_SOCKET")
	srcDB, dstDB := rsrc.DB(t, ""), rdst.DB(t, "")
	ensurePlugin(t, srcDB)
	ensurePlugin(t, dstDB)

	p := strings.TrimPrefix(dbtest.UniqueName("acct"), "acct_")[:6]
	u := func(s string) string { return "ba" + p + "_" + s }
	accts := []testAccount{
		{u("native"), "%", false}, {u("ed"), "localhost", false}, {u("x509"), "10.%", false},
		{u("subj"), "%", false}, {u("locked"), "localhost", false},
		{u("r_read"), "", true}, {u("r_write"), "", true}, {u("r_admin"), "", true},
	}
	// Registered after ensurePlugin's: cleanups run last first, so the accounts are dropped
	// before the plugin is uninstalled.
	t.Cleanup(func() {
		ctx := context.WithoutCancel(t.Context())
		for _, db := range []*sql.DB{srcDB, dstDB} {
			if err := dropAccounts(ctx, db, accts); err != nil {
				t.Logf("drop the test accounts: %v", err)
			}
		}
	})
	db := src.CreateDatabase(t, "acct")
	dst.DropAtEnd(t, db)
	q := dbtest.QuoteIdent(db)
	n := func(i int) string { return accts[i].name() }
	rsrc.Exec(t,
		"CREATE TABLE "+q+".t (a INT, b INT)",
		"CREATE PROCEDURE "+q+".proc() SELECT 1",
		"CREATE USER "+n(0)+" IDENTIFIED BY 'pw-native' PASSWORD EXPIRE INTERVAL 30 DAY",
		"CREATE USER "+n(1)+" IDENTIFIED VIA ed25519 USING PASSWORD('pw-ed') OR mysql_native_password USING PASSWORD('pw-ed2') REQUIRE SSL",
		"CREATE USER "+n(2)+" REQUIRE X509 WITH MAX_QUERIES_PER_HOUR 10 MAX_UPDATES_PER_HOUR 20 MAX_CONNECTIONS_PER_HOUR 30 MAX_USER_CONNECTIONS 4 PASSWORD EXPIRE",
		"CREATE USER "+n(3)+" IDENTIFIED BY 'pw-subj' REQUIRE SUBJECT '/CN=app' AND ISSUER '/CN=ca' AND CIPHER 'AES256-SHA' PASSWORD EXPIRE NEVER",
		"CREATE USER "+n(4)+" IDENTIFIED BY 'pw-locked' ACCOUNT LOCK",
		"CREATE ROLE "+n(5), "CREATE ROLE "+n(6), "CREATE ROLE "+n(7)+" WITH ADMIN "+n(0),
		"GRANT PROCESS, RELOAD ON *.* TO "+n(0)+" WITH GRANT OPTION",
		"GRANT SELECT, INSERT ON "+q+".* TO "+n(0),
		"GRANT SELECT (a), UPDATE (b) ON "+q+".t TO "+n(2),
		"GRANT EXECUTE ON PROCEDURE "+q+".proc TO "+n(3),
		"GRANT PROXY ON "+n(0)+" TO "+n(3),
		"GRANT SELECT ON "+q+".t TO "+n(5),
		"GRANT INSERT ON "+q+".* TO "+n(6)+" WITH GRANT OPTION",
		"GRANT "+n(5)+" TO "+n(6),
		"GRANT "+n(6)+" TO "+n(0)+" WITH ADMIN OPTION",
		"GRANT "+n(5)+" TO "+n(1),
		"SET DEFAULT ROLE "+n(6)+" FOR "+n(0),
		"SET DEFAULT ROLE "+n(5)+" FOR "+n(1),
	)
	before := accountState(t, srcDB, accts)

	dir := t.TempDir()
	b, err := storage.Open(t.Context(), storage.Config{URL: "file://" + dir})
	if err != nil {
		t.Fatal(err)
	}
	var logs bytes.Buffer
	log := slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	res, err := backup.Dump(t.Context(), src.Config(), b, backup.DumpOptions{Databases: []string{db}, Users: true, Logger: log})
	if err != nil {
		t.Fatalf("dump: %v", err)
	}
	m, err := format.LoadManifest(t.Context(), b, res.ID)
	if err != nil {
		t.Fatal(err)
	}
	if m.Accounts == nil || res.Accounts != len(m.Accounts.List) {
		t.Fatalf("manifest accounts %+v, result %d", m.Accounts, res.Accounts)
	}
	var listed []string
	for _, a := range m.Accounts.List {
		listed = append(listed, a.User+"@"+a.Host)
		if slices.Contains([]string{"root", "mariadb.sys", "mysql", "PUBLIC"}, a.User) {
			t.Errorf("built-in account %s@%s is in the backup", a.User, a.Host)
		}
		if a.User == u("ed") && !slices.Contains(a.Plugins, "ed25519") {
			t.Errorf("account %s: plugins %q, want ed25519 among them", a.User, a.Plugins)
		}
	}
	for _, a := range accts {
		if !slices.Contains(listed, a.user+"@"+a.host) {
			t.Errorf("account %s is not in the manifest (%q)", a.name(), listed)
		}
	}
	var hash string
	if err := srcDB.QueryRowContext(t.Context(), "SELECT JSON_VALUE(Priv, '$.authentication_string') FROM mysql.global_priv WHERE User = ? AND Host = ?", accts[0].user, accts[0].host).Scan(&hash); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(logs.String(), hash) || strings.Contains(logs.String(), "IDENTIFIED") {
		t.Errorf("the dump's log holds an account definition")
	}
	// The database and its accounts are gone from the target, as on a new server.
	dst.Exec(t, "DROP DATABASE IF EXISTS "+q)
	if err := dropAccounts(t.Context(), dstDB, accts); err != nil {
		t.Fatal(err)
	}
	clean := accountState(t, dstDB, accts)
	// Accounts of the source that the target lacks (the test's, and any another test has there
	// now) are created by the restores: drop them at the end.
	var extra []testAccount
	for _, a := range m.Accounts.List {
		var one int
		err := dstDB.QueryRowContext(t.Context(), "SELECT 1 FROM mysql.global_priv WHERE User = ? AND Host = ?", a.User, a.Host).Scan(&one)
		if errors.Is(err, sql.ErrNoRows) && !slices.ContainsFunc(accts, func(x testAccount) bool { return x.user == a.User && x.host == a.Host }) {
			extra = append(extra, testAccount{a.User, a.Host, a.Role})
		}
	}
	t.Cleanup(func() {
		if err := dropAccounts(context.WithoutCancel(t.Context()), dstDB, extra); err != nil {
			t.Logf("drop the accounts the restore created: %v", err)
		}
	})

	t.Run("without --users the accounts are skipped and said so", func(t *testing.T) {
		rep, err := backup.Restore(t.Context(), dst.Config(), b, res.ID, backup.RestoreOptions{DryRun: true})
		if err != nil {
			t.Fatal(err)
		}
		if !slices.ContainsFunc(rep.Warnings, func(w string) bool { return strings.Contains(w, "not restored without --users") }) {
			t.Errorf("warnings %q do not say the accounts are skipped", rep.Warnings)
		}
		for _, o := range rep.Plan {
			if o.Kind == "user" || o.Kind == "role" {
				t.Errorf("plan without --users holds %+v", o)
			}
		}
	})
	t.Run("dry run lists the accounts", func(t *testing.T) {
		rep, err := backup.Restore(t.Context(), rdst.Config(), b, res.ID, backup.RestoreOptions{DryRun: true, Users: true})
		if err != nil {
			t.Fatal(err)
		}
		var users, roles int
		for _, o := range rep.Plan {
			switch o.Kind {
			case "user":
				users++
			case "role":
				roles++
			}
		}
		if users < 5 || roles < 3 {
			t.Errorf("dry-run plan has %d users and %d roles: %+v", users, roles, rep.Plan)
		}
		if d := diff(clean, accountState(t, dstDB, accts)); len(d) > 0 {
			t.Errorf("a dry run changed accounts: %q", d)
		}
	})
	t.Run("a missing authentication plugin is refused, naming the account", func(t *testing.T) {
		mm := *m
		acc := *m.Accounts
		acc.List = slices.Clone(acc.List)
		for i := range acc.List {
			if acc.List[i].User == u("ed") {
				acc.List[i].Plugins = append(slices.Clone(acc.List[i].Plugins), "backupctl_absent")
			}
		}
		mm.Accounts = &acc
		_, err := restore.Run(t.Context(), dst.Config(), b, &mm, restore.Options{Users: true}, func(context.Context, storage.Bucket, *format.Manifest, io.Writer) error { return nil })
		if err == nil || !strings.Contains(err.Error(), "account "+n(1)+" uses the authentication plugin backupctl_absent") || strings.Count(err.Error(), "\n") > 0 {
			t.Errorf("err %v, want one line naming %s and the plugin", err, n(1))
		}
		if d := diff(clean, accountState(t, dstDB, accts)); len(d) > 0 {
			t.Errorf("a refused restore changed accounts: %q", d)
		}
	})
	t.Run("an account that cannot grant PROXY is refused before anything changes", func(t *testing.T) {
		rep, err := backup.Restore(t.Context(), dst.Config(), b, res.ID, backup.RestoreOptions{Users: true, DryRun: true})
		if rep == nil || err == nil || !strings.Contains(err.Error(), "cannot grant PROXY ON "+n(0)+" TO "+n(3)) {
			t.Errorf("dry run: report %v, err %v; want the plan and the PROXY refusal", rep != nil, err)
		}
		_, err = backup.Restore(t.Context(), dst.Config(), b, res.ID, backup.RestoreOptions{Users: true})
		if err == nil || !strings.Contains(err.Error(), "cannot grant PROXY ON "+n(0)+" TO "+n(3)) || !strings.Contains(err.Error(), "nothing was applied") {
			t.Errorf("err %v, want a refusal of the PROXY grant to %s", err, n(3))
		}
		if d := diff(clean, accountState(t, dstDB, accts)); len(d) > 0 {
			t.Errorf("a refused restore changed accounts: %q", d)
		}
		var one int
		if err := dstDB.QueryRowContext(t.Context(), "SELECT 1 FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = ?", db).Scan(&one); !errors.Is(err, sql.ErrNoRows) {
			t.Errorf("a refused restore created database %s (%v)", db, err)
		}
	})
	// Restoring accounts takes an account with every privilege, PROXY included: root.
	t.Run("restore --users reproduces every account", func(t *testing.T) {
		rep, err := backup.Restore(t.Context(), rdst.Config(), b, res.ID, backup.RestoreOptions{Users: true})
		if err != nil {
			t.Fatal(err)
		}
		if rep.Accounts < len(accts) {
			t.Errorf("report: %d accounts created, want at least %d", rep.Accounts, len(accts))
		}
		// root created the roles on the source, and on the target, where the restore took back
		// what CREATE ROLE gave it: root's mappings are a built-in account's grants, not in
		// the backup.
		after := accountState(t, dstDB, accts)
		if d := diff(withoutMappings(before, "root@localhost"), after); len(d) > 0 {
			t.Errorf("%d differences between source and target accounts:\n%s", len(d), strings.Join(d, "\n"))
		}
		t.Logf("%d account facts compared", len(before))
	})
	t.Run("an account that differs is refused, and nothing changes", func(t *testing.T) {
		dst.Exec(t, "DROP DATABASE IF EXISTS "+q)
		dst.Exec(t, "ALTER USER "+n(2)+" WITH MAX_QUERIES_PER_HOUR 99")
		changed := accountState(t, dstDB, accts)
		_, err := backup.Restore(t.Context(), rdst.Config(), b, res.ID, backup.RestoreOptions{Users: true})
		if !errors.Is(err, backup.ErrTargetNotEmpty) || cli.ExitCode(err) != contract.ExitRefused || !strings.Contains(err.Error(), n(2)) {
			t.Errorf("err %v (exit %d), want a refusal naming %s with exit %d", err, cli.ExitCode(err), n(2), contract.ExitRefused)
		}
		if strings.Contains(err.Error(), n(1)) {
			t.Errorf("the refusal names %s, which is identical: %v", n(1), err)
		}
		if d := diff(changed, accountState(t, dstDB, accts)); len(d) > 0 {
			t.Errorf("a refused restore changed accounts: %q", d)
		}
		var one int
		if err := dstDB.QueryRowContext(t.Context(), "SELECT 1 FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = ?", db).Scan(&one); !errors.Is(err, sql.ErrNoRows) {
			t.Errorf("a refused restore created database %s (%v)", db, err)
		}
		rep, err := backup.Restore(t.Context(), rdst.Config(), b, res.ID, backup.RestoreOptions{Users: true, DropExisting: true})
		if err != nil {
			t.Fatal(err)
		}
		if rep.Accounts != 1 {
			t.Errorf("with --drop-existing %d accounts were recreated, want 1 (the others are identical and kept)", rep.Accounts)
		}
		if d := diff(withoutMappings(before, "root@localhost"), accountState(t, dstDB, accts)); len(d) > 0 {
			t.Errorf("%d differences after --drop-existing:\n%s", len(d), strings.Join(d, "\n"))
		}
		// An account that holds roles kept on the target can be recreated only by their admin,
		// which root is not (as on the source): refused before anything changes.
		dst.Exec(t, "DROP DATABASE IF EXISTS "+q, "ALTER USER "+n(0)+" WITH MAX_QUERIES_PER_HOUR 99")
		changed = accountState(t, dstDB, accts)
		_, err = backup.Restore(t.Context(), rdst.Config(), b, res.ID, backup.RestoreOptions{Users: true, DropExisting: true})
		if err == nil || !strings.Contains(err.Error(), "cannot grant role "+n(7)+" to "+n(0)) || !strings.Contains(err.Error(), "nothing was applied") {
			t.Errorf("err %v, want a refusal of the grant of %s to %s", err, n(7), n(0))
		}
		if d := diff(changed, accountState(t, dstDB, accts)); len(d) > 0 {
			t.Errorf("a refused restore changed accounts: %q", d)
		}
	})
	t.Run("the stock client replays the accounts", func(t *testing.T) {
		dst.Exec(t, "DROP DATABASE IF EXISTS "+q)
		if err := dropAccounts(t.Context(), dstDB, accts); err != nil {
			t.Fatal(err)
		}
		sqlText, err := exec.CommandContext(t.Context(), "zstd", "-dc", filepath.Join(dir, filepath.FromSlash(res.Key))).Output()
		if err != nil {
			t.Fatalf("zstd -dc: %v", err)
		}
		dbtest.RunClient(t, rdst, "", bytes.NewReader(sqlText), dbtest.ClientOptions{})
		// The replaying account (root) is admin of every role it created, as CREATE ROLE makes
		// it; the source's root mappings came the same way, but for the role created WITH ADMIN.
		if d := diff(withoutMappings(before, "root@localhost"), withoutMappings(accountState(t, dstDB, accts), "root@localhost")); len(d) > 0 {
			t.Errorf("%d differences after the stock replay:\n%s", len(d), strings.Join(d, "\n"))
		}
	})
}

// diff lists the lines only one side has.
func diff(a, b []string) []string {
	var out []string
	for _, s := range a {
		if !slices.Contains(b, s) {
			out = append(out, "- "+s)
		}
	}
	for _, s := range b {
		if !slices.Contains(a, s) {
			out = append(out, "+ "+s)
		}
	}
	return out
}
