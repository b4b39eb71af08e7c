package dump

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	"github.com/backupctl/backupctl/backup/dbconn"
	"github.com/backupctl/backupctl/backup/format"
)

// accountInfo is one user or role to dump, with its definition (which holds the password hash:
// it goes into the object and its manifest entry only, never into a log).
type accountInfo struct {
	format.Account
	def *dbconn.AccountDef
}

// privJSON is what the dump reads from mysql.global_priv's Priv column.
type privJSON struct {
	IsRole bool   `json:"is_role"`
	Plugin string `json:"plugin"`
	AuthOr []struct {
		Plugin string `json:"plugin"`
	} `json:"auth_or"`
}

// readAccounts reads every user and role but the built-in ones (dbconn.BuiltinAccounts):
// users first, then roles, each by name and host.
func readAccounts(ctx context.Context, c *sql.Conn) ([]*accountInfo, error) {
	rs, err := c.QueryContext(ctx, "SELECT User, Host, Priv FROM mysql.global_priv ORDER BY User, Host")
	if err != nil {
		return nil, fmt.Errorf("read the accounts (the user needs SELECT on mysql.global_priv; or back up without --users): %w", err)
	}
	defer rs.Close()
	var users, roles []*accountInfo
	for rs.Next() {
		var user, host string
		var priv []byte
		if err := rs.Scan(&user, &host, &priv); err != nil {
			return nil, fmt.Errorf("read the accounts: %w", err)
		}
		if dbconn.IsBuiltinAccount(user) {
			continue
		}
		var p privJSON
		if err := json.Unmarshal(priv, &p); err != nil {
			// The column's content is not quoted: it holds the password hash.
			return nil, fmt.Errorf("account %s: mysql.global_priv holds no valid JSON", dbconn.AccountName(user, host, false))
		}
		a := &accountInfo{Account: format.Account{User: user, Host: host, Role: p.IsRole}}
		if p.IsRole {
			a.Host = ""
			roles = append(roles, a)
			continue
		}
		for _, pl := range append([]string{p.Plugin}, authOrPlugins(p)...) {
			if pl != "" && !slices.Contains(a.Plugins, pl) {
				a.Plugins = append(a.Plugins, pl)
			}
		}
		users = append(users, a)
	}
	if err := rs.Err(); err != nil {
		return nil, fmt.Errorf("read the accounts: %w", err)
	}
	rs.Close()
	out := append(users, roles...)
	for _, a := range out {
		if a.def, err = dbconn.ReadAccount(ctx, c, a.User, a.Host, a.Role); err != nil {
			return nil, fmt.Errorf("read the accounts: %w", err)
		}
		a.Digest = a.def.Digest()
	}
	return out, nil
}

func authOrPlugins(p privJSON) []string {
	var out []string
	for _, o := range p.AuthOr {
		out = append(out, o.Plugin)
	}
	return out
}

// accountsSQL is the accounts section: every CREATE USER, then every CREATE ROLE, then the
// grants (objects, proxies, roles to users and roles), then the default roles. Roles exist
// before anything is granted to or with them; the section comes after every database, so
// that table, column and routine grants find their objects. A user's global GRANT is written
// without the IDENTIFIED clause SHOW GRANTS prints: CREATE USER already set the password.
//
// CREATE USER and CREATE ROLE say IF NOT EXISTS, so that a replay with the stock client into a
// server that has some of the accounts (the one replaying, say) goes on: it leaves their
// definitions alone and adds the grants. A restore with backupctl checks every account first
// (see restore's accounts). CREATE ROLE makes the account that replays it the role's admin, as
// on any server; a restore with backupctl takes that grant back where the source did not have
// it.
func accountsSQL(accts []*accountInfo) string {
	var b strings.Builder
	b.WriteString("-- users and roles\n")
	for _, a := range accts {
		if !a.Role {
			b.WriteString(createIfNotExists(a.def.Create) + ";\n")
		}
	}
	for _, a := range accts {
		if a.Role {
			b.WriteString("CREATE ROLE IF NOT EXISTS " + a.def.Name + ";\n")
		}
	}
	var defaults []string
	for _, a := range accts {
		for _, g := range a.def.Grants {
			if strings.HasPrefix(g, "SET DEFAULT ROLE ") {
				defaults = append(defaults, g)
				continue
			}
			b.WriteString(dbconn.StripIdentified(g) + ";\n")
		}
	}
	for _, g := range defaults {
		b.WriteString(g + ";\n")
	}
	return b.String()
}

// createIfNotExists turns SHOW CREATE USER's statement into CREATE USER IF NOT EXISTS.
func createIfNotExists(create string) string {
	if rest, ok := strings.CutPrefix(create, "CREATE USER "); ok {
		return "CREATE USER IF NOT EXISTS " + rest
	}
	return create
}

// manifestAccounts lists the accounts for the manifest.
func manifestAccounts(accts []*accountInfo) *format.Accounts {
	m := &format.Accounts{List: make([]format.Account, len(accts))}
	for i, a := range accts {
		m.List[i] = a.Account
	}
	return m
}
