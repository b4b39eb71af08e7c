package restore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/backupctl/backupctl/backup/dbconn"
	"github.com/backupctl/backupctl/backup/format"
	"github.com/backupctl/backupctl/backup/sqltext"
)

// kindAccounts is the accounts section: users, roles and their grants (backup --users).
const kindAccounts = "accounts"

// accountStatementKinds are the only statements the accounts section may hold, each for one of
// the accounts its manifest lists (see owner); checkAccountsSection refuses anything else before
// the restore changes anything.
var accountStatementKinds = []string{"CREATE USER IF NOT EXISTS", "CREATE ROLE IF NOT EXISTS", "GRANT", "SET DEFAULT ROLE"}

// accountsPlan is what a restore with Users does with the accounts section.
type accountsPlan struct {
	src  *format.Accounts
	list []*accountPlan
	// me is the restoring account as SHOW GRANTS names it, from the target.
	me string
	// plugins are the authentication plugins active on the target.
	plugins map[string]bool
	// proxyable are the accounts whose PROXY privilege the restoring account may grant, as SHOW
	// GRANTS names them (``@`%` stands for every account).
	proxyable []string
	// adminOf are the roles the restoring account may grant (WITH ADMIN OPTION).
	adminOf []string
	dropped bool
}

// accountPlan is one account of the section and what the target holds under its name.
type accountPlan struct {
	a    *format.Account
	name string // as SHOW GRANTS prints it
	// exists on the target; identical when its definition and grants there match the backup's,
	// and then it is kept as it is.
	exists, identical bool
	missing           []string // authentication plugins the target lacks
	// Roles the restore creates: whether the section granted the role to the restoring account,
	// and with the admin option (CREATE ROLE made it the role's admin either way).
	created, grantedMe, adminMe bool
}

// planAccounts decides, from the manifest and the options, whether the accounts section is
// applied; without Users a backup's accounts are only mentioned in the report.
func (s *session) planAccounts() error {
	m := s.m
	if !s.opts.Users {
		if m.Accounts != nil && len(m.Accounts.List) > 0 {
			s.rep.Warnings = append(s.rep.Warnings, fmt.Sprintf("the backup holds %d accounts (users and roles); they are not restored without --users", len(m.Accounts.List)))
		}
		return nil
	}
	if m.Accounts == nil {
		return selectionError{fmt.Errorf("--users: backup %s holds no accounts (it was taken with --users=false or by an older backupctl); restore without --users", m.ID)}
	}
	if !s.p.full {
		return selectionError{fmt.Errorf("--users restores the accounts with the whole backup only (their grants name its databases and tables): leave out --database, --table and --into, or --users")}
	}
	ap := &accountsPlan{src: m.Accounts}
	for i := range m.Accounts.List {
		a := &m.Accounts.List[i]
		if dbconn.IsBuiltinAccount(a.User) {
			return fmt.Errorf("%w: manifest of %s lists the built-in account %s among its accounts", format.ErrVerify, m.ID, dbconn.AccountName(a.User, a.Host, a.Role))
		}
		ap.list = append(ap.list, &accountPlan{a: a, name: dbconn.AccountName(a.User, a.Host, a.Role)})
	}
	s.p.accounts = ap
	return nil
}

// inspectAccounts looks, read-only, at what the target holds under the accounts' names, which
// authentication plugins it has, and who the restoring account is.
func inspectAccounts(ctx context.Context, conn *sql.Conn, ap *accountsPlan) error {
	var cur string
	if err := conn.QueryRowContext(ctx, "SELECT CURRENT_USER()").Scan(&cur); err != nil {
		return fmt.Errorf("read the current account: %w", err)
	}
	if i := strings.LastIndexByte(cur, '@'); i >= 0 {
		ap.me = dbconn.AccountName(cur[:i], cur[i+1:], false)
	}
	grants, err := conn.QueryContext(ctx, "SHOW GRANTS")
	if err != nil {
		return fmt.Errorf("SHOW GRANTS: %w", err)
	}
	for grants.Next() {
		var g string
		if err := grants.Scan(&g); err != nil {
			grants.Close()
			return err
		}
		rest, ok := strings.CutPrefix(g, "GRANT PROXY ON ")
		if x, ok2 := strings.CutSuffix(rest, " TO "+ap.me+" WITH GRANT OPTION"); ok && ok2 {
			ap.proxyable = append(ap.proxyable, x)
		} else if r, ok := strings.CutSuffix(strings.TrimPrefix(g, "GRANT "), " TO "+ap.me+" WITH ADMIN OPTION"); ok && !strings.Contains(r, " ON ") {
			ap.adminOf = append(ap.adminOf, r)
		}
	}
	grants.Close()
	if err := grants.Err(); err != nil {
		return fmt.Errorf("SHOW GRANTS: %w", err)
	}
	rs, err := conn.QueryContext(ctx, "SELECT PLUGIN_NAME FROM information_schema.PLUGINS WHERE PLUGIN_TYPE = 'AUTHENTICATION' AND PLUGIN_STATUS = 'ACTIVE'")
	if err != nil {
		return fmt.Errorf("list authentication plugins: %w", err)
	}
	ap.plugins = map[string]bool{}
	for rs.Next() {
		var p string
		if err := rs.Scan(&p); err != nil {
			rs.Close()
			return err
		}
		ap.plugins[p] = true
	}
	rs.Close()
	if err := rs.Err(); err != nil {
		return fmt.Errorf("list authentication plugins: %w", err)
	}
	for _, p := range ap.list {
		for _, pl := range p.a.Plugins {
			if !ap.plugins[pl] {
				p.missing = append(p.missing, pl)
			}
		}
		var one int
		err := conn.QueryRowContext(ctx, "SELECT 1 FROM mysql.global_priv WHERE User = ? AND Host = ?", p.a.User, p.a.Host).Scan(&one)
		switch {
		case errors.Is(err, sql.ErrNoRows):
			continue
		case err != nil:
			return fmt.Errorf("look up account %s (the restoring user needs SELECT on mysql.global_priv): %w", p.name, err)
		}
		p.exists = true
		def, err := dbconn.ReadAccount(ctx, conn, p.a.User, p.a.Host, p.a.Role)
		if err != nil {
			return err
		}
		p.identical = def.Digest() == p.a.Digest
	}
	return nil
}

// refusal says why the accounts cannot be applied as asked, before anything changes: an
// authentication plugin the target lacks (one line per account), or accounts that exist with
// another definition or other grants, without drop.
func (ap *accountsPlan) refusal(drop bool, addr string) error {
	if ap == nil {
		return nil
	}
	var plugins, differ []string
	for _, p := range ap.list {
		for _, pl := range p.missing {
			plugins = append(plugins, fmt.Sprintf("account %s uses the authentication plugin %s, which %s does not have: install it there (INSTALL SONAME 'auth_%s'), or restore without --users", p.name, pl, addr, pl))
		}
		if p.exists && !p.identical {
			if p.name == ap.me {
				// Dropping it would end the restore's own rights half-way.
				return fmt.Errorf("%w: on %s the account the restore connects as, %s, differs from the backup's; it is never dropped: restore --users as another account (root)", ErrTargetNotEmpty, addr, p.name)
			}
			differ = append(differ, p.name)
		}
	}
	if len(plugins) > 0 {
		return errors.New(strings.Join(plugins, "\n"))
	}
	if len(differ) > 0 && !drop {
		return fmt.Errorf("%w: on %s the accounts %s exist with another definition or other grants; pass --drop-existing to drop and recreate them, or restore without --users", ErrTargetNotEmpty, addr, listNames(differ))
	}
	return nil
}

// withAccountsRefusal adds the accounts' refusal to the databases' (either may be nil). A dry
// run also reads the section here for the grants the restoring account could not give, which
// a restore checks once the object is verified.
func (s *session) withAccountsRefusal(ctx context.Context, refusal error) error {
	r := s.p.accounts.refusal(s.opts.DropExisting, s.target.Address())
	if r == nil && s.opts.DryRun {
		r = s.checkAccountsSection(ctx)
	}
	switch {
	case r == nil:
		return refusal
	case refusal == nil:
		return r
	}
	return fmt.Errorf("%w; %w", refusal, r)
}

// planned lists the accounts for a dry run, with what a real restore would do.
func (ap *accountsPlan) planned(drop bool) []PlannedObject {
	if ap == nil {
		return nil
	}
	var out []PlannedObject
	for _, p := range ap.list {
		o := PlannedObject{Kind: "user", Name: p.name}
		if p.a.Role {
			o.Kind = "role"
		}
		switch {
		case len(p.missing) > 0:
			o.Action = "authentication plugin " + strings.Join(p.missing, ", ") + " missing on the target: refused"
		case p.identical:
			o.Action = "exists identical: kept"
		case p.exists && drop:
			o.Action = "exists with another definition or grants: drop and recreate"
		case p.exists:
			o.Action = "exists with another definition or grants: refused without --drop-existing"
		}
		out = append(out, o)
	}
	return out
}

// owner is the account a statement of the section is for, or nil.
func (ap *accountsPlan) owner(q string) *accountPlan {
	for _, p := range ap.list {
		for _, head := range []string{"CREATE USER IF NOT EXISTS ", "CREATE ROLE IF NOT EXISTS "} {
			if rest, ok := strings.CutPrefix(q, head+p.name); ok && (rest == "" || rest[0] == ' ') {
				return p
			}
		}
	}
	if strings.HasPrefix(q, "CREATE ") {
		return nil
	}
	for _, p := range ap.list {
		if dbconn.IsFor(q, p.name) {
			return p
		}
	}
	return nil
}

// statementKind is the kind of an accounts statement, for messages that must not show the
// statement (it may hold a password hash).
func statementKind(q string) string {
	for _, k := range accountStatementKinds {
		if strings.HasPrefix(q, k+" ") {
			return k
		}
	}
	return "unexpected statement"
}

// checkAccountsSection reads the accounts section alone, before anything is applied, and
// refuses it unless every statement is of accountStatementKinds and for a listed account.
func (s *session) checkAccountsSection(ctx context.Context) error {
	ap := s.p.accounts
	if ap == nil || ap.src.Range.Length == 0 {
		return nil
	}
	sec := &section{kind: kindAccounts, r: ap.src.Range}
	sp := spans([]*section{sec})[0]
	var proxies, roles []string
	_, err := streamSpan(ctx, s.b, s.m, sp, func(_ context.Context, st sqltext.Statement, _ *section) error {
		p, err := ap.check(st)
		if err != nil {
			return err
		}
		if r := ap.roleGranted(st.SQL); r != nil && r.identical && !p.identical && !slices.Contains(ap.adminOf, r.name) {
			// A role kept as it is was not created by this restore: only its admins may grant it.
			roles = append(roles, fmt.Sprintf("role %s to %s", r.name, p.name))
		}
		if x, ok := strings.CutPrefix(st.SQL, "GRANT PROXY ON "); ok {
			x, _, _ = strings.Cut(x, " TO "+p.name)
			if !slices.Contains(ap.proxyable, x) && !slices.Contains(ap.proxyable, "``@`%`") {
				proxies = append(proxies, fmt.Sprintf("PROXY ON %s TO %s", x, p.name))
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("accounts section: %w; nothing was applied", err)
	}
	if len(roles) > 0 {
		return fmt.Errorf("%s cannot grant %s: it is not the admin of those existing roles; restore --users as their admin, or with --drop-existing after dropping the roles; nothing was applied", ap.me, listNames(roles))
	}
	if len(proxies) > 0 {
		return fmt.Errorf("%s cannot grant %s (it needs PROXY ON ''@'%%' WITH GRANT OPTION, as root has): restore --users as such an account; nothing was applied", ap.me, listNames(proxies))
	}
	return nil
}

// check returns the account a statement of the section is for, or why it is refused.
func (ap *accountsPlan) check(st sqltext.Statement) (*accountPlan, error) {
	p := ap.owner(st.SQL)
	if !slices.Contains(accountStatementKinds, statementKind(st.SQL)) || p == nil {
		return nil, fmt.Errorf("%w: the statement at offset %d is not a CREATE USER, CREATE ROLE, GRANT or SET DEFAULT ROLE for an account the manifest lists", format.ErrVerify, st.Offset)
	}
	return p, nil
}

// applyAccount executes one statement of the accounts section. The statements of an account
// kept as it is are left out but for grants of roles this restore recreates. Errors name the
// account and the kind of statement, never its text.
func (a *applier) applyAccount(ctx context.Context, st sqltext.Statement) error {
	ap := a.plan.accounts
	if !ap.dropped {
		ap.dropped = true
		if err := a.dropAccounts(ctx); err != nil {
			return err
		}
	}
	q := st.SQL
	p, err := ap.check(st)
	if err != nil {
		return fmt.Errorf("accounts section: %w", err)
	}
	if p.identical {
		// Its grants are there already, but for a role this restore recreated.
		if r := ap.roleGranted(q); r == nil || r.identical {
			return nil
		}
	}
	ap.noteRoleGrant(q)
	if _, err := a.conn.ExecContext(ctx, q); err != nil {
		return fmt.Errorf("accounts section: %s for %s (statement at offset %d): %w", statementKind(q), p.name, st.Offset, err)
	}
	if p.a.Role && !p.identical && strings.HasPrefix(q, "CREATE ROLE ") {
		p.created = true
	}
	if !p.identical {
		a.accountsTouched = true
	}
	return nil
}

// roleGranted is the role a GRANT of a role gives, or nil.
func (ap *accountsPlan) roleGranted(q string) *accountPlan {
	for _, p := range ap.list {
		if p.a.Role && strings.HasPrefix(q, "GRANT "+p.name+" TO ") {
			return p
		}
	}
	return nil
}

// noteRoleGrant records a grant of a role the restore creates to the restoring account.
func (ap *accountsPlan) noteRoleGrant(q string) {
	for _, p := range ap.list {
		if !p.a.Role || p.identical {
			continue
		}
		head := "GRANT " + p.name + " TO " + ap.me
		switch q {
		case head:
			p.grantedMe = true
		case head + " WITH ADMIN OPTION":
			p.grantedMe, p.adminMe = true, true
		}
	}
}

// dropAccounts drops the accounts that exist with another definition (refused earlier unless
// DropExisting), right before the section recreates them.
func (a *applier) dropAccounts(ctx context.Context) error {
	for _, p := range a.plan.accounts.list {
		if !p.exists || p.identical {
			continue
		}
		q := "DROP USER " + p.name
		if p.a.Role {
			q = "DROP ROLE " + p.name
		}
		a.log.Info("dropping existing account", "account", p.name)
		if err := a.exec(ctx, q); err != nil {
			return fmt.Errorf("account %s: drop existing: %w", p.name, err)
		}
		a.accountsTouched = true
	}
	return nil
}

// finishAccounts takes back what CREATE ROLE gave the restoring account and the source did
// not: the role, or its admin option. It runs after a failed restore too, for the roles
// created by then.
func (a *applier) finishAccounts(ctx context.Context) error {
	ap := a.plan.accounts
	if ap == nil || ap.me == "" {
		return nil
	}
	n := 0
	for _, p := range ap.list {
		if p.identical {
			continue
		}
		n++
		if !p.created {
			continue
		}
		var q string
		switch {
		case !p.grantedMe:
			q = "REVOKE " + p.name + " FROM " + ap.me
		case !p.adminMe:
			q = "REVOKE ADMIN OPTION FOR " + p.name + " FROM " + ap.me
		default:
			continue
		}
		if err := a.exec(ctx, q); err != nil {
			return fmt.Errorf("role %s: take back the grant CREATE ROLE gave %s: %w", p.name, ap.me, err)
		}
	}
	a.rep.Accounts = n
	a.log.Info("restored accounts", "created", n, "kept", len(ap.list)-n)
	return nil
}
