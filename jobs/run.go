package jobs

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"sort"
	"strings"
	"sync"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/utils/ptr"
)

// JobNameLabel is the label the Job controller puts on its pods.
const JobNameLabel = "batch.kubernetes.io/job-name"

// DefaultLastLines is how many log lines an Outcome keeps when RunOptions.LastLines is 0.
const DefaultLastLines = 20

// RunOptions say how Run and Wait follow a Job.
type RunOptions struct {
	// Wait: Run follows the Job to its end; false returns right after creating it.
	Wait bool
	// Logs receives the dumper's log lines as they come (nil: kept only for LastLogLines).
	Logs io.Writer
	// LastLines is how many lines Outcome.LastLogLines keeps (0: DefaultLastLines).
	LastLines int
	// LogDrain bounds the wait for log streams after the Job ends (0: 10s).
	LogDrain time.Duration
}

// Run creates job and, with opts.Wait, follows it to its end (see Wait).
func (c *Client) Run(ctx context.Context, job *batchv1.Job, opts RunOptions) (*Outcome, error) {
	created, err := c.createJob(ctx, job)
	if err != nil {
		return nil, err
	}
	if !opts.Wait {
		return &Outcome{Namespace: created.Namespace, JobName: created.Name}, nil
	}
	return c.Wait(ctx, created.Namespace, created.Name, opts)
}

// Wait follows an existing Job to its end: it streams each pod's logs to opts.Logs, watches the
// Job and its pods, and returns how it ended. The error is for what kept it from knowing (the
// API, a cancelled ctx); a failed Job is an Outcome with Succeeded false and a Reason. A pod that
// can never start (image not pullable, Secret key missing) ends the wait at once, and the Job is
// deleted so it does not retry until its deadline.
func (c *Client) Wait(ctx context.Context, namespace, name string, opts RunOptions) (*Outcome, error) {
	if opts.LastLines <= 0 {
		opts.LastLines = DefaultLastLines
	}
	if opts.LogDrain <= 0 {
		opts.LogDrain = 10 * time.Second
	}
	t := newTracker(namespace, name)
	logs := newLogFollower(ctx, c, namespace, opts.Logs, opts.LastLines)
	defer logs.stop()

	var lastSync time.Time
	for !t.done() {
		// Resync after a watch ends (the API server closes them now and then), but not in a
		// tight loop if it keeps ending.
		if wait := time.Second - time.Since(lastSync); !lastSync.IsZero() && wait > 0 {
			select {
			case <-ctx.Done():
				return nil, fmt.Errorf("wait for job %s/%s: %w", namespace, name, ctx.Err())
			case <-time.After(wait):
			}
		}
		lastSync = time.Now()
		jobRV, podRV, err := c.sync(ctx, t, logs)
		if err != nil {
			return nil, err
		}
		if t.done() {
			break
		}
		if err := c.watch(ctx, t, logs, jobRV, podRV); err != nil {
			return nil, err
		}
	}

	if t.stuck != "" {
		// Delete even if the caller's ctx is cancelled: a stuck Job would retry for hours.
		dctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
		err := c.BatchV1().Jobs(namespace).Delete(dctx, name, metav1.DeleteOptions{
			PropagationPolicy: ptr.To(metav1.DeletePropagationBackground),
		})
		cancel()
		if err == nil || apierrors.IsNotFound(err) {
			t.stuck += "; deleted Job " + name
		} else {
			t.stuck += fmt.Sprintf("; could not delete Job %s (%v): delete it by hand", name, err)
		}
	} else if !t.jobDeleted {
		// The last pod's final status may trail the Job's condition: read it fresh.
		if _, _, err := c.sync(ctx, t, logs); err != nil {
			return nil, err
		}
	}
	o := t.outcome()
	logs.drain(opts.LogDrain)
	if last := t.lastPod(); last != nil {
		if !logs.started(last.Name) && dumperStarted(last) {
			logs.tail(ctx, last.Name, int64(opts.LastLines))
		}
		o.LastLogLines = logs.lines(last.Name)
	}
	return o, nil
}

// sync reads the Job and its pods afresh and returns the resource versions to watch from.
func (c *Client) sync(ctx context.Context, t *tracker, logs *logFollower) (jobRV, podRV string, err error) {
	job, err := c.BatchV1().Jobs(t.namespace).Get(ctx, t.name, metav1.GetOptions{})
	switch {
	case apierrors.IsNotFound(err):
		if t.job == nil {
			return "", "", fmt.Errorf("job %s/%s not found: %w", t.namespace, t.name, err)
		}
		t.jobGone()
	case err != nil:
		return "", "", apiError(err, "read job %s/%s", t.namespace, t.name)
	default:
		t.observeJob(job)
		jobRV = job.ResourceVersion
	}
	pods, err := c.CoreV1().Pods(t.namespace).List(ctx, metav1.ListOptions{LabelSelector: JobNameLabel + "=" + t.name})
	if err != nil {
		return "", "", apiError(err, "list pods of job %s/%s", t.namespace, t.name)
	}
	// Follow in creation order: a list comes sorted by name, and names end in random letters.
	// (Sorted before syncPods, which keeps pointers into the slice.)
	sort.SliceStable(pods.Items, func(i, j int) bool {
		return pods.Items[i].CreationTimestamp.Before(&pods.Items[j].CreationTimestamp)
	})
	t.syncPods(pods.Items)
	for i := range pods.Items {
		logs.maybeFollow(&pods.Items[i])
	}
	return jobRV, pods.ResourceVersion, nil
}

// watch follows events until the tracker is done or a watch ends (then the caller resyncs).
func (c *Client) watch(ctx context.Context, t *tracker, logs *logFollower, jobRV, podRV string) error {
	jw, err := c.BatchV1().Jobs(t.namespace).Watch(ctx, metav1.ListOptions{
		FieldSelector:   fields.OneTermEqualSelector("metadata.name", t.name).String(),
		ResourceVersion: jobRV,
	})
	if err != nil {
		return apiError(err, "watch job %s/%s", t.namespace, t.name)
	}
	defer jw.Stop()
	pw, err := c.CoreV1().Pods(t.namespace).Watch(ctx, metav1.ListOptions{
		LabelSelector:   JobNameLabel + "=" + t.name,
		ResourceVersion: podRV,
	})
	if err != nil {
		return apiError(err, "watch pods of job %s/%s", t.namespace, t.name)
	}
	defer pw.Stop()
	for !t.done() {
		select {
		case <-ctx.Done():
			return fmt.Errorf("wait for job %s/%s: %w", t.namespace, t.name, ctx.Err())
		case ev, ok := <-jw.ResultChan():
			if !ok || ev.Type == watch.Error {
				return nil
			}
			if j, ok := ev.Object.(*batchv1.Job); ok && j.Name == t.name {
				if ev.Type == watch.Deleted {
					t.jobGone()
				} else {
					t.observeJob(j)
				}
			}
		case ev, ok := <-pw.ResultChan():
			if !ok || ev.Type == watch.Error {
				return nil
			}
			if p, ok := ev.Object.(*corev1.Pod); ok && p.Labels[JobNameLabel] == t.name {
				if ev.Type == watch.Deleted {
					t.podGone(p.Name)
				} else {
					t.observePod(p)
					logs.maybeFollow(p)
				}
			}
		}
	}
	return nil
}

// logFollower streams each pod's dumper log once, one goroutine per pod, and keeps each pod's
// last lines.
type logFollower struct {
	ctx    context.Context
	cancel context.CancelFunc
	c      *Client
	ns     string
	out    io.Writer
	keep   int

	mu       sync.Mutex
	wg       sync.WaitGroup
	streams  map[string]*ring
	attempts int           // pods followed so far
	prev     chan struct{} // closed when the latest stream is done
}

func newLogFollower(ctx context.Context, c *Client, ns string, out io.Writer, keep int) *logFollower {
	ctx, cancel := context.WithCancel(ctx)
	return &logFollower{ctx: ctx, cancel: cancel, c: c, ns: ns, out: out, keep: keep, streams: map[string]*ring{}}
}

// maybeFollow starts streaming p's log once its dumper has started. Streams are written one
// after the other, in the order the pods were seen, so a retry's lines never interleave.
func (f *logFollower) maybeFollow(p *corev1.Pod) {
	if !dumperStarted(p) {
		return
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if _, ok := f.streams[p.Name]; ok {
		return
	}
	r := &ring{max: f.keep}
	f.streams[p.Name] = r
	f.attempts++
	attempt, prev, mine := f.attempts, f.prev, make(chan struct{})
	f.prev = mine
	f.wg.Add(1)
	go func() {
		defer f.wg.Done()
		defer close(mine)
		if prev != nil {
			select {
			case <-prev:
			case <-f.ctx.Done():
				return
			}
		}
		rc, err := f.c.CoreV1().Pods(f.ns).GetLogs(p.Name, &corev1.PodLogOptions{Container: ContainerName, Follow: true}).Stream(f.ctx)
		if err != nil {
			// Not readable yet or any more: let a later event retry, or Wait read a tail.
			f.mu.Lock()
			delete(f.streams, p.Name)
			f.mu.Unlock()
			return
		}
		defer rc.Close()
		if attempt > 1 && f.out != nil {
			// A retry: say where the next lines come from.
			f.mu.Lock()
			fmt.Fprintf(f.out, "--- backupctl: following pod %s (attempt %d) ---\n", p.Name, attempt)
			f.mu.Unlock()
		}
		f.copy(rc, r)
	}()
}

// copy writes lines to out as they come and into r.
func (f *logFollower) copy(rd io.Reader, r *ring) {
	br := bufio.NewReader(rd)
	for {
		line, err := br.ReadString('\n')
		if line != "" {
			f.mu.Lock()
			if f.out != nil {
				_, _ = io.WriteString(f.out, line)
				if !strings.HasSuffix(line, "\n") {
					_, _ = io.WriteString(f.out, "\n")
				}
			}
			r.add(strings.TrimRight(line, "\r\n"))
			f.mu.Unlock()
		}
		if err != nil {
			return
		}
	}
}

// tail reads the last n lines of a pod whose stream never started (it ended too fast).
func (f *logFollower) tail(ctx context.Context, pod string, n int64) {
	rc, err := f.c.CoreV1().Pods(f.ns).GetLogs(pod, &corev1.PodLogOptions{Container: ContainerName, TailLines: &n}).Stream(ctx)
	if err != nil {
		return
	}
	defer rc.Close()
	f.mu.Lock()
	r := &ring{max: f.keep}
	f.streams[pod] = r
	f.mu.Unlock()
	f.copy(rc, r)
}

func (f *logFollower) started(pod string) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	_, ok := f.streams[pod]
	return ok
}

func (f *logFollower) lines(pod string) []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	if r, ok := f.streams[pod]; ok {
		return r.list()
	}
	return nil
}

// drain lets the streams reach the end of their logs, for at most d.
func (f *logFollower) drain(d time.Duration) {
	done := make(chan struct{})
	go func() { f.wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(d):
		f.cancel()
		<-done
	}
}

func (f *logFollower) stop() {
	f.cancel()
	f.wg.Wait()
}

// ring keeps the last max lines.
type ring struct {
	max   int
	items []string
}

func (r *ring) add(s string) {
	r.items = append(r.items, s)
	if len(r.items) > r.max {
		r.items = r.items[len(r.items)-r.max:]
	}
}

func (r *ring) list() []string {
	if len(r.items) == 0 {
		return nil
	}
	return append([]string(nil), r.items...)
}
