// Package version holds the build's version string, which the Makefile sets with -ldflags.
// It imports nothing, so every package, the Job builders included, can name it.
package version

// Version is the build's version, set with -ldflags by the Makefile.
var Version = "dev"
