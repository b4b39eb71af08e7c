package format

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"path"
	"time"
)

// FormatVersion is the manifest format this build writes and reads.
const FormatVersion = 1

// ManifestName is the file name of a backup's manifest, beside its object.
const ManifestName = "manifest.json"

// ErrNoManifest means the backup has no manifest: it never completed and is not a backup.
var ErrNoManifest = errors.New("backup has no manifest")

// ErrVerify marks a verification failure: the stored backup is not what the manifest describes.
var ErrVerify = errors.New("verification failed")

// Range is a byte range of the stored (compressed) object. Each range starts a new compression
// frame, so it can be read and decompressed alone.
type Range struct {
	Offset int64 `json:"offset"`
	Length int64 `json:"length"`
	// RawOffset and RawLength locate the same section in the uncompressed SQL stream.
	RawOffset int64 `json:"raw_offset"`
	RawLength int64 `json:"raw_length"`
}

// Manifest describes one completed backup.
type Manifest struct {
	Format      int        `json:"format"`
	ID          string     `json:"id"`
	StartedAt   time.Time  `json:"started_at"`
	FinishedAt  time.Time  `json:"finished_at"`
	Tool        string     `json:"tool"`
	ToolVersion string     `json:"tool_version"`
	Server      string     `json:"server_version"`
	Binlog      *Binlog    `json:"binlog,omitempty"`
	Databases   []Database `json:"databases"`
	Object      Object     `json:"object"`
	// Header and Footer are the ranges of the session preamble and the end-of-dump marker.
	Header Range `json:"header"`
	Footer Range `json:"footer"`
	// Checksum is the SHA-256 of the manifest's JSON encoding with this field empty; it guards
	// the manifest itself against tampering and truncation.
	Checksum string `json:"checksum"`
}

// Binlog is the binary log position of the snapshot, when binary logging is on.
type Binlog struct {
	File     string `json:"file"`
	Position uint64 `json:"position"`
	GTID     string `json:"gtid,omitempty"`
}

// Object is the stored dump.
type Object struct {
	Key         string `json:"key"`
	Size        int64  `json:"size"`
	SHA256      string `json:"sha256"`
	Compression string `json:"compression"`
	// RawSize is the size of the uncompressed SQL stream.
	RawSize int64 `json:"raw_size"`
}

// Database is one dumped database.
type Database struct {
	Name      string `json:"name"`
	Charset   string `json:"charset"`
	Collation string `json:"collation"`
	// Create is the range holding CREATE DATABASE and USE, then the database's routines and
	// stand-ins for its views that other databases' views read.
	Create Range   `json:"create"`
	Tables []Table `json:"tables"`
	// Post is the range holding views, triggers and events, created after all data.
	Post     Range    `json:"post"`
	Views    []string `json:"views,omitempty"`
	Routines []string `json:"routines,omitempty"`
	Triggers []string `json:"triggers,omitempty"`
	Events   []string `json:"events,omitempty"`
}

// Table is one base table or sequence.
type Table struct {
	Name string `json:"name"`
	// Kind is "table", "sequence" or "versioned" (a system-versioned table, dumped with history).
	Kind string `json:"kind"`
	Rows int64  `json:"rows"`
	// Schema holds the table's CREATE statement; Data holds its rows (empty Length when none).
	Schema Range `json:"schema"`
	Data   Range `json:"data"`
	// DataSHA256 is the SHA-256 of the uncompressed bytes of Data.
	DataSHA256 string `json:"data_sha256"`
	// NoHistory marks a system-versioned table whose row start and end are transaction ids:
	// the server sets those itself and refuses them in an INSERT, so its data section holds
	// the current rows only and its history is not in the backup.
	NoHistory bool `json:"no_history,omitempty"`
	// Chunks, when the data section has more than one frame, are its frames in order; they
	// tile Data, each ends at a statement boundary and starts with SET NAMES binary, so each
	// can be applied alone (in parallel) after the header and a USE.
	Chunks []Range `json:"chunks,omitempty"`
}

// ManifestKey returns the key of a backup's manifest, relative to the bucket's prefix.
func ManifestKey(id string) string { return path.Join(id, ManifestName) }

// Seal fills Checksum.
func (m *Manifest) Seal() error {
	sum, err := m.sum()
	if err != nil {
		return err
	}
	m.Checksum = sum
	return nil
}

func (m *Manifest) sum() (string, error) {
	c := *m
	c.Checksum = ""
	b, err := json.Marshal(&c)
	if err != nil {
		return "", fmt.Errorf("encode manifest: %w", err)
	}
	h := sha256.Sum256(b)
	return hex.EncodeToString(h[:]), nil
}

// Encode returns the sealed manifest as indented JSON.
func (m *Manifest) Encode() ([]byte, error) {
	if err := m.Seal(); err != nil {
		return nil, err
	}
	return json.MarshalIndent(m, "", "  ")
}

// DecodeManifest parses a manifest and checks its format version and its own checksum.
func DecodeManifest(b []byte) (*Manifest, error) {
	var m Manifest
	dec := json.NewDecoder(bytes.NewReader(b))
	if err := dec.Decode(&m); err != nil {
		return nil, fmt.Errorf("%w: manifest is not valid JSON (%v); the manifest is damaged", ErrVerify, err)
	}
	if m.Format != FormatVersion {
		return nil, fmt.Errorf("manifest format %d is not supported by this backupctl (reads format %d); use a backupctl that matches the one that wrote it", m.Format, FormatVersion)
	}
	sum, err := m.sum()
	if err != nil {
		return nil, err
	}
	if sum != m.Checksum {
		return nil, fmt.Errorf("%w: manifest %s checksum mismatch: it was changed after the backup was written", ErrVerify, m.ID)
	}
	return &m, nil
}

// TableCount returns the number of tables and sequences.
func (m *Manifest) TableCount() int {
	n := 0
	for _, d := range m.Databases {
		n += len(d.Tables)
	}
	return n
}

// RowCount returns the number of rows dumped.
func (m *Manifest) RowCount() int64 {
	var n int64
	for _, d := range m.Databases {
		for _, t := range d.Tables {
			n += t.Rows
		}
	}
	return n
}

// DatabaseNames returns the dumped databases in order.
func (m *Manifest) DatabaseNames() []string {
	s := make([]string, len(m.Databases))
	for i, d := range m.Databases {
		s[i] = d.Name
	}
	return s
}
