package format

// HeaderSQL is the session every later section relies on. The sql_mode is permissive (zero
// dates, NO_AUTO_VALUE_ON_ZERO so a 0 in an AUTO_INCREMENT column stays 0) and has no
// NO_BACKSLASH_ESCAPES, which the string escaping needs. Version-gated comments keep the object
// replayable on older servers.
const HeaderSQL = `SET NAMES utf8mb4;
SET TIME_ZONE = '+00:00';
SET SQL_MODE = 'NO_AUTO_VALUE_ON_ZERO';
SET FOREIGN_KEY_CHECKS = 0;
SET UNIQUE_CHECKS = 0;
SET SQL_NOTES = 0;
/*M!100201 SET CHECK_CONSTRAINT_CHECKS = 0 */;
/*M!101100 SET SYSTEM_VERSIONING_INSERT_HISTORY = 1 */;
`

// Footer returns the end-of-dump marker line of a backup: the exact last bytes of its stream.
func Footer(id string) string { return "-- backupctl dump completed " + id + "\n" }
