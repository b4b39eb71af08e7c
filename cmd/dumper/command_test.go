package main

import (
	"fmt"
	"os"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/alecthomas/kong"
	"github.com/google/go-cmp/cmp"

	"github.com/backupctl/backupctl/contract"
)

// command is one of the dumper's command lines as contract renders it for a Job.
type command interface{ Args() []string }

// TestCommandRoundTrip: every field of contract's commands reaches the dumper. Each field is set
// to a value other than the dumper's default, the command is rendered with Args and parsed back
// with the dumper's own grammar, and the value of the flag (or argument) the field's `dumper` tag
// names must equal the field. A field added without its flag, or not rendered by Args, fails.
func TestCommandRoundTrip(t *testing.T) {
	for _, c := range []command{&contract.BackupCommand{}, &contract.RestoreCommand{}} {
		typ := reflect.TypeOf(c).Elem()
		t.Run(typ.Name(), func(t *testing.T) {
			fields := leafFields(t, typ)
			// The subcommand is the first argument, whatever the fields hold.
			sub := c.Args()[0]
			node := subcommand(t, sub)

			// What the dumper takes when a flag is left out: a command line with the
			// subcommand and placeholders for its arguments only.
			bare := []string{sub}
			for range node.Positional {
				bare = append(bare, "placeholder")
			}
			defaults := parseDumper(t, bare)

			want := reflect.ValueOf(c).Elem()
			for _, f := range fields {
				v := valueOf(t, node, f)
				if def := defaults.value(t, sub, f); v.IsZero() || reflect.DeepEqual(v.Interface(), def) {
					t.Fatalf("field %s: the test's %v is the zero value or the dumper's default, so it proves nothing", f.Name, v)
				}
				want.FieldByIndex(f.Index).Set(v)
			}
			argv := c.Args()
			t.Logf("argv: %q", argv)

			parsed := parseDumper(t, argv)
			got := reflect.New(typ).Elem()
			for _, f := range fields {
				pv := reflect.ValueOf(parsed.value(t, sub, f))
				if !pv.Type().AssignableTo(f.Type) {
					t.Fatalf("field %s is a %s, the dumper's %s a %s", f.Name, f.Type, f.Tag.Get("dumper"), pv.Type())
				}
				got.FieldByIndex(f.Index).Set(pv)
			}
			if d := cmp.Diff(want.Interface(), got.Interface()); d != "" {
				t.Errorf("the dumper parses back another %s (-rendered +parsed):\n%s", typ.Name(), d)
			}
		})
	}
}

// leafFields lists the fields of a command, those of its embedded structs included; each must
// name the dumper's flag or argument in its `dumper` tag.
func leafFields(t *testing.T, typ reflect.Type) []reflect.StructField {
	t.Helper()
	var out []reflect.StructField
	for _, f := range reflect.VisibleFields(typ) {
		if f.Anonymous {
			continue // its fields are listed on their own
		}
		if f.Tag.Get("dumper") == "" {
			t.Errorf("%s.%s has no `dumper` tag naming the flag that carries it", typ.Name(), f.Name)
			continue
		}
		out = append(out, f)
	}
	if len(out) == 0 {
		t.Fatalf("%s has no fields", typ.Name())
	}
	return out
}

// valueOf is a value for field f that should differ from the zero value and the dumper's
// default: another value of its enum, or one made from the flag's name.
func valueOf(t *testing.T, node *kong.Node, f reflect.StructField) reflect.Value {
	t.Helper()
	name := f.Tag.Get("dumper")
	v := reflect.New(f.Type).Elem()
	switch {
	case f.Type == reflect.TypeFor[time.Duration]():
		v.SetInt(int64(time.Duration(len(name)) * 7 * time.Second))
	case f.Type.Kind() == reflect.String:
		s := "v-" + name
		if val := lookup(node, name); val != nil && val.Enum != "" {
			for e := range strings.SplitSeq(val.Enum, ",") {
				if e != "" && e != val.Default {
					s = e
				}
			}
		}
		v.SetString(s)
	case f.Type.Kind() == reflect.Int:
		v.SetInt(int64(len(name))) // small: the dumper checks some ranges
	case f.Type.Kind() == reflect.Bool:
		v.SetBool(true)
	case f.Type == reflect.TypeFor[[]string]():
		v.Set(reflect.ValueOf([]string{"a-" + name, "b-" + name}))
	case f.Type == reflect.TypeFor[*bool]():
		v.Set(reflect.ValueOf(new(bool))) // false: a value the dumper's unset default (nil) is not
	default:
		t.Fatalf("field %s is a %s: teach the test a value for it", f.Name, f.Type)
	}
	return v
}

// lookup finds the flag or the positional argument name of a command.
func lookup(node *kong.Node, name string) *kong.Value {
	for _, f := range node.Flags {
		if f.Name == name {
			return f.Value
		}
	}
	for _, p := range node.Positional {
		if p.Name == name {
			return p
		}
	}
	return nil
}

// subcommand is the dumper's command named name.
func subcommand(t *testing.T, name string) *kong.Node {
	t.Helper()
	p, err := kong.New(&dumperCLI{})
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range p.Model.Children {
		if n.Name == name {
			return n
		}
	}
	t.Fatalf("the dumper has no command %q", name)
	return nil
}

// parsed is a command line the dumper's grammar accepted.
type parsed struct{ kctx *kong.Context }

// parseDumper parses argv with the dumper's grammar, in an environment without its env twins.
func parseDumper(t *testing.T, argv []string) parsed {
	t.Helper()
	p, err := kong.New(&dumperCLI{}, kong.Exit(func(int) { t.Fatalf("the dumper exits on %q", argv) }))
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range p.Model.AllFlags(true) {
		for _, f := range f {
			for _, e := range f.Envs {
				t.Setenv(e, "") // restored after the test
				os.Unsetenv(e)
			}
		}
	}
	kctx, err := p.Parse(argv)
	if err != nil {
		t.Fatalf("the dumper refuses %q: %v", argv, err)
	}
	return parsed{kctx}
}

// value is what the dumper parsed into the flag or argument field f names.
func (p parsed) value(t *testing.T, sub string, f reflect.StructField) any {
	t.Helper()
	node := p.kctx.Selected()
	if node == nil || node.Name != sub {
		t.Fatalf("the dumper ran %v, not %q", node, sub)
	}
	v := lookup(node, f.Tag.Get("dumper"))
	if v == nil {
		t.Fatalf("field %s: the dumper's %s command has no flag or argument %q", f.Name, sub, f.Tag.Get("dumper"))
	}
	return v.Target.Interface()
}

// TestSecretsAreEnvOnly: no flag of the dumper takes a secret, not even as an env twin, and no
// field of contract's commands does; so a Job's args cannot carry one.
func TestSecretsAreEnvOnly(t *testing.T) {
	p, err := kong.New(&dumperCLI{})
	if err != nil {
		t.Fatal(err)
	}
	for _, group := range p.Model.AllFlags(true) {
		for _, f := range group {
			for _, e := range f.Envs {
				if slices.Contains(contract.SecretEnv, e) || e == contract.EnvSigningKey {
					t.Errorf("--%s has the secret %s as its env twin: it would show in a Job's args", f.Name, e)
				}
			}
		}
	}
	for _, c := range []command{contract.BackupCommand{}, contract.RestoreCommand{}} {
		for _, f := range reflect.VisibleFields(reflect.TypeOf(c)) {
			name := strings.ToLower(f.Name + " " + f.Tag.Get("dumper"))
			for _, word := range []string{"password", "secret", "accesskey", "access-key", "signing", "private"} {
				if strings.Contains(name, word) {
					t.Errorf("%T.%s looks like a secret (%s): secrets reach the dumper as %v only", c, f.Name, word, contract.SecretEnv)
				}
			}
		}
	}
	// The env names are the contract's: the dumper reads them, the Job sets them from the Secret.
	if fmt.Sprint(contract.SecretEnv) != "[BACKUP_DB_PASSWORD AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY]" {
		t.Errorf("SecretEnv is %v", contract.SecretEnv)
	}
}
