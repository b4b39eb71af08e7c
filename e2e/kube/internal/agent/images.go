package agent

import (
	"fmt"
	"sort"
	"strings"
)

// ImageMap maps image repositories (without registry host, tag or digest
// when matched by suffix) to local executables. The node agent pulls nothing:
// a container's image only selects which local binary becomes its entrypoint.
type ImageMap map[string]string

// ParseImageMap parses entries of the form "repository=/abs/path/to/binary".
func ParseImageMap(entries []string) (ImageMap, error) {
	m := ImageMap{}
	for _, e := range entries {
		repo, bin, ok := strings.Cut(e, "=")
		repo, bin = strings.TrimSpace(repo), strings.TrimSpace(bin)
		if !ok || repo == "" || bin == "" {
			return nil, fmt.Errorf("image map entry %q: want repository=/path/to/binary", e)
		}
		m[imageRepo(repo)] = bin
	}
	return m, nil
}

// Resolve returns the binary for image. A key matches the image's repository
// exactly or as a path suffix, so "backupctl/dumper" matches
// "ghcr.io/backupctl/dumper:v1"; the longest matching key wins.
func (m ImageMap) Resolve(image string) (string, bool) {
	repo := imageRepo(image)
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool { return len(keys[i]) > len(keys[j]) })
	for _, k := range keys {
		if repo == k || strings.HasSuffix(repo, "/"+k) {
			return m[k], true
		}
	}
	return "", false
}

// imageRepo strips the digest and tag from an image reference.
func imageRepo(image string) string {
	if i := strings.Index(image, "@"); i >= 0 {
		image = image[:i]
	}
	// A colon after the last slash starts the tag; one before it is a registry port.
	if i := strings.LastIndex(image, ":"); i > strings.LastIndex(image, "/") {
		image = image[:i]
	}
	return image
}
