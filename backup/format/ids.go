package format

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"regexp"
	"time"
)

// ToolName is written in the dump header and the manifest.
const ToolName = "backupctl"

// ObjectName is the file name of a backup's dump object without its compression suffix.
const ObjectName = "dump"

// idPattern is what an id may be: it is a key segment and appears in dump comments.
var idPattern = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$`)

// NewID returns a backup id for a backup started at t: the UTC time and 6 random hex digits,
// so that ids sort by time.
func NewID(t time.Time) string {
	var b [3]byte
	_, _ = rand.Read(b[:])
	return t.UTC().Format("20060102T150405Z") + "-" + hex.EncodeToString(b[:])
}

// CheckID rejects ids that are not a single safe key segment.
func CheckID(id string) error {
	if !idPattern.MatchString(id) || id == "." || id == ".." {
		return fmt.Errorf("backup id %q is not valid: use letters, digits, '.', '_' and '-' (ids look like 20240131T120000Z-a1b2c3)", id)
	}
	return nil
}
