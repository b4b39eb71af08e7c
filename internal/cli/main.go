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

	"github.com/alecthomas/kong"
	"github.com/backupctl/backupctl/backup"
	"github.com/backupctl/backupctl/version"
	"github.com/go-sql-driver/mysql"
)

// VersionString names the binary, its version, the Go runtime and the zstd encoder built in.
func VersionString(name string) string {
	return fmt.Sprintf("%s %s (%s, %s/%s, zstd: %s)", name, version.Version, runtime.Version(), runtime.GOOS, runtime.GOARCH, backup.ZstdEncoder())
}

// globalsOf finds the embedded Globals of a CLI struct.
type hasGlobals interface{ globals() *Globals }

func (g *Globals) globals() *Globals { return g }

// Main parses args into cliStruct (which embeds Globals), runs the selected command with the
// context and the Globals bound, prints an error in one line, and returns the exit code.
func Main(ctx context.Context, name, description string, cliStruct hasGlobals, args []string) int {
	// The driver logs connection trouble on its own; our error says it in one line instead.
	_ = mysql.SetLogger(log.New(io.Discard, "", 0))
	setMemoryLimit(0)
	g := cliStruct.globals()
	parser, err := kong.New(cliStruct,
		kong.Name(name),
		kong.Description(description),
		kong.UsageOnError(),
		kong.ConfigureHelp(kong.HelpOptions{Compact: true}),
		kong.BindTo(ctx, (*context.Context)(nil)),
		kong.Bind(g),
		kong.Exit(func(code int) {
			// kong exits after --help (code 0); any other exit is a usage error.
			if code != 0 {
				code = ExitUsage
			}
			os.Exit(code)
		}),
	)
	if err != nil {
		fmt.Fprintf(os.Stderr, "%s: %v\n", name, err)
		return ExitFailed
	}
	kctx, err := parser.Parse(args)
	if err != nil {
		var pe *kong.ParseError
		if errors.As(err, &pe) {
			fmt.Fprintf(g.Err(), "%s: %v (see %s --help)\n", name, err, name)
			return ExitUsage
		}
		fmt.Fprintf(g.Err(), "%s: %v\n", name, err)
		return ExitUsage
	}
	if err := kctx.Run(); err != nil {
		fmt.Fprintf(g.Err(), "%s: %v\n", name, oneLine(err.Error()))
		return ExitCode(err)
	}
	return ExitOK
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
