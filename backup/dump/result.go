package dump

import (
	"time"

	"github.com/backupctl/backupctl/backup/format"
)

// Result is what a successful Run reports: printed by `backup now -o json` and written by the
// dumper as its Job result. It stays small (no per-table detail) to fit a termination message.
type Result struct {
	ID          string `json:"id"`
	Key         string `json:"key"`
	Manifest    string `json:"manifest"`
	Size        int64  `json:"size"`
	SHA256      string `json:"sha256"`
	Compression string `json:"compression"`
	// RawSize is the size of the uncompressed SQL.
	RawSize int64 `json:"raw_size"`
	// Verified is true only when the stored object was read back and matched the manifest.
	Verified bool `json:"verified"`
	// BytesRead is how many stored bytes the verification read back.
	BytesRead       int64     `json:"bytes_read"`
	Databases       []string  `json:"databases"`
	Tables          int       `json:"tables"`
	Rows            int64     `json:"rows"`
	DurationSeconds float64   `json:"duration_seconds"`
	StartedAt       time.Time `json:"started_at"`
	FinishedAt      time.Time `json:"finished_at"`
	// Binlog is the snapshot's binary log position; null when binary logging is off.
	Binlog        *format.Binlog `json:"binlog"`
	ServerVersion string         `json:"server_version"`
	// Accounts is the number of users and roles in the accounts section (--users).
	Accounts int `json:"accounts,omitempty"`
	// Set is the backup set the backup belongs to; Origin is manual or scheduled.
	Set    string `json:"set"`
	Origin string `json:"origin"`
	// Signed says the manifest is signed, by the key KeyID names.
	Signed bool   `json:"signed"`
	KeyID  string `json:"key_id,omitempty"`
	// Encrypted says the object and the manifest's index are encrypted with age.
	Encrypted bool `json:"encrypted,omitempty"`
}
