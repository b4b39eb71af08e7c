package dbconn

import "testing"

func TestStripIdentified(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"GRANT USAGE ON *.* TO `u`@`%`", "GRANT USAGE ON *.* TO `u`@`%`"},
		{"GRANT USAGE ON *.* TO `u`@`%` IDENTIFIED BY PASSWORD '*AB12'", "GRANT USAGE ON *.* TO `u`@`%`"},
		{"GRANT PROCESS ON *.* TO `u`@`%` IDENTIFIED BY PASSWORD '*AB' REQUIRE ISSUER '/CN=y' SUBJECT '/CN=x' WITH GRANT OPTION MAX_QUERIES_PER_HOUR 10",
			"GRANT PROCESS ON *.* TO `u`@`%` REQUIRE ISSUER '/CN=y' SUBJECT '/CN=x' WITH GRANT OPTION MAX_QUERIES_PER_HOUR 10"},
		{"GRANT USAGE ON *.* TO `e`@`localhost` IDENTIFIED VIA ed25519 USING 'Gv2+x' OR mysql_native_password USING '*74' REQUIRE SSL",
			"GRANT USAGE ON *.* TO `e`@`localhost` REQUIRE SSL"},
		// A quoted string holding what looks like the next clause does not end the clause.
		{"GRANT USAGE ON *.* TO `p`@`%` IDENTIFIED VIA pam USING 'svc WITH x' WITH MAX_USER_CONNECTIONS 2",
			"GRANT USAGE ON *.* TO `p`@`%` WITH MAX_USER_CONNECTIONS 2"},
		{"GRANT USAGE ON *.* TO `p`@`%` IDENTIFIED VIA pam USING 'it''s \\' REQUIRE '", "GRANT USAGE ON *.* TO `p`@`%`"},
	} {
		if got := StripIdentified(c.in); got != c.want {
			t.Errorf("StripIdentified(%q)\n got %q\nwant %q", c.in, got, c.want)
		}
	}
}

func TestIsFor(t *testing.T) {
	for _, c := range []struct {
		stmt, name string
		want       bool
	}{
		{"GRANT `r1` TO `u`@`%` WITH ADMIN OPTION", "`u`@`%`", true},
		{"GRANT `r1` TO `u`@`%` WITH ADMIN OPTION", "`r1`", false},
		{"GRANT `r1` TO `r2`", "`r2`", true},
		{"GRANT USAGE ON *.* TO `x`@`h`", "`x`", false}, // a role named like the user
		{"GRANT PROXY ON `a`@`b` TO `u`@`%`", "`a`@`b`", false},
		{"GRANT PROXY ON `a`@`b` TO `u`@`%`", "`u`@`%`", true},
		{"SET DEFAULT ROLE `r` FOR `u`@`%`", "`u`@`%`", true},
		{"GRANT SELECT ON `d`.* TO `u`@`%` WITH GRANT OPTION", "`u`@`%`", true},
	} {
		if got := IsFor(c.stmt, c.name); got != c.want {
			t.Errorf("IsFor(%q, %q) = %v", c.stmt, c.name, got)
		}
	}
}
