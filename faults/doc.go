// Package faults holds the fault-injection, bad-input and security tests of backupctl. They drive
// the real binary against real servers: the shared ones from .stack/env for checks that change
// nothing, and private MariaDB and MinIO servers that the tests start, stop, kill and stall
// themselves. With BACKUP_WRITE_RELIABILITY=1 the run writes docs/RELIABILITY.md.
package faults
