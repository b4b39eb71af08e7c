package cli

import "testing"

func TestBackupWithUsers(t *testing.T) {
	on, off := true, false
	for _, c := range []struct {
		o    BackupOptions
		want bool
	}{
		{BackupOptions{}, true},
		{BackupOptions{Database: []string{"app"}}, false},
		{BackupOptions{Users: &off}, false},
		{BackupOptions{Database: []string{"app"}, Users: &on}, true},
	} {
		if got := c.o.WithUsers(); got != c.want {
			t.Errorf("%+v: WithUsers() = %v, want %v", c.o, got, c.want)
		}
	}
}
