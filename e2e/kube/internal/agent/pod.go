package agent

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"time"

	v1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/kubernetes/third_party/forked/golang/expansion"
	"k8s.io/utils/ptr"
)

// Kubelet limits for the termination message.
const (
	maxTerminationMessage = 4096
	maxFallbackLines      = 80
	maxFallbackBytes      = 2048
)

// Why a pod's processes are being stopped.
const (
	stopDeleted  = "deleted"
	stopDeadline = "deadline"
	stopGone     = "gone"
	stopShutdown = "shutdown"
)

// container is the agent's view of one container of a pod.
type container struct {
	spec     v1.Container
	isInit   bool
	binary   string
	logDir   string
	termPath string

	restartCount int32
	state        v1.ContainerState
	lastState    v1.ContainerState
	containerID  string
	logPath      string        // current attempt's log
	logDone      chan struct{} // closed when that log is complete
	pgid         int           // process group of the running attempt
}

// podWorker runs one pod from start to confirmed deletion.
type podWorker struct {
	a    *Agent
	uid  types.UID
	dir  string
	done chan struct{}

	deleteCh, goneCh     chan struct{}
	deleteOnce, goneOnce sync.Once
	stop                 chan struct{}
	stopReason           string

	mu           sync.Mutex
	pod          *v1.Pod
	phase        v1.PodPhase
	reason       string
	message      string
	startTime    metav1.Time
	readyToStart bool
	initialized  bool
	initCtrs     []*container
	ctrs         []*container
}

func newPodWorker(a *Agent, pod *v1.Pod) *podWorker {
	w := &podWorker{
		a: a, uid: pod.UID, pod: pod,
		dir:      filepath.Join(a.cfg.RootDir, "pods", string(pod.UID)),
		done:     make(chan struct{}),
		deleteCh: make(chan struct{}),
		goneCh:   make(chan struct{}),
		stop:     make(chan struct{}),
		phase:    v1.PodPending,
	}
	mk := func(c v1.Container, isInit bool) *container {
		tp := c.TerminationMessagePath
		if tp == "" {
			tp = defaultTerminationMessagePath
		}
		c.TerminationMessagePath = tp
		return &container{
			spec: c, isInit: isInit,
			logDir:   filepath.Join(w.dir, "logs", c.Name),
			termPath: filepath.Join(w.dir, "termination", c.Name),
			state:    v1.ContainerState{Waiting: &v1.ContainerStateWaiting{Reason: "ContainerCreating"}},
		}
	}
	for _, c := range pod.Spec.InitContainers {
		w.initCtrs = append(w.initCtrs, mk(c, true))
	}
	for _, c := range pod.Spec.Containers {
		w.ctrs = append(w.ctrs, mk(c, false))
	}
	w.update(pod)
	return w
}

// update records the latest pod object; deletion starts the shutdown.
func (w *podWorker) update(pod *v1.Pod) {
	w.mu.Lock()
	w.pod = pod
	w.mu.Unlock()
	if pod.DeletionTimestamp != nil {
		w.deleteOnce.Do(func() { close(w.deleteCh) })
	}
}

// removed is called when the pod object is gone from the API.
func (w *podWorker) removed() {
	w.goneOnce.Do(func() { close(w.goneCh) })
}

func (w *podWorker) snapshot() *v1.Pod {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.pod
}

func (w *podWorker) logf(msg string, args ...any) {
	p := w.snapshot()
	w.a.log.Info(msg, append([]any{"pod", p.Namespace + "/" + p.Name}, args...)...)
}

func (w *podWorker) event(typ, reason, format string, args ...any) {
	if w.a.recorder != nil {
		w.a.recorder.Eventf(w.snapshot(), typ, reason, format, args...)
	}
}

func (w *podWorker) stopped() bool {
	select {
	case <-w.stop:
		return true
	default:
		return false
	}
}

// sleep waits d or until the pod is stopped; false means stopped.
func (w *podWorker) sleep(d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-w.stop:
		return false
	case <-t.C:
		return true
	}
}

// run is the pod's life: prepare, run containers, report, confirm deletion.
func (w *podWorker) run(ctx context.Context) {
	defer close(w.done)
	pod := w.snapshot()
	w.startTime = metav1.Now()
	go w.watchStop(ctx, pod)
	w.sync(ctx)

	if w.resolveImages() {
		w.runContainers(ctx, pod)
	} else {
		w.failImagePull(ctx)
	}
	w.sync(ctx)
	w.mu.Lock()
	phase, reason := w.phase, w.reason
	w.mu.Unlock()
	w.logf("pod finished", "phase", phase, "reason", reason)

	// A finished pod stays until deleted; then confirm the deletion.
	select {
	case <-w.deleteCh:
		w.a.confirmDeletion(ctx, w.snapshot())
	case <-w.goneCh:
	case <-ctx.Done():
	}
}

// watchStop closes w.stop on deletion, the pod's activeDeadlineSeconds or
// agent shutdown.
func (w *podWorker) watchStop(ctx context.Context, pod *v1.Pod) {
	var deadline <-chan time.Time
	if ads := pod.Spec.ActiveDeadlineSeconds; ads != nil {
		t := time.NewTimer(time.Until(w.startTime.Add(time.Duration(*ads) * time.Second)))
		defer t.Stop()
		deadline = t.C
	}
	reason := ""
	select {
	case <-w.deleteCh:
		reason = stopDeleted
	case <-w.goneCh:
		reason = stopGone
	case <-deadline:
		reason = stopDeadline
	case <-ctx.Done():
		reason = stopShutdown
	}
	w.mu.Lock()
	w.stopReason = reason
	w.mu.Unlock()
	close(w.stop)
}

// resolveImages maps every image to a binary; unknown images are marked
// ErrImagePull.
func (w *podWorker) resolveImages() bool {
	ok := true
	w.mu.Lock()
	defer w.mu.Unlock()
	for _, c := range append(append([]*container{}, w.initCtrs...), w.ctrs...) {
		bin, found := w.a.cfg.Images.Resolve(c.spec.Image)
		if !found {
			ok = false
			c.state = v1.ContainerState{Waiting: &v1.ContainerStateWaiting{
				Reason:  "ErrImagePull",
				Message: fmt.Sprintf("image %q is not in the node agent's image table (no image pulls: only --image-map entries run)", c.spec.Image),
			}}
			continue
		}
		c.binary = bin
	}
	return ok
}

// failImagePull reports ErrImagePull for a while (a kubelet would keep
// retrying), then fails the pod so its Job does not wait forever.
func (w *podWorker) failImagePull(ctx context.Context) {
	for _, c := range w.allContainers() {
		if c.binary == "" {
			w.event(v1.EventTypeWarning, "Failed", "Failed to pull image %q: not in the node agent's image table", c.spec.Image)
		}
	}
	w.sync(ctx)
	w.sleep(w.a.cfg.ImagePullFailAfter)
	w.mu.Lock()
	w.phase = v1.PodFailed
	w.reason = "ErrImagePull"
	w.message = "an image is not in the node agent's image table"
	for _, c := range w.allContainers() {
		if c.binary != "" {
			c.state = v1.ContainerState{Waiting: &v1.ContainerStateWaiting{Reason: "PodInitializing"}}
		}
	}
	w.mu.Unlock()
}

func (w *podWorker) allContainers() []*container {
	return append(append([]*container{}, w.initCtrs...), w.ctrs...)
}

// launchSpec is how one container attempt is started.
type launchSpec struct {
	argv    []string
	env     []string
	workdir string
}

// prepare materialises volumes and computes every container's launch spec,
// retrying while Secrets or ConfigMaps are missing.
func (w *podWorker) prepare(ctx context.Context, pod *v1.Pod) (map[string]*launchSpec, bool) {
	for {
		specs, err := w.tryPrepare(ctx, pod)
		if err == nil {
			w.mu.Lock()
			w.readyToStart = true
			w.mu.Unlock()
			return specs, true
		}
		reason := "CreateContainerConfigError"
		var ce *configError
		if !errors.As(err, &ce) {
			reason = "CreateContainerError"
		}
		w.logf("cannot prepare pod, retrying", "err", err)
		w.event(v1.EventTypeWarning, "Failed", "Error: %v", err)
		w.mu.Lock()
		for _, c := range w.allContainers() {
			c.state = v1.ContainerState{Waiting: &v1.ContainerStateWaiting{Reason: reason, Message: err.Error()}}
		}
		w.mu.Unlock()
		w.sync(ctx)
		if !w.sleep(2 * time.Second) {
			return nil, false
		}
	}
}

func (w *podWorker) tryPrepare(ctx context.Context, pod *v1.Pod) (map[string]*launchSpec, error) {
	for _, d := range []string{"logs", "termination", "home", "tmp", "work"} {
		if err := os.MkdirAll(filepath.Join(w.dir, d), 0o755); err != nil {
			return nil, err
		}
	}
	objs := newObjectCache(w.a, pod.Namespace)
	vols, err := w.a.prepareVolumes(ctx, objs, pod, w.dir)
	if err != nil {
		return nil, err
	}
	specs := map[string]*launchSpec{}
	for _, c := range w.allContainers() {
		if err := os.MkdirAll(c.logDir, 0o755); err != nil {
			return nil, err
		}
		ls, err := w.launchSpec(ctx, objs, pod, c, vols)
		if err != nil {
			return nil, fmt.Errorf("container %s: %w", c.spec.Name, err)
		}
		specs[c.spec.Name] = ls
	}
	return specs, nil
}

// launchSpec builds argv, env and working directory for c. Mount paths and
// the termination message path are rewritten to their host directories in
// command, args, env values and workingDir.
func (w *podWorker) launchSpec(ctx context.Context, objs *objectCache, pod *v1.Pod, c *container, vols map[string]string) (*launchSpec, error) {
	rw := &pathRewriter{}
	tmpdir := filepath.Join(w.dir, "tmp")
	for _, m := range c.spec.VolumeMounts {
		host, ok := vols[m.Name]
		if !ok {
			return nil, configErrorf("volume mount %q refers to no volume", m.Name)
		}
		if m.SubPath != "" {
			host = filepath.Join(host, m.SubPath)
			if err := os.MkdirAll(host, 0o755); err != nil {
				return nil, err
			}
		}
		rw.add(m.MountPath, host)
		if strings.TrimRight(m.MountPath, "/") == "/tmp" {
			tmpdir = host
		}
	}
	rw.add(c.spec.TerminationMessagePath, c.termPath)

	env, order, err := buildEnv(ctx, objs, pod, &c.spec)
	if err != nil {
		return nil, err
	}
	for _, k := range order {
		env[k] = rw.Rewrite(env[k])
	}
	// Not the agent's environment: only the spec's, plus what a container
	// runtime and image would give (PATH, HOME, HOSTNAME) and our two paths.
	defaults := map[string]string{
		"PATH":     defaultPath,
		"HOME":     filepath.Join(w.dir, "home"),
		"HOSTNAME": pod.Name,
		"TMPDIR":   tmpdir,
	}
	for _, k := range sortedKeys(defaults) {
		if _, ok := env[k]; !ok {
			env[k] = defaults[k]
			order = append(order, k)
		}
	}
	if _, ok := env["BACKUP_TERMINATION_LOG"]; !ok {
		order = append(order, "BACKUP_TERMINATION_LOG")
	}
	env["BACKUP_TERMINATION_LOG"] = c.termPath

	mapping := expansion.MappingFuncFor(env)
	expand := func(in []string) []string {
		out := make([]string, len(in))
		for i, s := range in {
			out[i] = rw.Rewrite(expansion.Expand(s, mapping))
		}
		return out
	}
	// The image's entrypoint is the mapped binary: command[0], if given,
	// names the program inside the image and is replaced by it.
	argv := []string{c.binary}
	if len(c.spec.Command) > 0 {
		argv = append(argv, expand(c.spec.Command[1:])...)
	}
	argv = append(argv, expand(c.spec.Args)...)

	workdir := filepath.Join(w.dir, "work")
	if wd := c.spec.WorkingDir; wd != "" {
		if host, ok := rw.lookup(wd); ok {
			workdir = host
		} else {
			workdir = filepath.Join(w.dir, "rootfs", wd)
		}
	}
	if err := os.MkdirAll(workdir, 0o755); err != nil {
		return nil, err
	}
	ls := &launchSpec{argv: argv, workdir: workdir}
	for _, k := range order {
		ls.env = append(ls.env, k+"="+env[k])
	}
	return ls, nil
}

// runContainers runs init containers in order, then all containers
// together, honouring the restart policy.
func (w *podWorker) runContainers(ctx context.Context, pod *v1.Pod) {
	specs, ok := w.prepare(ctx, pod)
	if !ok {
		w.finish(pod)
		return
	}
	w.mu.Lock()
	for _, c := range w.allContainers() {
		c.state = v1.ContainerState{Waiting: &v1.ContainerStateWaiting{Reason: "PodInitializing"}}
	}
	w.mu.Unlock()
	policy := pod.Spec.RestartPolicy
	for _, c := range w.initCtrs {
		if !w.runWithRestarts(ctx, c, specs[c.spec.Name], policy) {
			w.finish(pod)
			return
		}
	}
	w.mu.Lock()
	w.initialized = true
	for _, c := range w.ctrs {
		c.state = v1.ContainerState{Waiting: &v1.ContainerStateWaiting{Reason: "ContainerCreating"}}
	}
	w.mu.Unlock()
	var wg sync.WaitGroup
	for _, c := range w.ctrs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			w.runWithRestarts(ctx, c, specs[c.spec.Name], policy)
		}()
	}
	wg.Wait()
	w.finish(pod)
}

// runWithRestarts runs c until it succeeds, or fails under restartPolicy
// Never, or the pod is stopped. It reports whether c finally succeeded.
func (w *podWorker) runWithRestarts(ctx context.Context, c *container, ls *launchSpec, policy v1.RestartPolicy) bool {
	backoff := 10 * time.Second
	for {
		code := w.runAttempt(ctx, c, ls)
		if w.stopped() {
			return false
		}
		if code == 0 && (policy != v1.RestartPolicyAlways || c.isInit) {
			return true
		}
		if policy == v1.RestartPolicyNever {
			return false
		}
		w.mu.Lock()
		c.state = v1.ContainerState{Waiting: &v1.ContainerStateWaiting{Reason: "CrashLoopBackOff",
			Message: fmt.Sprintf("back-off %s restarting failed container %s", backoff, c.spec.Name)}}
		w.mu.Unlock()
		w.sync(ctx)
		if !w.sleep(backoff) {
			return false
		}
		backoff = min(2*backoff, 5*time.Minute)
		w.mu.Lock()
		c.restartCount++
		w.mu.Unlock()
	}
}

// runAttempt starts one process for c and waits for it, stopping it when the
// pod is stopped. It returns the exit code.
func (w *podWorker) runAttempt(ctx context.Context, c *container, ls *launchSpec) int32 {
	w.mu.Lock()
	n := c.restartCount
	if c.state.Terminated != nil {
		c.lastState = c.state
	}
	w.mu.Unlock()
	if w.stopped() {
		return -1
	}
	logPath := filepath.Join(c.logDir, fmt.Sprintf("%d.log", n))
	lf, err := createLogFile(logPath)
	if err != nil {
		return w.startFailed(ctx, c, err)
	}
	// A fresh, empty termination-message file for each attempt.
	if err := os.WriteFile(c.termPath, nil, 0o666); err != nil {
		lf.Close()
		return w.startFailed(ctx, c, err)
	}
	stdout := &streamWriter{l: lf, stream: "stdout"}
	stderr := &streamWriter{l: lf, stream: "stderr"}
	cmd := exec.Command(ls.argv[0], ls.argv[1:]...)
	cmd.Env = ls.env
	cmd.Dir = ls.workdir
	cmd.Stdin = nil
	cmd.Stdout, cmd.Stderr = stdout, stderr
	// Own process group, so deletion signals reach the whole "container";
	// Pdeathsig, so nothing outlives the agent.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	// Do not wait forever for pipes held open by leftover grandchildren.
	cmd.WaitDelay = 2 * time.Second

	started := make(chan error, 1)
	exited := make(chan struct{})
	go func() {
		// Pdeathsig fires when the starting OS thread exits, so keep the
		// thread for the lifetime of the child.
		runtime.LockOSThread()
		defer runtime.UnlockOSThread()
		if err := cmd.Start(); err != nil {
			started <- err
			return
		}
		started <- nil
		_ = cmd.Wait()
		close(exited)
	}()
	if err := <-started; err != nil {
		lf.Close()
		return w.startFailed(ctx, c, err)
	}
	pgid := cmd.Process.Pid
	startedAt := metav1.Now()
	logDone := make(chan struct{})
	w.mu.Lock()
	c.pgid = pgid
	c.containerID = fmt.Sprintf("nodeagent://%s-%s-%d", w.uid, c.spec.Name, n)
	c.logPath, c.logDone = logPath, logDone
	c.state = v1.ContainerState{Running: &v1.ContainerStateRunning{StartedAt: startedAt}}
	if !c.isInit && w.phase == v1.PodPending {
		w.phase = v1.PodRunning
	}
	w.mu.Unlock()
	w.logf("container started", "container", c.spec.Name, "pid", pgid, "argv", ls.argv)
	w.event(v1.EventTypeNormal, "Started", "Started container %s", c.spec.Name)
	w.sync(ctx)

	select {
	case <-exited:
	case <-w.stop:
		w.terminate(c, pgid, exited)
	}
	<-exited
	// Like a container's cgroup: whatever the main process left behind goes too.
	_ = syscall.Kill(-pgid, syscall.SIGKILL)
	stdout.flush()
	stderr.flush()
	lf.Close()
	close(logDone)

	code, reason := exitStatus(cmd.ProcessState)
	msg := readTerminationMessage(c.termPath)
	if msg == "" && code != 0 && c.spec.TerminationMessagePolicy == v1.TerminationMessageFallbackToLogsOnError {
		msg = tailText(logPath, maxFallbackLines, maxFallbackBytes)
	}
	w.mu.Lock()
	c.pgid = 0
	c.state = v1.ContainerState{Terminated: &v1.ContainerStateTerminated{
		ExitCode: code, Reason: reason, Message: msg,
		StartedAt: startedAt, FinishedAt: metav1.Now(), ContainerID: c.containerID,
	}}
	w.mu.Unlock()
	w.logf("container exited", "container", c.spec.Name, "code", code)
	w.sync(ctx)
	return code
}

// terminate sends SIGTERM to the process group and SIGKILL after the grace
// period.
func (w *podWorker) terminate(c *container, pgid int, exited <-chan struct{}) {
	grace := w.gracePeriod()
	w.mu.Lock()
	reason := w.stopReason
	w.mu.Unlock()
	w.logf("stopping container", "container", c.spec.Name, "reason", reason, "grace", grace)
	if grace > 0 {
		w.event(v1.EventTypeNormal, "Killing", "Stopping container %s", c.spec.Name)
		_ = syscall.Kill(-pgid, syscall.SIGTERM)
		t := time.NewTimer(grace)
		defer t.Stop()
		select {
		case <-exited:
			return
		case <-t.C:
		}
	}
	_ = syscall.Kill(-pgid, syscall.SIGKILL)
}

// gracePeriod is the time between SIGTERM and SIGKILL for the stop reason.
func (w *podWorker) gracePeriod() time.Duration {
	w.mu.Lock()
	defer w.mu.Unlock()
	var secs int64 = 30
	if g := w.pod.Spec.TerminationGracePeriodSeconds; g != nil {
		secs = *g
	}
	switch w.stopReason {
	case stopDeleted:
		if g := w.pod.DeletionGracePeriodSeconds; g != nil {
			secs = *g
		}
	case stopGone:
		secs = min(secs, 2)
	case stopShutdown:
		secs = 0
	}
	return time.Duration(secs) * time.Second
}

// killAll kills every running process group at once (agent shutdown).
func (w *podWorker) killAll() {
	w.mu.Lock()
	defer w.mu.Unlock()
	for _, c := range w.allContainers() {
		if c.pgid > 0 {
			_ = syscall.Kill(-c.pgid, syscall.SIGKILL)
		}
	}
}

// startFailed records a process that could not be started, as a runtime's
// StartError.
func (w *podWorker) startFailed(ctx context.Context, c *container, err error) int32 {
	now := metav1.Now()
	w.mu.Lock()
	c.state = v1.ContainerState{Terminated: &v1.ContainerStateTerminated{
		ExitCode: 128, Reason: "StartError", Message: err.Error(), StartedAt: now, FinishedAt: now,
	}}
	w.mu.Unlock()
	w.event(v1.EventTypeWarning, "Failed", "Error: %v", err)
	w.sync(ctx)
	return 128
}

func exitStatus(ps *os.ProcessState) (int32, string) {
	if ps == nil {
		return 128, "Error"
	}
	code := int32(ps.ExitCode())
	if ws, ok := ps.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
		code = 128 + int32(ws.Signal())
	}
	if code == 0 {
		return 0, "Completed"
	}
	return code, "Error"
}

func readTerminationMessage(path string) string {
	f, err := os.Open(path)
	if err != nil {
		return ""
	}
	defer f.Close()
	b, _ := io.ReadAll(io.LimitReader(f, maxTerminationMessage))
	return string(b)
}

// finish computes the terminal phase once no process runs any more.
func (w *podWorker) finish(pod *v1.Pod) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.phase == v1.PodSucceeded || w.phase == v1.PodFailed {
		return
	}
	if w.stopReason == stopDeadline {
		w.phase = v1.PodFailed
		w.reason = "DeadlineExceeded"
		w.message = "Pod was active on the node longer than the specified deadline"
	} else {
		w.phase = v1.PodSucceeded
		if !w.initialized {
			w.phase = v1.PodFailed
		}
		for _, c := range w.ctrs {
			if c.state.Terminated == nil || c.state.Terminated.ExitCode != 0 {
				w.phase = v1.PodFailed
			}
		}
	}
	// Containers that never ran end as a kubelet reports them.
	for _, c := range w.allContainers() {
		if c.state.Waiting != nil && c.state.Waiting.Reason != "ErrImagePull" {
			c.state = v1.ContainerState{Terminated: &v1.ContainerStateTerminated{
				ExitCode: 137, Reason: "ContainerStatusUnknown",
				Message: "The container could not be located when the pod was terminated",
			}}
		}
	}
}

// sync writes the worker's view into the pod's status.
func (w *podWorker) sync(ctx context.Context) {
	pod := w.snapshot()
	err := w.a.updateStatus(ctx, pod, w.applyStatus)
	if err != nil && ctx.Err() == nil {
		w.logf("update pod status failed", "err", err)
	}
}

func (w *podWorker) applyStatus(st *v1.PodStatus) {
	w.mu.Lock()
	defer w.mu.Unlock()
	// A terminal phase in the API is final; never move back from it.
	if st.Phase != v1.PodSucceeded && st.Phase != v1.PodFailed {
		st.Phase = w.phase
	}
	st.Reason, st.Message = w.reason, w.message
	ip := w.a.cfg.NodeIP
	st.HostIP, st.PodIP = ip, ip
	st.HostIPs = []v1.HostIP{{IP: ip}}
	st.PodIPs = []v1.PodIP{{IP: ip}}
	st.StartTime = &w.startTime
	st.InitContainerStatuses = w.statuses(w.initCtrs)
	st.ContainerStatuses = w.statuses(w.ctrs)

	terminal := w.phase == v1.PodSucceeded || w.phase == v1.PodFailed
	b := func(ok bool) v1.ConditionStatus {
		if ok {
			return v1.ConditionTrue
		}
		return v1.ConditionFalse
	}
	setCondition(st, v1.PodReadyToStartContainers, b(w.readyToStart && !terminal), "")
	initReason := ""
	if !w.initialized && len(w.initCtrs) > 0 {
		initReason = "ContainersNotInitialized"
	}
	setCondition(st, v1.PodInitialized, b(w.initialized || len(w.initCtrs) == 0), initReason)
	ready := w.phase == v1.PodRunning
	for _, c := range w.ctrs {
		ready = ready && c.state.Running != nil
	}
	readyReason := "ContainersNotReady"
	switch {
	case ready:
		readyReason = ""
	case terminal:
		readyReason = "PodCompleted"
	}
	setCondition(st, v1.ContainersReady, b(ready), readyReason)
	setCondition(st, v1.PodReady, b(ready), readyReason)
}

func (w *podWorker) statuses(cs []*container) []v1.ContainerStatus {
	var out []v1.ContainerStatus
	for _, c := range cs {
		imageID := ""
		if c.binary != "" {
			imageID = "nodeagent://" + c.binary
		}
		out = append(out, v1.ContainerStatus{
			Name:                 c.spec.Name,
			Image:                c.spec.Image,
			ImageID:              imageID,
			ContainerID:          c.containerID,
			State:                c.state,
			LastTerminationState: c.lastState,
			Ready:                !c.isInit && c.state.Running != nil,
			Started:              ptr.To(c.state.Running != nil),
			RestartCount:         c.restartCount,
		})
	}
	return out
}

// logFor returns the log of the container's current (or previous) attempt
// and a channel closed once that log is complete.
func (w *podWorker) logFor(name string, previous bool) (string, <-chan struct{}) {
	w.mu.Lock()
	defer w.mu.Unlock()
	for _, c := range w.allContainers() {
		if c.spec.Name != name {
			continue
		}
		if previous {
			return latestLog(c.logDir, true), closedChan
		}
		if c.logPath == "" {
			return "", closedChan
		}
		return c.logPath, c.logDone
	}
	return "", closedChan
}
