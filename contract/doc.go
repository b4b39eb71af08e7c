// Package contract is what backupctl and the dumper it runs in a Job agree on: the dumper's
// command line (BackupCommand, RestoreCommand), the environment that carries the secrets, the
// exit codes and the kinds of error that choose them, and the result the dumper leaves in its
// container's termination log (JobResult).
//
// It imports only the standard library, so that the Job builders, the CLI and the dumper can all
// name it. Which error gets which exit code is decided once, at the edge (internal/cli.ExitCode).
package contract
