package backup

// Version is the build's version, set with -ldflags by the Makefile.
var Version = "dev"
