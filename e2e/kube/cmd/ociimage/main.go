// Command ociimage writes the local node's images as OCI archives that
// `ctr -n k8s.io images import` takes, so the node needs no registry:
//
//	ociimage -name NAME -out FILE dumper BINDIR   the Dockerfile's image from `make build`'s binaries
//	ociimage -name NAME -out FILE pause BINARY    the sandbox image
//	ociimage -name NAME -out FILE shell BUSYBOX   the tests' shell image
//
// The archives are reproducible: the same inputs give the same image digest.
package main

import (
	"flag"
	"fmt"
	"os"
)

func main() {
	name := flag.String("name", "", "fully qualified image name, e.g. 127.0.0.1:5999/backupctl/dumper:dev")
	out := flag.String("out", "", "the OCI archive (.tar) to write")
	ca := flag.String("ca", "/etc/ssl/certs/ca-certificates.crt", "the CA bundle the dumper image carries")
	flag.Parse()
	if *name == "" || *out == "" || flag.NArg() != 2 {
		fmt.Fprintln(os.Stderr, "usage: ociimage -name NAME -out FILE dumper BINDIR | pause BINARY | shell BUSYBOX")
		os.Exit(2)
	}
	var r recipe
	var err error
	switch kind, src := flag.Arg(0), flag.Arg(1); kind {
	case "dumper":
		r, err = dumperRecipe(src, *ca)
	case "pause":
		r, err = pauseRecipe(src)
	case "shell":
		r, err = shellRecipe(src)
	default:
		err = fmt.Errorf("unknown image %q: want dumper, pause or shell", kind)
	}
	if err == nil {
		err = writeArchive(r, *name, *out)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "ociimage:", err)
		os.Exit(1)
	}
}
