package cli

import (
	"context"
	"errors"

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
	case errors.As(err, &ue), errors.As(err, &he), errors.As(err, &pe):
		return contract.ExitUsage
	case errors.Is(err, context.Canceled):
		return contract.ExitInterrupted
	case errors.Is(err, backup.ErrNoManifest), errors.Is(err, backup.ErrUnknownSet):
		return contract.ExitNotFound
	case errors.Is(err, backup.ErrTargetNotEmpty), errors.Is(err, backup.ErrPruneRefused):
		return contract.ExitRefused
	case errors.Is(err, backup.ErrVerify):
		return contract.ExitVerify
	case errors.Is(err, storage.ErrConfig), errors.Is(err, backup.ErrUnknownDatabase), errors.Is(err, backup.ErrBadSelection):
		return contract.ExitUsage
	}
	return contract.ExitFailed
}

// WriteTerminationLog records the outcome of the dumper's run, with its exit code, for whoever
// watches the pod. It never fails the run.
func WriteTerminationLog(result any, runErr error) {
	contract.WriteTerminationLog(contract.NewJobResult(result, ExitCode(runErr), runErr))
}
