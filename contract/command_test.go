package contract

import (
	"slices"
	"testing"
)

// TestCommandArgsZero: a zero command leaves out every flag but those always given, so the
// dumper takes its defaults. (cmd/dumper's round-trip test covers every field set.)
func TestCommandArgsZero(t *testing.T) {
	always := []string{"--db-timeout=0s", "--db-io-timeout=0s"}
	for _, tc := range []struct {
		got, want []string
	}{
		{BackupCommand{}.Args(), append([]string{"backup", "--compression=", "--compression-level=0"}, always...)},
		{RestoreCommand{ID: "x"}.Args(), append([]string{"restore", "x"}, always...)},
	} {
		if !slices.Equal(tc.got, tc.want) {
			t.Errorf("got %q, want %q", tc.got, tc.want)
		}
	}
}
