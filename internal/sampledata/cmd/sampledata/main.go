// Command sampledata writes the sample database of internal/sampledata, a small web shop, as
// SQL on standard output (or -o FILE) for the stock mariadb client:
//
//	go run ./internal/sampledata/cmd/sampledata -database shop | mariadb --default-character-set=utf8mb4
//
// The same -seed and -scale give the same bytes. It prints the row counts on standard error.
// It is a development tool, not shipped: scripts/demo.sh and the round-trip tests use it so a
// clone of the repository needs no data set from elsewhere.
package main

import (
	"flag"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/backupctl/backupctl/internal/sampledata"
)

func main() {
	if err := run(os.Args[1:], os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "sampledata:", err)
		os.Exit(1)
	}
}

func run(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("sampledata", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var opt sampledata.Options
	fs.Uint64Var(&opt.Seed, "seed", 1, "picks the data: the same seed and scale give the same bytes")
	fs.Float64Var(&opt.Scale, "scale", 1, "multiplies the row counts (1: about 455,000 rows, 52 MB of SQL)")
	fs.StringVar(&opt.Database, "database", "", "create this database if missing and USE it (default: the client's database)")
	out := fs.String("o", "-", "write to this file instead of standard output")
	quiet := fs.Bool("q", false, "print nothing on standard error")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: sampledata [-seed N] [-scale F] [-database NAME] [-o FILE] [-q]")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		fs.Usage()
		return fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	w := stdout
	if *out != "-" {
		f, err := os.Create(*out)
		if err != nil {
			return err
		}
		defer f.Close()
		w = f
	}
	start := time.Now()
	st, err := sampledata.Generate(w, opt)
	if err != nil {
		return err
	}
	if f, ok := w.(*os.File); ok && *out != "-" {
		if err := f.Close(); err != nil {
			return err
		}
	}
	if !*quiet {
		for _, t := range st.Tables {
			fmt.Fprintf(stderr, "  %-16s %9d rows\n", t.Table, t.Rows)
		}
		fmt.Fprintf(stderr, "sampledata: seed %d: %d rows in %d tables, %.1f MB of SQL written in %.2fs\n",
			opt.Seed, st.Rows(), len(st.Tables), float64(st.Bytes)/1e6, time.Since(start).Seconds())
	}
	return nil
}
