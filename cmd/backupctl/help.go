package main

import "github.com/backupctl/backupctl/internal/cli"

// Examples shown by each command's --help (kong's HelpProvider).

func (*backupNowCmd) Help() string {
	return `Examples:
  backupctl backup now -d shop                 # a Job in namespace backupctl, followed to its end
  backupctl backup now -d shop --wait=false    # start it; then backupctl logs -f / wait
  backupctl backup now --local -d shop --to file:///var/backups
  backupctl backup now -d shop --encrypt-to age1...   # encrypted: the Job gets the public key only`
}

func (*restoreCmd) Help() string {
	return `Examples:
  backupctl restore 20261126T220405Z-ab12 -d shop --into shop_copy
  backupctl restore 20261126T220405Z-ab12 -t shop.orders --into shop_copy --dry-run
  backupctl restore 20261126T220405Z-ab12 --local --db-host 127.0.0.1 --drop-existing
  backupctl restore 20261126T220405Z-ab12 --local --age-identity-file age.key   # an encrypted backup`
}

func (*listCmd) Help() string {
	return `Examples:
  backupctl list
  backupctl list -o json --prefix nightly
  backupctl list --age-identity-file age.key   # the databases of encrypted backups too`
}

func (*scheduleSetCmd) Help() string {
	return `On an installed schedule only the flags given change (the changes are printed first);
--replace makes the flags given the whole schedule.

Examples:
  backupctl schedule set -d shop --keep-daily 7
  backupctl schedule set --schedule "30 3 * * *"   # keeps -d shop and --keep-daily 7
  backupctl schedule set --replace -d shop -d crm`
}

func (*scheduleShowCmd) Help() string {
	return `Examples:
  backupctl schedule show
  backupctl schedule show -o json -n prod`
}

func (*scheduleSuspendCmd) Help() string {
	return `Examples:
  backupctl schedule suspend
  backupctl schedule resume`
}

func (*scheduleResumeCmd) Help() string {
	return `Examples:
  backupctl schedule resume
  backupctl schedule show    # next_run is back`
}

func (*scheduleDeleteCmd) Help() string {
	return `Examples:
  backupctl schedule delete
  backupctl schedule delete -n prod --name backupctl-hourly`
}

func (*scheduleRunCmd) Help() string {
	return `Examples:
  backupctl schedule run
  backupctl schedule run --wait=false    # then backupctl wait JOB`
}

func (*jobsCmd) Help() string {
	return `Examples:
  backupctl jobs
  backupctl jobs -n prod -o json`
}

func (*logsCmd) Help() string {
	return `Examples:
  backupctl logs backupctl-backup-20261126-220405-x7k2q
  backupctl logs -f backupctl-backup-20261126-220405-x7k2q`
}

func (*waitCmd) Help() string {
	return `Exits with the code the Job's dumper reported, as if the command that started it had waited.

Examples:
  backupctl wait backupctl-backup-20261126-220405-x7k2q
  backupctl wait -o json backupctl-restore-20261126-221000-b9m4z`
}

func (versionCmd) Help() string {
	return `Examples:
  backupctl version
  backupctl --version
  backupctl version -o json`
}

func (*pruneCmd) Help() string {
	return `Examples:
  backupctl prune --keep-daily 7 --keep-weekly 4 --dry-run    # per set, what would go
  backupctl prune --set backupctl-nightly --keep-last 14
  backupctl prune --keep-within 720h --include-manual --verify-key-file signing.pub`
}

func (*deleteCmd) Help() string {
	return `Examples:
  backupctl delete 20261126T220405Z-ab12 --dry-run
  backupctl delete latest --set backupctl-nightly`
}

func (*keygenCmd) Help() string {
	return `Examples:
  backupctl keygen --out signing.key     # the private key to signing.key, the public key on stdout
  backupctl keygen --out - -o json`
}

// verifyCmd is the dumper's verify, with backupctl's examples.
type verifyCmd struct {
	cli.VerifyCmd `embed:""`
}

func (*verifyCmd) Help() string {
	return `Examples:
  backupctl verify 20261126T220405Z-ab12
  backupctl verify latest --set backupctl-nightly --verify-key-file signing.pub
  backupctl verify latest -o json`
}
