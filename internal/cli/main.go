package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"os"
	"runtime"
	"runtime/debug"
	"slices"
	"strings"

	"github.com/alecthomas/kong"
	"github.com/backupctl/backupctl/backup"
	"github.com/backupctl/backupctl/contract"
	"github.com/backupctl/backupctl/version"
	"github.com/go-sql-driver/mysql"
)

// VersionString names the binary, its version, the Go runtime and the zstd encoder built in.
func VersionString(name string) string {
	return fmt.Sprintf("%s %s (%s, %s/%s, zstd: %s)", name, version.Version, runtime.Version(), runtime.GOOS, runtime.GOARCH, backup.ZstdEncoder())
}

// GrammarOptions are the options that shape the grammar and its help, for Parse and for tests
// of the help text.
func GrammarOptions(name, description string) []kong.Option {
	return []kong.Option{
		kong.Name(name),
		kong.Description(description),
		kong.UsageOnError(),
		kong.ConfigureHelp(kong.HelpOptions{Compact: true}),
		kong.Vars{"version": VersionString(name)},
		helpGroups,
		kong.PostBuild(func(k *kong.Kong) error { hideUploadFlags(k.Model.Node); return nil }),
	}
}

// uploadCommands are the commands that upload a backup: --s3-part-size matters to them only.
var uploadCommands = map[string]bool{"backup now": true, "schedule set": true, "backup": true}

// uploadFlags matter only to the commands that upload.
var uploadFlags = map[string]bool{"s3-part-size": true, "sse-kms-key-id": true, "retain-days": true, "retain-mode": true}

// hideUploadFlags leaves --s3-part-size (and the other uploadFlags) out of the help of the commands that upload nothing
// (list, verify, restore, prune...); the flag is still accepted there, as the Jobs pass it.
func hideUploadFlags(n *kong.Node) {
	path := strings.TrimSpace(n.Path())
	for _, f := range n.Flags {
		if uploadFlags[f.Name] && !uploadCommands[path] {
			f.Hidden = true
		}
	}
	for _, c := range n.Children {
		hideUploadFlags(c)
	}
}

// helpGroups titles the groups of flags in --help.
var helpGroups = kong.ExplicitGroups([]kong.Group{
	{Key: "connection", Title: "MariaDB connection:"},
	{Key: "storage", Title: "Storage (S3 or a local directory):"},
	{Key: "kubernetes", Title: "Kubernetes:"},
	{Key: "output", Title: "Output:"},
})

// hasGlobals is a CLI struct that embeds Globals.
type hasGlobals interface{ globals() *Globals }

func (g *Globals) globals() *Globals { return g }

// parseError is a command line the grammar refuses: exit code 2.
type parseError struct {
	err  error
	help bool // point at --help
}

func (e *parseError) Error() string { return e.err.Error() }
func (e *parseError) Unwrap() error { return e.err }

// Parse parses args into cliStruct (which embeds Globals), with the context and the Globals
// bound for the selected command's Run. It first quiets the MySQL driver's own logging and sets
// the heap's soft limit, for every command.
func Parse(ctx context.Context, name, description string, cliStruct hasGlobals, args []string) (*kong.Context, error) {
	// The driver logs connection trouble on its own; our error says it in one line instead.
	_ = mysql.SetLogger(log.New(io.Discard, "", 0))
	setMemoryLimit(0)
	opts := append(GrammarOptions(name, description),
		kong.BindTo(ctx, (*context.Context)(nil)),
		kong.Bind(cliStruct.globals()),
		kong.Exit(func(code int) {
			// kong exits after --help (code 0); any other exit is a usage error.
			if code != 0 {
				code = contract.ExitUsage
			}
			os.Exit(code)
		}),
	)
	parser, err := kong.New(cliStruct, opts...)
	if err != nil {
		return nil, err
	}
	// `backupctl help [COMMAND...]` is `backupctl [COMMAND...] --help`.
	if len(args) > 0 && args[0] == "help" {
		args = append(slices.Clone(args[1:]), "--help")
	}
	kctx, err := parser.Parse(args)
	if err != nil {
		var pe *kong.ParseError
		return nil, &parseError{err: err, help: errors.As(err, &pe)}
	}
	configureTransportWarnings(cliStruct.globals())
	return kctx, nil
}

// Exit prints err, if any, in one line on the Globals' stderr and returns the exit code.
func Exit(g *Globals, name string, err error) int {
	err = forPeople(err)
	g.finishProgress(err == nil)
	var pe *parseError
	switch {
	case err == nil:
	case errors.As(err, &pe) && pe.help:
		fmt.Fprintf(g.Err(), "%s: %v (see %s --help)\n", name, pe.err, name)
	case errors.As(err, &pe):
		fmt.Fprintf(g.Err(), "%s: %v\n", name, pe.err)
	default:
		fmt.Fprintf(g.Err(), "%s: %v\n", name, oneLine(err.Error()))
	}
	return ExitCode(err)
}

// oneLine keeps an error message on one line for logs and terminals.
func oneLine(s string) string {
	out := make([]rune, 0, len(s))
	for _, r := range s {
		if r == '\n' || r == '\r' {
			r = ' '
		}
		out = append(out, r)
	}
	return string(out)
}

// baseMemoryLimit is the Go heap's soft limit for the default part size. A dump streams and keeps
// about 90 MiB live (5 upload parts of 8 MiB, a few frames per connection, the encoders); a limit
// near it, rather than a tighter GOGC, keeps the peak RSS of a 1 GB and a 5 GB dump alike and
// under 150 MiB. Measured on the bench's 1 GB with 3 connections: GOGC=50 alone 169 MiB;
// GOMEMLIMIT=100MiB 130 MiB and 0.3 s faster.
const baseMemoryLimit = 100 << 20

// setMemoryLimit sets the soft limit for a part size (0: the default 8 MiB), unless GOMEMLIMIT
// says otherwise: the upload holds about 5 parts, so larger parts raise the limit with them.
func setMemoryLimit(partSize int64) {
	if os.Getenv("GOMEMLIMIT") != "" {
		return
	}
	const defaultPart = 8 << 20
	debug.SetMemoryLimit(baseMemoryLimit + 5*max(0, partSize-defaultPart))
}
