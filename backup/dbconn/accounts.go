package dbconn

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"fmt"
	"slices"
	"strings"

	"github.com/backupctl/backupctl/backup/sqltext"
)

// BuiltinAccounts are the server's own accounts, by user name whatever the host: a backup with
// accounts leaves them out and a restore never touches them. PUBLIC is MariaDB's pseudo-role
// that every account holds.
var BuiltinAccounts = []string{"root", "mariadb.sys", "mysql", "PUBLIC"}

// IsBuiltinAccount says whether user names one of BuiltinAccounts.
func IsBuiltinAccount(user string) bool { return slices.Contains(BuiltinAccounts, user) }

// AccountName is the account as the server prints it in SHOW GRANTS: `user`@`host`, or `role`.
func AccountName(user, host string, role bool) string {
	if role {
		return sqltext.QuoteIdent(user)
	}
	return sqltext.QuoteIdent(user) + "@" + sqltext.QuoteIdent(host)
}

// AccountDef is one account as the server describes it. It holds the password hash: never log
// it.
type AccountDef struct {
	Name string // AccountName
	Role bool
	// Create is SHOW CREATE USER; empty for a role, which SHOW CREATE USER does not describe.
	Create string
	// Grants are the lines of SHOW GRANTS FOR the account itself (for a role, the server also
	// prints the grants of the roles it holds: those are left out), in the server's order.
	Grants []string
}

// ReadAccount reads an account's definition and grants.
func ReadAccount(ctx context.Context, c *sql.Conn, user, host string, role bool) (*AccountDef, error) {
	a := &AccountDef{Name: AccountName(user, host, role), Role: role}
	if !role {
		if err := c.QueryRowContext(ctx, "SHOW CREATE USER "+a.Name).Scan(&a.Create); err != nil {
			return nil, fmt.Errorf("SHOW CREATE USER %s: %w", a.Name, err)
		}
	}
	rs, err := c.QueryContext(ctx, "SHOW GRANTS FOR "+a.Name)
	if err != nil {
		return nil, fmt.Errorf("SHOW GRANTS FOR %s: %w", a.Name, err)
	}
	defer rs.Close()
	for rs.Next() {
		var g string
		if err := rs.Scan(&g); err != nil {
			return nil, fmt.Errorf("SHOW GRANTS FOR %s: %w", a.Name, err)
		}
		if IsFor(g, a.Name) {
			a.Grants = append(a.Grants, g)
		}
	}
	if err := rs.Err(); err != nil {
		return nil, fmt.Errorf("SHOW GRANTS FOR %s: %w", a.Name, err)
	}
	return a, nil
}

// Digest is the SHA-256 of the definition and the grants in sorted order: two servers that
// describe an account alike give it the same digest.
func (a *AccountDef) Digest() string {
	h := sha256.New()
	h.Write([]byte(a.Create))
	h.Write([]byte{0})
	g := slices.Clone(a.Grants)
	slices.Sort(g)
	for _, s := range g {
		h.Write([]byte(s))
		h.Write([]byte{0})
	}
	return hex.EncodeToString(h.Sum(nil))
}

// IsFor says whether a statement of SHOW GRANTS gives something to account name (GRANT ... TO
// name, SET DEFAULT ROLE ... FOR name): name follows " TO " or " FOR " and ends the statement
// or a word.
func IsFor(stmt, name string) bool {
	return accountAt(stmt, " TO "+name) >= 0 || accountAt(stmt, " FOR "+name) >= 0
}

// accountAt is the index of the last occurrence of needle that is followed by the end or a
// space, or -1.
func accountAt(stmt, needle string) int {
	for end := len(stmt); end > 0; {
		i := strings.LastIndex(stmt[:end], needle)
		if i < 0 {
			return -1
		}
		if j := i + len(needle); j == len(stmt) || stmt[j] == ' ' {
			return i
		}
		end = i
	}
	return -1
}

// StripIdentified removes the IDENTIFIED clause that SHOW GRANTS prints in a user's global
// GRANT. Replayed after CREATE USER it would set the password again: a new
// password_last_changed, and an expired password would no longer be.
func StripIdentified(grant string) string {
	i := strings.Index(grant, " IDENTIFIED ")
	if i < 0 {
		return grant
	}
	// The clause runs to REQUIRE, WITH or the end, outside quoted strings.
	j := i + len(" IDENTIFIED ")
	for j < len(grant) {
		switch c := grant[j]; {
		case c == '\'':
			j = skipQuoted(grant, j)
			continue
		case c == ' ' && (strings.HasPrefix(grant[j:], " REQUIRE ") || strings.HasPrefix(grant[j:], " WITH ")):
			return grant[:i] + grant[j:]
		}
		j++
	}
	return grant[:i]
}

// skipQuoted returns the index after the single-quoted string starting at i.
func skipQuoted(s string, i int) int {
	for j := i + 1; j < len(s); j++ {
		switch s[j] {
		case '\\':
			j++
		case '\'':
			if j+1 < len(s) && s[j+1] == '\'' {
				j++
				continue
			}
			return j + 1
		}
	}
	return len(s)
}
