// Package dump takes a backup: Run dumps MariaDB into one plain-SQL object in a bucket, verifies
// the stored object and writes its manifest last.
//
// The pipeline:
//
//  1. prepare: one connection blocks DDL (BACKUP STAGE, or FLUSH TABLES WITH READ LOCK) while
//     the catalog (databases, tables, views, routines, triggers, sequences) and the binlog
//     position are read; every worker connection then opens a consistent snapshot, and the
//     lock is released.
//  2. plan: one goroutine walks the catalog in object order and creates jobs: small sections
//     (header, CREATE DATABASE, table schemas, views and routines, footer) are rendered at once;
//     a large table's data is cut into chunks by primary-key ranges.
//  3. read: workers run the data jobs on their snapshot connections, render rows as INSERT
//     statements and compress them into frames of about FrameBytes (format.FrameCodec).
//  4. write: one writer takes the frames in object order, streams them to the bucket and fills
//     the manifest's ranges; it takes the object's size and CRC-32C as it goes.
//  5. verify: verify.Record reads the stored object back, checks it against what was written,
//     and records its SHA-256 and each table's data checksum in the manifest.
//  6. commit: the manifest is written. On any failure before, the object is deleted.
package dump
