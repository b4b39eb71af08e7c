package format

import (
	"hash"
	"hash/crc32"
	"io"
)

// HashCounter counts and hashes the bytes written through it to w.
type HashCounter struct {
	W io.Writer
	H hash.Hash
	N int64
}

// Write writes p to W, counting and hashing what was written.
func (c *HashCounter) Write(p []byte) (int, error) {
	n, err := c.W.Write(p)
	c.N += int64(n)
	c.H.Write(p[:n])
	return n, err
}

// Castagnoli is the CRC-32C table of the object checksum a dump takes as it writes.
var Castagnoli = crc32.MakeTable(crc32.Castagnoli)
