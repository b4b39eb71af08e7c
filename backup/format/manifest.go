package format

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"path"
	"regexp"
	"slices"
	"strings"
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
	Format      int       `json:"format"`
	ID          string    `json:"id"`
	StartedAt   time.Time `json:"started_at"`
	FinishedAt  time.Time `json:"finished_at"`
	Tool        string    `json:"tool"`
	ToolVersion string    `json:"tool_version"`
	Server      string    `json:"server_version"`
	// ServerID names the server the backup was taken from: its @@hostname and @@port, which
	// carry no secret and stay the same across restarts and client addresses.
	ServerID string `json:"server_id,omitempty"`
	// Set is the backup set given with --set (a schedule's backups carry the schedule's name);
	// empty means the set is derived from ServerID and the databases (see SetName).
	Set string `json:"set,omitempty"`
	// Origin is OriginScheduled or OriginManual; empty (older manifests) is manual.
	Origin    string     `json:"origin,omitempty"`
	Binlog    *Binlog    `json:"binlog,omitempty"`
	Databases []Database `json:"databases"`
	Object    Object     `json:"object"`
	// Header and Footer are the ranges of the session preamble and the end-of-dump marker.
	Header Range `json:"header"`
	Footer Range `json:"footer"`
	// KeyID names the Ed25519 key that signed the manifest, and Signature is the signature over
	// its encoding with Checksum and Signature empty (sign.go); both empty when unsigned.
	KeyID     string `json:"key_id,omitempty"`
	Signature string `json:"signature,omitempty"`
	// Checksum is the SHA-256 of the manifest's JSON encoding with this field empty; it guards
	// the manifest itself against tampering and truncation.
	Checksum string `json:"checksum"`
	// Accounts is the accounts section (users, roles and their grants), present only in a
	// backup taken with --users.
	Accounts *Accounts `json:"accounts,omitempty"`
	// Encryption, in an encrypted backup, names its recipients and holds the sealed part of
	// the manifest (encryption.go); absent in a plaintext one.
	Encryption *Encryption `json:"encryption,omitempty"`
}

// Accounts is the section of a backup that recreates users and roles: CREATE USER and CREATE
// ROLE, then their GRANTs, then SET DEFAULT ROLE. It holds password hashes: it is never logged.
type Accounts struct {
	Range Range     `json:"range"`
	List  []Account `json:"list"`
}

// Account is one user or role in the accounts section.
type Account struct {
	User string `json:"user"`
	// Host is empty for a role.
	Host string `json:"host"`
	Role bool   `json:"role,omitempty"`
	// Plugins are the authentication plugins the account uses (a user only).
	Plugins []string `json:"plugins,omitempty"`
	// Digest is the SHA-256 of the account's SHOW CREATE USER and sorted SHOW GRANTS on the
	// source: a restore keeps an existing account whose digest on the target is the same.
	Digest string `json:"digest"`
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

// Origins of a backup.
const (
	OriginManual    = "manual"
	OriginScheduled = "scheduled"
)

// SetName is the backup set m belongs to: its explicit Set, else the server and the sorted
// databases as "host:port/db1,db2" (a ',' or '\' in a name is escaped with '\'). A manifest
// from before servers were recorded gets "unknown-server/db1,db2", so it never shares a set with
// a newer one. Explicit names cannot hold '/', so they never equal a derived one.
func (m *Manifest) SetName() string {
	if m.Set != "" {
		return m.Set
	}
	if m.Encryption != nil {
		return EncryptedSetPrefix + m.Encryption.SetDigest
	}
	names := slices.Sorted(slices.Values(m.DatabaseNames()))
	esc := strings.NewReplacer(`\`, `\\`, `,`, `\,`)
	for i, n := range names {
		names[i] = esc.Replace(n)
	}
	server := m.ServerID
	if server == "" {
		server = "unknown-server"
	}
	return server + "/" + strings.Join(names, ",")
}

// IsScheduled says whether m was taken by a schedule; older manifests are manual.
func (m *Manifest) IsScheduled() bool { return m.Origin == OriginScheduled }

// OriginName is OriginScheduled or OriginManual (also for manifests without an origin).
func (m *Manifest) OriginName() string {
	if m.IsScheduled() {
		return OriginScheduled
	}
	return OriginManual
}

// setPattern is what an explicit set name may be: a key-like word, without '/'.
var setPattern = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$`)

// CheckSet rejects an explicit set name that is not a single word.
func CheckSet(name string) error {
	if !setPattern.MatchString(name) {
		return fmt.Errorf("set name %q is not valid: use letters, digits, '.', '_' and '-' (at most 128), e.g. nightly-shop", name)
	}
	return nil
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
	if err := m.counts().check(); err != nil {
		return nil, fmt.Errorf("manifest of backup %s %v: split the backup (--database)", m.ID, err)
	}
	if err := m.Seal(); err != nil {
		return nil, err
	}
	b, err := json.MarshalIndent(m, "", "  ")
	if err == nil && len(b) > MaxManifestBytes {
		err = fmt.Errorf("manifest of backup %s is %d bytes, more than %d (%d MiB), the limit of a backupctl manifest: split the backup (--database)", m.ID, len(b), MaxManifestBytes, MaxManifestBytes>>20)
	}
	return b, err
}

// DecodeManifest parses a manifest and checks its format version and its own checksum. A
// manifest beyond the limits of limits.go is refused before it is decoded.
func DecodeManifest(b []byte) (*Manifest, error) {
	var scan manifestScan
	if _, err := scan.Write(b); err != nil {
		return nil, fmt.Errorf("%w: manifest of %d bytes %v: it was not written by backupctl", ErrVerify, len(b), err)
	}
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
