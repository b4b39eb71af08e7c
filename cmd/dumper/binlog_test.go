package main

import (
	"testing"
	"time"

	"github.com/backupctl/backupctl/contract"
)

// TestArchiveCommandRoundTrip: every field of contract.ArchiveCommand reaches `dumper binlog
// archive`.
func TestArchiveCommandRoundTrip(t *testing.T) {
	c := contract.ArchiveCommand{
		SegmentInterval: 90 * time.Second, SegmentSize: "8MiB", ServerID: 4000000001, StartGTID: "0-1-42",
		DB:      contract.DB{Host: "db.example", Port: 3307, User: "archiver"},
		Storage: contract.Storage{Endpoint: "https://s3.example", Bucket: "b", Prefix: "p", Region: "eu-west-1"},
	}
	p := parseDumper(t, c.Args())
	if got := p.kctx.Command(); got != "binlog archive" {
		t.Fatalf("argv %q selects %q", c.Args(), got)
	}
	a := p.kctx.Model.Target.Interface().(dumperCLI).Binlog.Archive
	if a.SegmentInterval != c.SegmentInterval || a.SegmentSize != c.SegmentSize || a.ServerID != c.ServerID || a.StartGTID != c.StartGTID {
		t.Errorf("archive flags parsed as %+v from %q", a.ArchiveFlags, c.Args())
	}
	if a.DBHost != "db.example" || a.DBPort != 3307 || a.DBUser != "archiver" || a.S3Endpoint != "https://s3.example" || a.Bucket != "b" || a.Prefix != "p" || a.S3Region != "eu-west-1" {
		t.Errorf("connection parsed as %+v %+v from %q", a.DBFlags, a.StorageFlags, c.Args())
	}
}
