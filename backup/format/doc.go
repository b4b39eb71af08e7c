// Package format is the backup format in code (docs/FORMAT.md): what dump, verify and restore
// share about a backup's two objects.
//
// A backup is <id>/dump.sql.<suffix>, plain SQL cut into sections, and <id>/manifest.json,
// written last. Every section is one or more self-contained compression frames (zstd frames,
// gzip members), so a range of the object decompresses alone. The Manifest records each
// section's Range in the stored object and in the uncompressed stream, each table's data
// checksum and, for a table cut into chunks, each chunk's range.
//
// Data flows through this package in both directions:
//
//   - writing: NewFrameCodec (or NewFrame) compresses sections into frames; HashCounter counts
//     and checksums the stored bytes; HeaderSQL and Footer are the first and last bytes of the
//     stream; Manifest.Sign signs it with the dumper's Ed25519 key (sign.go), Manifest.Seal and
//     Encode produce the manifest, PutManifest stores it.
//   - reading: LoadManifest (FetchManifest, DecodeManifest) reads and checks a manifest, and
//     VerifyKey.Check authenticates it;
//     NewDecompressor and SectionDecoder decompress a range as a stream; DecodeChunk and
//     ZstdChunks decompress a whole chunk in memory; List reads every manifest of a bucket.
//
// zstd is compressed with the zstd library through cgo (zstd_c.go) or, without cgo, with the
// Go encoder (zstd_go.go); both write the same frames, with content checksums and a window of
// at most 1 MiB.
//
// Whoever can write to the bucket can store what the readers read, so they bound what an
// object can make them allocate (docs/FORMAT.md, "Limits"): a manifest is refused beyond the
// limits of limits.go before it is decoded, every zstd frame header is checked for a window
// larger than backupctl writes before the frame is decoded (zstdframes.go), and a chunk decodes
// to at most one byte more than its manifest entry says.
package format
