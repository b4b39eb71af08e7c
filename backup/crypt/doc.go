// Package crypt encrypts backups with age (age-encryption.org/v1, filippo.io/age) on the client.
//
// The object is one age file whose plaintext is the compressed stream a plaintext backup
// stores, so `age -d | zstd -dc | mariadb` restores it. age encrypts in 64 KiB chunks, each
// authenticated alone: Bucket decrypts any byte range of the stream from the ranged read of
// just the chunks it spans (age's DecryptReaderAt), so restore and verify read encrypted
// backups through it unchanged. The manifest's index goes into a sealed part (Seal, Open).
// The dump verifies what it stored without the user's identity: the object is also encrypted
// to an identity made for the run (Upload), dropped once the read-back check is done.
package crypt
