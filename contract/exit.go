package contract

import "fmt"

// Exit codes of backupctl and the dumper, documented in the README. A Job's pod fails with the
// dumper's code, and backupctl exits with it.
const (
	ExitOK       = 0
	ExitFailed   = 1
	ExitUsage    = 2 // bad flags or configuration: a retry fails the same way
	ExitVerify   = 3 // the stored backup does not match its manifest
	ExitNotFound = 4 // no such backup, schedule or Job
	ExitRefused  = 5 // the restore target is not empty
	// ExitStale: `status --max-age` found no verified backup that recent.
	ExitStale = 6
	// ExitTransient is a failure that a later retry may not meet: an endpoint (S3, MariaDB, the
	// Kubernetes API) unreachable or timing out, throttling, a 5xx. sysexits' EX_TEMPFAIL.
	ExitTransient   = 75
	ExitInterrupted = 130
)

// TransientError is a failure worth retrying as is: exit code 75.
type TransientError struct{ Err error }

func (e *TransientError) Error() string { return e.Err.Error() }
func (e *TransientError) Unwrap() error { return e.Err }

// Transient marks err as worth retrying.
func Transient(err error) error { return &TransientError{Err: err} }

// UsageError is bad input from the user, said in one line that names what to fix: exit code 2.
type UsageError struct{ msg string }

func (e *UsageError) Error() string { return e.msg }

// Usagef returns a UsageError.
func Usagef(format string, args ...any) error {
	return &UsageError{msg: fmt.Sprintf(format, args...)}
}

// NotFoundError is a missing backup or object the user named: exit code 4.
type NotFoundError struct{ Err error }

func (e *NotFoundError) Error() string { return e.Err.Error() }
func (e *NotFoundError) Unwrap() error { return e.Err }

// NotFound marks err as the user's thing not being there.
func NotFound(err error) error { return &NotFoundError{Err: err} }

// VerifyError is a backup that failed its verification: exit code 3.
type VerifyError struct{ Err error }

func (e *VerifyError) Error() string { return e.Err.Error() }
func (e *VerifyError) Unwrap() error { return e.Err }

// VerifyFailed marks err as a failed verification.
func VerifyFailed(err error) error { return &VerifyError{Err: err} }

// ExitError carries an exit code decided elsewhere: the code a Job's dumper exited with.
type ExitError struct {
	Code int
	Err  error
}

func (e *ExitError) Error() string { return e.Err.Error() }
func (e *ExitError) Unwrap() error { return e.Err }
