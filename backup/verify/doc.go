// Package verify reads a stored backup back and checks it against its manifest.
//
// Backup (and Record, for a new backup before its manifest exists) first checks that the
// manifest's sections tile the object and the uncompressed stream exactly, then reads the
// object once, front to back, through a pipeline of stages on separate goroutines:
//
//	bucket -> read ahead -> count, SHA-256 and CRC-32C of the stored bytes
//	       -> per section: decompress that range alone (a stream, or chunks decoded in parallel)
//	       -> SHA-256 of the uncompressed bytes (asyncHash)
//
// Each section must decompress alone from its range to the raw length the manifest says, each
// table's data must match its checksum, and the stream must end with the footer. The whole
// object's size and SHA-256 must match the manifest (or, for Record, the size and CRC-32C the
// dump took as it wrote). Any mismatch is format.ErrVerify.
package verify
