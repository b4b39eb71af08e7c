package main

import (
	"fmt"
	"runtime"

	"github.com/backupctl/backupctl/backup"
	"github.com/backupctl/backupctl/internal/cli"
	"github.com/backupctl/backupctl/version"
)

type versionCmd struct{}

// versionInfo is what `version -o json` prints.
type versionInfo struct {
	Version string `json:"version"`
	Go      string `json:"go"`
	OS      string `json:"os"`
	Arch    string `json:"arch"`
	Zstd    string `json:"zstd"`
}

func (versionCmd) Run(g *cli.Globals) error {
	if g.Machine() {
		return g.Print(versionInfo{Version: version.Version, Go: runtime.Version(), OS: runtime.GOOS, Arch: runtime.GOARCH, Zstd: backup.ZstdEncoder()})
	}
	_, err := fmt.Fprintln(g.Out(), cli.VersionString("backupctl"))
	return err
}
