// Package restore applies a backup to a MariaDB server.
//
// Run goes through these phases:
//
//  1. plan: from the manifest alone, select the databases or tables to restore (Options), the
//     sections to read and the names they get on the target (--into). A selection that does
//     not fit the backup is ErrBadSelection and nothing is touched.
//  2. connect: open one connection to the target and inspect what it holds; a non-empty
//     database or table is refused (ErrTargetNotEmpty) unless DropExisting. A dry run stops
//     here with the plan, annotated with what a real restore would do. A --table restore first
//     reads its tables' definitions (onetable.go): foreign keys and triggers that refer outside
//     the selection are warned of, and a foreign key to a table missing on the target refuses.
//  3. verify first: check the object's size, then, unless NoVerifyFirst, the whole object with
//     the Verifier (or, for --table, only the table's ranges), and every statement against
//     what a dump writes in its section (confine), in the verifier's pass when the selection
//     is the whole stream. Nothing is applied yet.
//  4. apply: the sections are read in steps, in object order. Definitions (CREATE DATABASE,
//     schemas, views, routines, triggers) are decompressed, split into statements
//     (sqltext.Splitter), rewritten for --into and executed in stream order on the one
//     connection; a large table is created without its plain secondary indexes (indexes.go).
//     Table data is loaded in parallel by a pool of workers, one table per worker, largest
//     first, its chunks in primary-key order, in transactions of a few statements; workers
//     share a table only when no other is left (queue). A table's indexes are added by one
//     ALTER TABLE once its last chunk is in. Every section is checked against the manifest
//     (raw length, data SHA-256) as it streams.
//  5. verify alongside: with NoVerifyFirst, a database restore verifies the whole object while it
//     loads; a mismatch stops the load and leaves the target partial, which the error says.
package restore
