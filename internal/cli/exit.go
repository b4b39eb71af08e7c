package cli

import (
	"context"
	"errors"
	"fmt"

	"github.com/backupctl/backupctl/backup"
	"github.com/backupctl/backupctl/storage"
)

// Exit codes, documented in the README.
const (
	ExitOK          = 0
	ExitFailed      = 1
	ExitUsage       = 2
	ExitVerify      = 3
	ExitNotFound    = 4
	ExitRefused     = 5
	ExitInterrupted = 130
)

// UsageError is bad input from the user: exit code 2.
type UsageError struct{ msg string }

func (e *UsageError) Error() string { return e.msg }

// Usagef returns a UsageError.
func Usagef(format string, args ...any) error {
	return &UsageError{msg: fmt.Sprintf(format, args...)}
}

// ExitError carries an exit code chosen by a command (a failed Job, say).
type ExitError struct {
	Code int
	Err  error
}

func (e *ExitError) Error() string { return e.Err.Error() }
func (e *ExitError) Unwrap() error { return e.Err }

// ExitCode maps an error to the process exit code.
func ExitCode(err error) int {
	var ue *UsageError
	var ee *ExitError
	var he *hintedError
	switch {
	case err == nil:
		return ExitOK
	case errors.As(err, &ee):
		return ee.Code
	case errors.As(err, &ue), errors.As(err, &he):
		return ExitUsage
	case errors.Is(err, context.Canceled):
		return ExitInterrupted
	case errors.Is(err, backup.ErrNoManifest):
		return ExitNotFound
	case errors.Is(err, backup.ErrTargetNotEmpty):
		return ExitRefused
	case errors.Is(err, backup.ErrVerify):
		return ExitVerify
	case errors.Is(err, storage.ErrConfig), errors.Is(err, backup.ErrUnknownDatabase), errors.Is(err, backup.ErrBadSelection):
		return ExitUsage
	}
	return ExitFailed
}
