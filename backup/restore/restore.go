package restore

import (
	"errors"
	"log/slog"

	"github.com/backupctl/backupctl/backup/crypt"
	"github.com/backupctl/backupctl/backup/format"
)

// ErrTargetNotEmpty means a restore would replace a database or table that holds data; the
// caller must pass DropExisting to allow it.
var ErrTargetNotEmpty = errors.New("restore target is not empty")

// Options selects what to restore and how.
type Options struct {
	// Databases restores only these databases (all when empty).
	Databases []string
	// Into restores the single selected database under this name; with Tables, the tables (of
	// one database) are created in this database, beside the original.
	Into string
	// Tables restores only these tables, each "db.table", reading only their ranges. With
	// Into (one database) they are created in that database instead.
	Tables []string
	// WithoutForeignKeys, for Tables, leaves out of the restored CREATE TABLEs the foreign keys
	// that refer to tables outside the selection. Without it, a foreign key to a table that is
	// neither restored nor on the target refuses the restore before anything changes.
	WithoutForeignKeys bool
	// WithoutTriggers, for Tables, leaves out the triggers of the restored tables.
	WithoutTriggers bool
	// DropExisting allows replacing a non-empty target database or table.
	DropExisting bool
	// DryRun plans from the manifest and read-only checks of the target; it changes nothing.
	DryRun bool
	// NoVerifyFirst skips reading the whole object before applying; it is checked while
	// streaming instead, and a mismatch leaves the target partial.
	NoVerifyFirst bool
	// Logger receives progress events; nil discards them.
	Logger *slog.Logger
	// Parallel is the number of connections loading table data at once (tables, and chunks of
	// a large table); 0 is dbconn.DefaultParallel. Definitions, views, routines and triggers are applied
	// in stream order on one more connection.
	Parallel int
	// Users applies the accounts section (users, roles, grants) of a whole-backup restore.
	Users bool
	// VerifyKey, when set, makes ByID refuse a backup that it does not authenticate, before
	// anything is read or applied.
	VerifyKey *format.VerifyKey
	// Identity decrypts an encrypted backup (backup/crypt); without it one is refused.
	Identity *crypt.Identity
}

// PlannedObject is one object a restore creates.
type PlannedObject struct {
	Kind     string `json:"kind"`
	Database string `json:"database"`
	Name     string `json:"name"`
	Rows     int64  `json:"rows,omitempty"`
	// Action is what a real restore would do here when it is not a plain create.
	Action string `json:"action,omitempty"`
}

// Report says what a restore did (or, for a dry run, would do).
type Report struct {
	ID        string   `json:"id"`
	DryRun    bool     `json:"dry_run"`
	Databases []string `json:"databases"`
	Tables    int      `json:"tables"`
	Rows      int64    `json:"rows"`
	// Bytes is the number of object bytes the restore read from the bucket to apply it.
	Bytes           int64           `json:"bytes"`
	DurationSeconds float64         `json:"duration_seconds"`
	Plan            []PlannedObject `json:"plan,omitempty"`
	Warnings        []string        `json:"warnings,omitempty"`
	// Accounts is the number of users and roles the restore created (Users).
	Accounts int `json:"accounts,omitempty"`
}

// ErrBadSelection marks a --database, --table or --into that does not fit the backup: the
// user's input is wrong and nothing was touched.
var ErrBadSelection = errors.New("bad restore selection")

// selectionError keeps the planner's message and matches ErrBadSelection.
type selectionError struct{ error }

// Unwrap returns the planner's error.
func (e selectionError) Unwrap() error { return e.error }

// Is makes the error ErrBadSelection.
func (selectionError) Is(target error) bool { return target == ErrBadSelection }
