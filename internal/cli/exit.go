package cli

import (
	"context"
	"errors"
	"net"
	"syscall"

	"github.com/minio/minio-go/v7"
	apierrors "k8s.io/apimachinery/pkg/api/errors"

	"github.com/backupctl/backupctl/backup"
	"github.com/backupctl/backupctl/contract"
	"github.com/backupctl/backupctl/storage"
)

// ExitCode maps an error to the process exit code: the one place that decides it, for
// backupctl, the dumper and the dumper's termination log.
func ExitCode(err error) int {
	var ee *contract.ExitError
	var nf *contract.NotFoundError
	var ve *contract.VerifyError
	var ue *contract.UsageError
	var he *hintedError
	var pe *parseError
	switch {
	case err == nil:
		return contract.ExitOK
	case errors.As(err, &ee):
		return ee.Code
	case errors.As(err, &nf):
		return contract.ExitNotFound
	case errors.As(err, &ve):
		return contract.ExitVerify
	case errors.As(err, &ue), errors.As(err, &pe):
		return contract.ExitUsage
	case transient(err):
		return contract.ExitTransient
	case errors.As(err, &he):
		return contract.ExitUsage
	case errors.Is(err, context.Canceled):
		return contract.ExitInterrupted
	case errors.Is(err, backup.ErrNoManifest), errors.Is(err, backup.ErrUnknownSet):
		return contract.ExitNotFound
	case errors.Is(err, backup.ErrTargetNotEmpty), errors.Is(err, backup.ErrPruneRefused), errors.Is(err, storage.ErrRetained):
		return contract.ExitRefused
	case errors.Is(err, backup.ErrVerify):
		return contract.ExitVerify
	case errors.Is(err, storage.ErrConfig), errors.Is(err, backup.ErrUnknownDatabase), errors.Is(err, backup.ErrBadSelection):
		return contract.ExitUsage
	}
	return contract.ExitFailed
}

// transient reports whether err is a failure that a retry may not meet: an endpoint that does not
// answer (refused, reset, unreachable, timed out), a name server that failed (not one that said
// the name does not exist), S3 throttling or a 5xx, an API server busy or failing.
func transient(err error) bool {
	var te *contract.TransientError
	if errors.As(err, &te) {
		return true
	}
	for _, errno := range []syscall.Errno{syscall.ECONNREFUSED, syscall.ECONNRESET, syscall.ETIMEDOUT, syscall.EHOSTUNREACH, syscall.ENETUNREACH, syscall.EPIPE} {
		if errors.Is(err, errno) {
			return true
		}
	}
	var dnsErr *net.DNSError
	if errors.As(err, &dnsErr) {
		return !dnsErr.IsNotFound && (dnsErr.IsTimeout || dnsErr.IsTemporary)
	}
	var netErr net.Error
	if errors.As(err, &netErr) && netErr.Timeout() {
		return true
	}
	var s3Err minio.ErrorResponse
	if errors.As(err, &s3Err) {
		switch s3Err.Code {
		case "SlowDown", "ServiceUnavailable", "RequestTimeout", "InternalError", "Throttling", "TooManyRequests":
			return true
		}
		return s3Err.StatusCode >= 500 || s3Err.StatusCode == 429
	}
	return apierrors.IsServerTimeout(err) || apierrors.IsTimeout(err) || apierrors.IsTooManyRequests(err) ||
		apierrors.IsServiceUnavailable(err) || apierrors.IsInternalError(err)
}

// Report ends a dumper command: the outcome goes to the termination log; in a pod that message
// is the result (backupctl prints it once, from there), elsewhere the result is printed.
func (g *Globals) Report(result any, runErr error) error {
	WriteTerminationLog(result, runErr)
	if runErr != nil || contract.TerminationLog() != "" {
		return runErr
	}
	return g.Print(result)
}

// WriteTerminationLog records the outcome of the dumper's run, with its exit code, for whoever
// watches the pod. It never fails the run.
func WriteTerminationLog(result any, runErr error) {
	contract.WriteTerminationLog(contract.NewJobResult(result, ExitCode(runErr), forPeople(runErr)))
}
