// Package backup is the facade the CLI calls: Dump, DumpAndPrune, Restore, Verify, VerifyID,
// List and Prune. It dumps MariaDB into one plain-SQL object, verifies it by reading it back,
// and restores it. The manifest written last is the commit marker of a backup.
//
// The work is done by one package per stage; backup only wires them together and keeps their
// names available to callers through type aliases (Manifest, DumpOptions, RestoreReport...):
//
//	backup (this package)
//	  -> dump     take a backup: catalog, snapshot, parallel read, frames, upload, then verify
//	  -> restore  plan a selection, verify first, apply definitions and load data in parallel
//	  -> verify   read a stored object back and check it against its manifest
//	       -> format   what every stage shares: manifest, sections and ranges, frame codecs,
//	                   ids, header and footer (docs/FORMAT.md in code)
//	       -> sqltext  SQL text: quoting, value encoding, the statement splitter
//	       -> dbconn   how to reach MariaDB
//	            -> storage
//
// Dependencies go one way, down this list; dump also calls verify, to check the object it just
// stored before it writes the manifest.
//
// A backup (Dump) flows: the catalog is read under a backup lock, every connection opens one
// consistent snapshot, workers read and compress table data into frames, one writer streams the
// frames to the bucket in object order, verify reads the stored object back, and only then the
// manifest is written. DumpAndPrune then applies the retention rules with Prune, which deletes a
// backup's manifest before its object. A restore (Restore) loads the manifest, plans what to
// apply from it, verifies the object (first, or alongside), and applies the sections: the
// statements of each are split from the decompressed stream and executed on the target.
package backup
