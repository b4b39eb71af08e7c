package faults

// reliabilityNotes ends docs/RELIABILITY.md: how the cases are made and what the tables do not
// say by themselves.
const reliabilityNotes = `## How the faults are injected

- **Data.** The fault cases back up a private database whose table ` + "`a_big`" + ` holds 100,000 rows of
  1000 random bytes (` + "`RANDOM_BYTES`" + ` from the SEQUENCE engine): about 200 MB of SQL, 100 MB stored, which
  zstd cannot shrink. Small tables ` + "`z_victim`" + ` and ` + "`z_keep`" + ` come after it in dump order.
- **Landing the fault.** The test reads the JSON log records on stderr (` + "`snapshot taken`" + ` gives the
  id, ` + "`uploaded`" + `, ` + "`restoring database`" + `) and asks MinIO for the parts of the multipart upload
  (` + "`ListObjectParts`" + ` on the exact key: MinIO lists multipart uploads by object name only), so a
  fault lands at a known point, not after a guessed sleep.
- **After every failure** the test lists the prefix (no manifest, no object), lists the
  incomplete multipart uploads of the object's key, and compares the source database with its
  inventory taken before the run (` + "`dbtest.InventoryOf`" + `: definitions, row counts, ` + "`CHECKSUM TABLE`" + `,
  an order-independent hash of every row).
- **MinIO stopped mid-upload.** backupctl aborts its multipart upload when the upload fails, but
  MinIO is down at that moment, so the abort cannot reach it: one incomplete upload remains once
  MinIO is back. No manifest and no object exist, so it is not a backup and ` + "`list`" + `/` + "`restore`" + ` ignore
  it. Its parts use space until someone aborts them: MinIO drops stale uploads by itself
  (` + "`MINIO_API_STALE_UPLOADS_EXPIRY`" + `, 24 h by default); on AWS S3 add a lifecycle rule with
  ` + "`AbortIncompleteMultipartUpload`" + `. The test removes it.
- **MariaDB killed.** After the crash the test restarts the server on the same datadir and
  compares. InnoDB recomputes ` + "`AUTO_INCREMENT`" + ` as MAX(id)+1 during crash recovery (a value
  reserved by the load but never used is forgotten); that difference is the server's and is
  ignored, every other one counts.
- **DDL during the dump** runs right after the ` + "`snapshot taken`" + ` record, while ` + "`a_big`" + ` is being read.
  An exit 0 is accepted only if a restore into another server equals the database as it was
  before the DDL; a failure must name the table.
- **Full disk**: a 24 MiB tmpfs mounted by the test (it needs root).
- **Secrets**: three random values (the MariaDB password, the S3 secret key, a wrong password
  given to a failing run) are searched for in every run's stdout and stderr, in
  ` + "`/proc/<pid>/cmdline`" + ` sampled every 5 ms while each run lasts, and in every stored object
  (dumps decompressed) and manifest. They must be in the environment (that is how they are passed),
  so ` + "`/proc/<pid>/environ`" + ` is not scanned.
- **Tampering**: the manifest's own ` + "`checksum`" + ` (SHA-256 of its JSON with the field empty) catches
  an edited row count; ` + "`verify`" + ` and ` + "`restore`" + ` refuse it.

## Not covered here

- The Kubernetes faults (SIGKILL in a Job, pod deleted, deadline, missing namespace/Secret/key, no
  kubeconfig) are tested in ` + "`e2e/`" + `.
- A network partition that drops packets (rather than a stopped process) is not simulated.
`
