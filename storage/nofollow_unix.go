//go:build unix

package storage

import "syscall"

// oNoFollow makes an open fail (ELOOP) when the last path component is a symbolic link.
const oNoFollow = syscall.O_NOFOLLOW
