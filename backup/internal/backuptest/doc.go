// Package backuptest holds test helpers that several backup packages share: an in-memory
// bucket (MemBucket), a writer of sections (SectionWriter) and a fake backup built with it
// without a server (FakeBackup), the test servers' configurations (ServerConfigs) and pools on
// them (OpenDB), and a splitter loop (SplitAll).
package backuptest
