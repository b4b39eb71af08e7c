package backup

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/backupctl/backupctl/backup/binlog"
	"github.com/backupctl/backupctl/storage"
)

// MaxClockSkew is how far in the future a backup's start may lie and still count: a manifest
// dated later than now plus this is never counted as newer and never deleted by a prune.
const MaxClockSkew = 5 * time.Minute

// Reasons a prune keeps a backup, as the report names them.
const (
	KeepNewest         = "newest"
	KeepNewestVerified = "newest-verified"
	KeepManual         = "manual"
	KeepLastRule       = "keep-last"
	KeepHourlyRule     = "keep-hourly"
	KeepDailyRule      = "keep-daily"
	KeepWeeklyRule     = "keep-weekly"
	KeepMonthlyRule    = "keep-monthly"
	KeepWithinRule     = "keep-within"
)

// PruneOptions is a retention policy. It is applied to each backup set on its own, never
// across sets; within a set a backup is kept when any rule keeps it. The rules follow restic's
// `forget`: --keep-last N the newest N; --keep-hourly/daily/weekly/monthly N the newest backup of
// each of the newest N hours/days/ISO weeks/months (UTC) that have one, and the oldest backup
// while a rule still has a count left; --keep-within D every backup started within D of the
// set's newest backup (not of now).
type PruneOptions struct {
	KeepLast    int
	KeepHourly  int
	KeepDaily   int
	KeepWeekly  int
	KeepMonthly int
	KeepWithin  time.Duration
	// Set limits the prune to one backup set; empty prunes every set, each on its own.
	Set string
	// IncludeManual applies the rules to manual backups too; without it they are all kept.
	IncludeManual bool
	// DryRun reports what would be deleted and deletes nothing.
	DryRun bool
	// Now is the clock that future-dated backups are judged by; nil is time.Now.
	Now func() time.Time
	// Skip, when it returns a reason, makes the prune neither count nor delete the backup, as
	// it does a future-dated one (for example a backup whose manifest cannot be authenticated).
	Skip func(*Manifest) string
	// VerifyKey, when set, leaves out of the policy every backup it does not authenticate.
	VerifyKey *VerifyKey
}

// Enabled says whether any rule is set.
func (o PruneOptions) Enabled() bool {
	return o.KeepLast > 0 || o.KeepHourly > 0 || o.KeepDaily > 0 || o.KeepWeekly > 0 || o.KeepMonthly > 0 || o.KeepWithin > 0
}

// Check refuses negative rules.
func (o PruneOptions) Check() error {
	for _, r := range o.counts() {
		if r.n < 0 {
			return fmt.Errorf("--%s %d cannot be negative (0: no rule)", r.name, r.n)
		}
	}
	if o.KeepWithin < 0 {
		return fmt.Errorf("--keep-within %s cannot be negative (0: no rule)", o.KeepWithin)
	}
	return nil
}

// countRule is a --keep-* rule that counts buckets: bucket names the hour, day, week or month
// of a time (keep-last gives every backup a bucket of its own).
type countRule struct {
	name   string
	n      int
	bucket func(t time.Time, nr int) string
}

func (o PruneOptions) counts() []countRule {
	utc := func(layout string) func(time.Time, int) string {
		return func(t time.Time, _ int) string { return t.UTC().Format(layout) }
	}
	return []countRule{
		{KeepLastRule, o.KeepLast, func(_ time.Time, nr int) string { return fmt.Sprint(nr) }},
		{KeepHourlyRule, o.KeepHourly, utc("2006-01-02T15")},
		{KeepDailyRule, o.KeepDaily, utc("2006-01-02")},
		{KeepWeeklyRule, o.KeepWeekly, func(t time.Time, _ int) string {
			y, w := t.UTC().ISOWeek()
			return fmt.Sprintf("%d-W%02d", y, w)
		}},
		{KeepMonthlyRule, o.KeepMonthly, utc("2006-01")},
	}
}

// ErrNoPolicy means a prune was asked for without any rule to keep backups by.
var ErrNoPolicy = errors.New("no retention rule given: set at least one of --keep-last, --keep-hourly, --keep-daily, --keep-weekly, --keep-monthly (N >= 1) or --keep-within (e.g. 720h)")

// ErrUnknownSet means a --set names no backup set in the bucket.
var ErrUnknownSet = errors.New("unknown backup set")

func unknownSet(set string, b storage.Bucket, names []string) error {
	return fmt.Errorf("%w %q in %s; the sets are: %s", ErrUnknownSet, set, b, quoteSets(names))
}

// ErrPruneRefused means a prune would delete a backup newer than the newest verified backup of
// its set; nothing was deleted.
var ErrPruneRefused = errors.New("prune refused")

// PruneReport says, per backup set, what a prune kept and deleted (or would delete).
type PruneReport struct {
	DryRun bool       `json:"dry_run"`
	Sets   []SetPrune `json:"sets"`
	// Binlog is what the prune did to the binlog archives: segments no kept backup needs.
	Binlog []binlog.SegmentPrune `json:"binlog,omitempty"`
}

// SetPrune is what a prune did within one backup set.
type SetPrune struct {
	Set  string       `json:"set"`
	Kept []KeptBackup `json:"kept"`
	// WouldDelete (dry run) or Deleted lists the backups the rules do not keep, newest first.
	WouldDelete []string `json:"would_delete,omitempty"`
	Deleted     []string `json:"deleted,omitempty"`
	// Ignored are backups neither counted nor deleted: dated in the future, or skipped.
	Ignored []IgnoredBackup `json:"ignored,omitempty"`
}

// KeptBackup is a kept backup and the rules that kept it.
type KeptBackup struct {
	ID        string    `json:"id"`
	StartedAt time.Time `json:"started_at"`
	Origin    string    `json:"origin"`
	Rules     []string  `json:"rules"`
}

// IgnoredBackup is a backup a prune did not count and did not delete, and why.
type IgnoredBackup struct {
	ID     string `json:"id"`
	Reason string `json:"reason"`
}

// DeletedIDs returns every backup the report deleted (or would delete), set by set.
func (r *PruneReport) DeletedIDs() []string {
	var out []string
	for _, s := range r.Sets {
		out = append(out, s.Deleted...)
		out = append(out, s.WouldDelete...)
	}
	return out
}

// setPlan is one set's decision before anything is deleted.
type setPlan struct {
	rep    SetPrune
	delete []*Manifest
}

// Prune applies the policy to each backup set in b on its own (or to opts.Set only). It plans
// every set first and deletes nothing when any set's plan is refused: a plan that would delete
// a backup newer than the newest verified backup of its set. The newest backup of each set and
// its newest verified one are always kept; manual backups are kept unless opts.IncludeManual;
// backups dated in the future are not counted and not deleted. A backup's manifest is deleted
// first, so an interrupted prune leaves an incomplete backup (never listed or restored), not a
// manifest without data.
func Prune(ctx context.Context, b storage.Bucket, opts PruneOptions) (*PruneReport, error) {
	if err := opts.Check(); err != nil {
		return nil, err
	}
	if !opts.Enabled() {
		return nil, ErrNoPolicy
	}
	all, err := List(ctx, b)
	if err != nil {
		return nil, err
	}
	if opts.VerifyKey != nil {
		skip, key := opts.Skip, opts.VerifyKey
		opts.Skip = func(m *Manifest) string {
			if !key.Authenticated(m) {
				return "not signed by key " + key.ID() + ": neither counted nor deleted"
			}
			if skip != nil {
				return skip(m)
			}
			return ""
		}
	}
	sets := groupSets(all)
	names := setNames(all)
	if opts.Set != "" {
		if _, ok := sets[opts.Set]; !ok {
			return nil, unknownSet(opts.Set, b, names)
		}
		names = []string{opts.Set}
	}
	now := time.Now
	if opts.Now != nil {
		now = opts.Now
	}
	t := now()
	verified := func(m *Manifest) (bool, error) { return objectPresent(ctx, b, m) }
	var plans []setPlan
	var refused []error
	for _, name := range names {
		p, err := planSet(name, sets[name], opts, t, verified)
		if errors.Is(err, ErrPruneRefused) {
			refused = append(refused, err)
			continue
		}
		if err != nil {
			return nil, err
		}
		if err := keepRetained(ctx, b, &p, t); err != nil {
			return nil, err
		}
		plans = append(plans, p)
	}
	if len(refused) > 0 {
		return nil, fmt.Errorf("%w; nothing was deleted", errors.Join(refused...))
	}
	rep := &PruneReport{DryRun: opts.DryRun, Sets: []SetPrune{}}
	for _, p := range plans {
		for _, m := range p.delete {
			if opts.DryRun {
				p.rep.WouldDelete = append(p.rep.WouldDelete, m.ID)
				continue
			}
			if err := deleteBackup(ctx, b, m.ID); err != nil {
				rep.Sets = append(rep.Sets, p.rep)
				return rep, err
			}
			p.rep.Deleted = append(p.rep.Deleted, m.ID)
		}
		rep.Sets = append(rep.Sets, p.rep)
	}
	// Then the binlog segments that none of the backups left needs.
	gone := rep.DeletedIDs()
	var kept []*Manifest
	for _, m := range all {
		if !slices.Contains(gone, m.ID) {
			kept = append(kept, m)
		}
	}
	rep.Binlog, err = binlog.PruneSegments(ctx, b, kept, opts.DryRun)
	return rep, err
}

// groupSets splits backups (newest first) into their sets, each still newest first.
func groupSets(all []*Manifest) map[string][]*Manifest {
	sets := map[string][]*Manifest{}
	for _, m := range all {
		sets[m.SetName()] = append(sets[m.SetName()], m)
	}
	return sets
}

// setNames are the sets of the backups, sorted.
func setNames(all []*Manifest) []string {
	var names []string
	for _, m := range all {
		names = append(names, m.SetName())
	}
	slices.Sort(names)
	return slices.Compact(names)
}

func quoteSets(names []string) string {
	if len(names) == 0 {
		return "none (no backups)"
	}
	q := make([]string, len(names))
	for i, n := range names {
		q[i] = fmt.Sprintf("%q", n)
	}
	return strings.Join(q, ", ")
}

// futureReason says why m is not counted, when it started after now plus the allowed skew.
func futureReason(m *Manifest, now time.Time) string {
	if !m.StartedAt.After(now.Add(MaxClockSkew)) {
		return ""
	}
	return fmt.Sprintf("started %s, in the future (now %s, allowance %s): not counted as newer and not deleted; check the clock of the host that wrote it, or remove it with `backupctl delete %s`",
		m.StartedAt.UTC().Format(time.RFC3339), now.UTC().Format(time.RFC3339), MaxClockSkew, m.ID)
}

// planSet decides, within one set (newest first), what is kept, by which rules, and what is
// deleted. verified says whether a backup is still whole in storage; it is asked newest first
// until one is.
func planSet(name string, ms []*Manifest, opts PruneOptions, now time.Time, verified func(*Manifest) (bool, error)) (setPlan, error) {
	p := setPlan{rep: SetPrune{Set: name, Kept: []KeptBackup{}}}
	var live []*Manifest
	for _, m := range ms {
		reason := futureReason(m, now)
		if reason == "" && opts.Skip != nil {
			reason = opts.Skip(m)
		}
		if reason != "" {
			p.rep.Ignored = append(p.rep.Ignored, IgnoredBackup{ID: m.ID, Reason: reason})
			continue
		}
		live = append(live, m)
	}
	if len(live) == 0 {
		return p, nil
	}
	rules := map[*Manifest][]string{}
	keep := func(m *Manifest, rule string) { rules[m] = append(rules[m], rule) }
	keep(live[0], KeepNewest)
	newestVerified := -1
	for i, m := range live {
		ok, err := verified(m)
		if err != nil {
			return p, err
		}
		if ok {
			newestVerified = i
			keep(m, KeepNewestVerified)
			break
		}
	}
	var subject []*Manifest
	for _, m := range live {
		if opts.IncludeManual || m.IsScheduled() {
			subject = append(subject, m)
		} else {
			keep(m, KeepManual)
		}
	}
	applyRules(subject, opts, keep)

	for i, m := range live {
		if len(rules[m]) > 0 {
			p.rep.Kept = append(p.rep.Kept, KeptBackup{ID: m.ID, StartedAt: m.StartedAt, Origin: m.OriginName(), Rules: rules[m]})
			continue
		}
		if newestVerified < 0 || i < newestVerified {
			what := "no backup of the set is whole in storage"
			if newestVerified >= 0 {
				what = fmt.Sprintf("its newest verified backup is %s", live[newestVerified].ID)
			}
			return p, fmt.Errorf("%w in set %q: it would delete %s, and %s; verify the set's backups (`backupctl verify ID`) and delete by hand with `backupctl delete`",
				ErrPruneRefused, name, m.ID, what)
		}
		p.delete = append(p.delete, m)
	}
	return p, nil
}

// applyRules marks what the counting rules and --keep-within keep in ms (newest first), with
// restic's semantics.
func applyRules(ms []*Manifest, opts PruneOptions, keep func(*Manifest, string)) {
	if len(ms) == 0 {
		return
	}
	rules := opts.counts()
	left := make([]int, len(rules))
	last := make([]string, len(rules))
	for i, r := range rules {
		left[i] = r.n
	}
	latest := ms[0].StartedAt
	for nr, m := range ms {
		if opts.KeepWithin > 0 && m.StartedAt.After(latest.Add(-opts.KeepWithin)) {
			keep(m, KeepWithinRule)
		}
		for i, r := range rules {
			if left[i] <= 0 {
				continue
			}
			// The oldest backup is kept too while the rule has counts left: the history kept
			// is as long as it can be.
			if v := r.bucket(m.StartedAt, nr); v != last[i] || nr == len(ms)-1 {
				last[i] = v
				left[i]--
				keep(m, r.name)
			}
		}
	}
}

// objectPresent says whether m's object is in storage with the size the manifest records (the
// manifest itself was checked when it was listed).
func objectPresent(ctx context.Context, b storage.Bucket, m *Manifest) (bool, error) {
	info, err := b.Stat(ctx, m.Object.Key)
	if errors.Is(err, storage.ErrNotFound) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("check the object of %s: %w", m.ID, err)
	}
	return info.Size == m.Object.Size, nil
}

// deleteBackup removes a backup: the manifest first, then every object under its id.
func deleteBackup(ctx context.Context, b storage.Bucket, id string) error {
	if err := b.Delete(ctx, ManifestKey(id)); err != nil {
		return fmt.Errorf("delete manifest of %s: %w", id, err)
	}
	objs, err := b.List(ctx, id+"/")
	if err != nil {
		return fmt.Errorf("list objects of %s: %w", id, err)
	}
	for _, o := range objs {
		if !strings.HasPrefix(o.Key, id+"/") {
			continue
		}
		if err := b.Delete(ctx, o.Key); err != nil {
			return fmt.Errorf("delete %s: %w", o.Key, err)
		}
	}
	return nil
}
