// Package agent is a minimal node agent: it registers a Node, keeps it Ready
// and runs the pods bound to it as local processes. It stands in for a
// kubelet and a container runtime on a machine without either; it isolates
// nothing and pulls no images.
package agent

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"fmt"
	"log/slog"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"sync"
	"time"

	coordv1 "k8s.io/api/coordination/v1"
	v1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/kubernetes/scheme"
	typedcorev1 "k8s.io/client-go/kubernetes/typed/core/v1"
	corelisters "k8s.io/client-go/listers/core/v1"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/tools/record"
	"k8s.io/client-go/util/retry"
	"k8s.io/utils/ptr"
)

// Config is what the agent needs to run.
type Config struct {
	// NodeName is the Node to register and whose pods to run.
	NodeName string
	// NodeIP is the Node's InternalIP; the API server reaches the log
	// endpoint there.
	NodeIP string
	// ListenAddr is the address of the kubelet-style HTTPS endpoint.
	ListenAddr string
	// TLSCertFile and TLSKeyFile are the endpoint's serving certificate; a
	// self-signed one is made when empty.
	TLSCertFile, TLSKeyFile string
	// ClientCAFile, when set, makes the endpoint require client certificates
	// signed by it (the API server's --kubelet-client-certificate).
	ClientCAFile string
	// RootDir holds one directory per pod (pods/<uid>/).
	RootDir string
	// Images maps images to local binaries.
	Images ImageMap
	// ImagePullFailAfter is how long a pod with an unknown image stays
	// Pending with ErrImagePull before it is failed.
	ImagePullFailAfter time.Duration
	// HeartbeatInterval is how often the Node status and Lease are renewed.
	HeartbeatInterval time.Duration
}

// Agent runs pods bound to one Node.
type Agent struct {
	cfg      Config
	client   kubernetes.Interface
	log      *slog.Logger
	recorder record.EventRecorder
	pods     corelisters.PodLister

	mu      sync.Mutex
	workers map[types.UID]*podWorker
}

// New returns an agent using client.
func New(cfg Config, client kubernetes.Interface, log *slog.Logger) *Agent {
	if cfg.ImagePullFailAfter == 0 {
		cfg.ImagePullFailAfter = 5 * time.Second
	}
	if cfg.HeartbeatInterval == 0 {
		cfg.HeartbeatInterval = 10 * time.Second
	}
	return &Agent{cfg: cfg, client: client, log: log, workers: map[types.UID]*podWorker{}}
}

// Run registers the Node, serves the log endpoint and runs pods until ctx
// ends. On return every process it started has been killed.
func (a *Agent) Run(ctx context.Context) error {
	if err := os.MkdirAll(filepath.Join(a.cfg.RootDir, "pods"), 0o755); err != nil {
		return err
	}
	bc := record.NewBroadcaster(record.WithContext(ctx))
	bc.StartRecordingToSink(&typedcorev1.EventSinkImpl{Interface: a.client.CoreV1().Events("")})
	defer bc.Shutdown()
	a.recorder = bc.NewRecorder(scheme.Scheme, v1.EventSource{Component: "kubelet", Host: a.cfg.NodeName})

	srv, err := a.startServer()
	if err != nil {
		return err
	}
	defer srv.Close()

	if err := a.registerNode(ctx); err != nil {
		return fmt.Errorf("register node: %w", err)
	}
	go a.heartbeat(ctx)

	factory := informers.NewSharedInformerFactoryWithOptions(a.client, 0,
		informers.WithTweakListOptions(func(o *metav1.ListOptions) {
			o.FieldSelector = fields.OneTermEqualSelector("spec.nodeName", a.cfg.NodeName).String()
		}))
	inf := factory.Core().V1().Pods()
	a.pods = inf.Lister()
	if _, err := inf.Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    func(obj any) { a.podChanged(ctx, obj.(*v1.Pod)) },
		UpdateFunc: func(_, obj any) { a.podChanged(ctx, obj.(*v1.Pod)) },
		DeleteFunc: func(obj any) {
			if t, ok := obj.(cache.DeletedFinalStateUnknown); ok {
				obj = t.Obj
			}
			if p, ok := obj.(*v1.Pod); ok {
				a.podGone(p)
			}
		},
	}); err != nil {
		return err
	}
	factory.Start(ctx.Done())
	if !cache.WaitForCacheSync(ctx.Done(), inf.Informer().HasSynced) {
		return ctx.Err()
	}
	a.removeStaleDirs()
	a.log.Info("node agent ready", "node", a.cfg.NodeName, "listen", a.cfg.ListenAddr)
	<-ctx.Done()
	factory.Shutdown()
	a.stopAll()
	return nil
}

// podChanged starts a worker for a new pod or tells the existing one.
func (a *Agent) podChanged(ctx context.Context, pod *v1.Pod) {
	a.mu.Lock()
	w, ok := a.workers[pod.UID]
	if ok {
		a.mu.Unlock()
		w.update(pod)
		return
	}
	terminal := pod.Status.Phase == v1.PodSucceeded || pod.Status.Phase == v1.PodFailed
	if terminal || wasStarted(pod) {
		a.mu.Unlock()
		// Finished pods stay as they are; one that was running under an
		// earlier agent lost its processes with it.
		if !terminal {
			a.failOrphan(ctx, pod)
		}
		if pod.DeletionTimestamp != nil {
			a.confirmDeletion(ctx, pod)
		}
		return
	}
	w = newPodWorker(a, pod)
	a.workers[pod.UID] = w
	a.mu.Unlock()
	go w.run(ctx)
}

// wasStarted reports whether an earlier agent already ran this pod.
func wasStarted(pod *v1.Pod) bool {
	for _, cs := range append(append([]v1.ContainerStatus{}, pod.Status.InitContainerStatuses...), pod.Status.ContainerStatuses...) {
		if cs.State.Running != nil || cs.State.Terminated != nil || cs.RestartCount > 0 {
			return true
		}
	}
	return false
}

// failOrphan marks a pod whose processes died with a previous agent as
// Failed, so its controller replaces it.
func (a *Agent) failOrphan(ctx context.Context, pod *v1.Pod) {
	now := metav1.Now()
	err := a.updateStatus(ctx, pod, func(st *v1.PodStatus) {
		st.Phase = v1.PodFailed
		st.Reason = "NodeAgentRestarted"
		st.Message = "the node agent restarted while the pod was running; its processes are gone"
		for _, list := range [][]v1.ContainerStatus{st.InitContainerStatuses, st.ContainerStatuses} {
			for i := range list {
				cs := &list[i]
				if cs.State.Terminated != nil {
					continue
				}
				started := now
				if cs.State.Running != nil {
					started = cs.State.Running.StartedAt
				}
				cs.State = v1.ContainerState{Terminated: &v1.ContainerStateTerminated{
					ExitCode: 137, Reason: "Error", Message: "node agent restarted",
					StartedAt: started, FinishedAt: now, ContainerID: cs.ContainerID,
				}}
				cs.Ready = false
				cs.Started = ptr.To(false)
			}
		}
		setCondition(st, v1.PodReady, v1.ConditionFalse, "PodFailed")
		setCondition(st, v1.ContainersReady, v1.ConditionFalse, "PodFailed")
	})
	if err != nil {
		a.log.Error("fail orphaned pod", "pod", pod.Namespace+"/"+pod.Name, "err", err)
	}
}

// podGone handles a pod removed from the API: kill what still runs and
// delete its directory.
func (a *Agent) podGone(pod *v1.Pod) {
	a.mu.Lock()
	w := a.workers[pod.UID]
	delete(a.workers, pod.UID)
	a.mu.Unlock()
	if w != nil {
		w.removed()
	}
	go func() {
		if w != nil {
			<-w.done
		}
		_ = os.RemoveAll(filepath.Join(a.cfg.RootDir, "pods", string(pod.UID)))
	}()
}

// removeStaleDirs removes pod directories of pods that no longer exist.
func (a *Agent) removeStaleDirs() {
	entries, err := os.ReadDir(filepath.Join(a.cfg.RootDir, "pods"))
	if err != nil {
		return
	}
	pods, _ := a.pods.List(labels.Everything())
	known := map[string]bool{}
	for _, p := range pods {
		known[string(p.UID)] = true
	}
	for _, e := range entries {
		if !known[e.Name()] {
			_ = os.RemoveAll(filepath.Join(a.cfg.RootDir, "pods", e.Name()))
		}
	}
}

// stopAll kills every running pod process (agent shutdown).
func (a *Agent) stopAll() {
	a.mu.Lock()
	ws := make([]*podWorker, 0, len(a.workers))
	for _, w := range a.workers {
		ws = append(ws, w)
	}
	a.mu.Unlock()
	for _, w := range ws {
		w.killAll()
	}
}

// confirmDeletion removes the pod object once nothing of it runs, as a
// kubelet does with a zero grace period.
func (a *Agent) confirmDeletion(ctx context.Context, pod *v1.Pod) {
	err := a.client.CoreV1().Pods(pod.Namespace).Delete(ctx, pod.Name, metav1.DeleteOptions{
		GracePeriodSeconds: ptr.To[int64](0),
		Preconditions:      &metav1.Preconditions{UID: &pod.UID},
	})
	if err != nil && !apierrors.IsNotFound(err) && !apierrors.IsConflict(err) {
		a.log.Error("confirm pod deletion", "pod", pod.Namespace+"/"+pod.Name, "err", err)
	}
}

// updateStatus applies mutate to the pod's current status, retrying on
// conflicts. A pod that is gone is not an error.
func (a *Agent) updateStatus(ctx context.Context, pod *v1.Pod, mutate func(*v1.PodStatus)) error {
	err := retry.RetryOnConflict(retry.DefaultBackoff, func() error {
		cur, err := a.client.CoreV1().Pods(pod.Namespace).Get(ctx, pod.Name, metav1.GetOptions{})
		if err != nil {
			return err
		}
		if cur.UID != pod.UID {
			return apierrors.NewNotFound(v1.Resource("pods"), pod.Name)
		}
		mutate(&cur.Status)
		_, err = a.client.CoreV1().Pods(pod.Namespace).UpdateStatus(ctx, cur, metav1.UpdateOptions{})
		return err
	})
	if apierrors.IsNotFound(err) {
		return nil
	}
	return err
}

// setCondition sets a pod condition, keeping the transition time when the
// status does not change.
func setCondition(st *v1.PodStatus, t v1.PodConditionType, status v1.ConditionStatus, reason string) {
	now := metav1.Now()
	for i := range st.Conditions {
		c := &st.Conditions[i]
		if c.Type == t {
			if c.Status != status {
				c.LastTransitionTime = now
			}
			c.Status, c.Reason = status, reason
			return
		}
	}
	st.Conditions = append(st.Conditions, v1.PodCondition{Type: t, Status: status, Reason: reason, LastTransitionTime: now})
}

// --- Node ---

func (a *Agent) nodeConditions(now metav1.Time) []v1.NodeCondition {
	cond := func(t v1.NodeConditionType, s v1.ConditionStatus, reason, msg string) v1.NodeCondition {
		return v1.NodeCondition{Type: t, Status: s, Reason: reason, Message: msg, LastHeartbeatTime: now, LastTransitionTime: now}
	}
	return []v1.NodeCondition{
		cond(v1.NodeMemoryPressure, v1.ConditionFalse, "KubeletHasSufficientMemory", "node agent does not track memory"),
		cond(v1.NodeDiskPressure, v1.ConditionFalse, "KubeletHasNoDiskPressure", "node agent does not track disk"),
		cond(v1.NodePIDPressure, v1.ConditionFalse, "KubeletHasSufficientPID", "node agent does not track PIDs"),
		cond(v1.NodeReady, v1.ConditionTrue, "KubeletReady", "backupctl node agent is posting ready status"),
	}
}

func (a *Agent) nodeStatus(now metav1.Time) v1.NodeStatus {
	_, portStr, _ := net.SplitHostPort(a.cfg.ListenAddr)
	var port int32
	fmt.Sscan(portStr, &port)
	capacity := v1.ResourceList{
		v1.ResourceCPU:              *resource.NewQuantity(int64(runtime.NumCPU()), resource.DecimalSI),
		v1.ResourceMemory:           resource.MustParse("16Gi"),
		v1.ResourcePods:             *resource.NewQuantity(110, resource.DecimalSI),
		v1.ResourceEphemeralStorage: resource.MustParse("100Gi"),
	}
	return v1.NodeStatus{
		Capacity:    capacity,
		Allocatable: capacity,
		Phase:       v1.NodeRunning,
		Conditions:  a.nodeConditions(now),
		Addresses: []v1.NodeAddress{
			{Type: v1.NodeInternalIP, Address: a.cfg.NodeIP},
			{Type: v1.NodeHostName, Address: a.cfg.NodeName},
		},
		DaemonEndpoints: v1.NodeDaemonEndpoints{KubeletEndpoint: v1.DaemonEndpoint{Port: port}},
		NodeInfo: v1.NodeSystemInfo{
			OperatingSystem:         runtime.GOOS,
			Architecture:            runtime.GOARCH,
			KubeletVersion:          "v1.37.2",
			ContainerRuntimeVersion: "nodeagent://1",
			OSImage:                 "backupctl node agent (local processes)",
		},
	}
}

// registerNode creates or adopts the Node, removes the taints a node without
// a kubelet carries and posts a Ready status.
func (a *Agent) registerNode(ctx context.Context) error {
	now := metav1.Now()
	node := &v1.Node{
		ObjectMeta: metav1.ObjectMeta{
			Name: a.cfg.NodeName,
			Labels: map[string]string{
				"kubernetes.io/hostname": a.cfg.NodeName,
				"kubernetes.io/os":       runtime.GOOS,
				"kubernetes.io/arch":     runtime.GOARCH,
				"backupctl.io/nodeagent": "true",
			},
		},
	}
	_, err := a.client.CoreV1().Nodes().Create(ctx, node, metav1.CreateOptions{})
	if err != nil && !apierrors.IsAlreadyExists(err) {
		return err
	}
	// Admission adds node.kubernetes.io/not-ready on creation; only a
	// kubelet's own status would make a node lifecycle controller lift it.
	if err := a.untaint(ctx); err != nil {
		return err
	}
	return a.postStatus(ctx, now)
}

func (a *Agent) untaint(ctx context.Context) error {
	return retry.RetryOnConflict(retry.DefaultBackoff, func() error {
		n, err := a.client.CoreV1().Nodes().Get(ctx, a.cfg.NodeName, metav1.GetOptions{})
		if err != nil {
			return err
		}
		var keep []v1.Taint
		for _, t := range n.Spec.Taints {
			if t.Key != v1.TaintNodeNotReady && t.Key != v1.TaintNodeUnreachable {
				keep = append(keep, t)
			}
		}
		if len(keep) == len(n.Spec.Taints) {
			return nil
		}
		n.Spec.Taints = keep
		_, err = a.client.CoreV1().Nodes().Update(ctx, n, metav1.UpdateOptions{})
		return err
	})
}

func (a *Agent) postStatus(ctx context.Context, now metav1.Time) error {
	return retry.RetryOnConflict(retry.DefaultBackoff, func() error {
		n, err := a.client.CoreV1().Nodes().Get(ctx, a.cfg.NodeName, metav1.GetOptions{})
		if err != nil {
			return err
		}
		st := a.nodeStatus(now)
		// Keep transition times of unchanged conditions.
		for i := range st.Conditions {
			for _, old := range n.Status.Conditions {
				if old.Type == st.Conditions[i].Type && old.Status == st.Conditions[i].Status {
					st.Conditions[i].LastTransitionTime = old.LastTransitionTime
				}
			}
		}
		n.Status = st
		_, err = a.client.CoreV1().Nodes().UpdateStatus(ctx, n, metav1.UpdateOptions{})
		return err
	})
}

// renewLease keeps kube-node-lease/<node> fresh, as a kubelet does.
func (a *Agent) renewLease(ctx context.Context) error {
	leases := a.client.CoordinationV1().Leases(v1.NamespaceNodeLease)
	now := metav1.NowMicro()
	l, err := leases.Get(ctx, a.cfg.NodeName, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		l = &coordv1.Lease{
			ObjectMeta: metav1.ObjectMeta{Name: a.cfg.NodeName, Namespace: v1.NamespaceNodeLease},
			Spec: coordv1.LeaseSpec{
				HolderIdentity:       ptr.To(a.cfg.NodeName),
				LeaseDurationSeconds: ptr.To[int32](40),
				RenewTime:            &now,
			},
		}
		if n, err := a.client.CoreV1().Nodes().Get(ctx, a.cfg.NodeName, metav1.GetOptions{}); err == nil {
			l.OwnerReferences = []metav1.OwnerReference{{APIVersion: "v1", Kind: "Node", Name: n.Name, UID: n.UID}}
		}
		_, err = leases.Create(ctx, l, metav1.CreateOptions{})
		return err
	}
	if err != nil {
		return err
	}
	l.Spec.RenewTime = &now
	l.Spec.HolderIdentity = ptr.To(a.cfg.NodeName)
	_, err = leases.Update(ctx, l, metav1.UpdateOptions{})
	return err
}

func (a *Agent) heartbeat(ctx context.Context) {
	t := time.NewTicker(a.cfg.HeartbeatInterval)
	defer t.Stop()
	for {
		if err := a.renewLease(ctx); err != nil && ctx.Err() == nil {
			a.log.Error("renew lease", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		if err := a.untaint(ctx); err != nil && ctx.Err() == nil {
			a.log.Error("untaint node", "err", err)
		}
		if err := a.postStatus(ctx, metav1.Now()); err != nil && ctx.Err() == nil {
			a.log.Error("post node status", "err", err)
		}
	}
}

// --- kubelet endpoint ---

func (a *Agent) startServer() (*http.Server, error) {
	tlsCfg := &tls.Config{MinVersion: tls.VersionTLS12}
	if a.cfg.TLSCertFile != "" {
		cert, err := tls.LoadX509KeyPair(a.cfg.TLSCertFile, a.cfg.TLSKeyFile)
		if err != nil {
			return nil, err
		}
		tlsCfg.Certificates = []tls.Certificate{cert}
	} else {
		cert, err := selfSigned(a.cfg.NodeName, a.cfg.NodeIP)
		if err != nil {
			return nil, err
		}
		tlsCfg.Certificates = []tls.Certificate{cert}
	}
	if a.cfg.ClientCAFile != "" {
		pem, err := os.ReadFile(a.cfg.ClientCAFile)
		if err != nil {
			return nil, err
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, errors.New("no certificate in " + a.cfg.ClientCAFile)
		}
		tlsCfg.ClientCAs = pool
		tlsCfg.ClientAuth = tls.RequireAndVerifyClientCert
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write([]byte("ok")) })
	mux.HandleFunc("GET /containerLogs/{ns}/{pod}/{container}", a.serveLogs)
	ln, err := net.Listen("tcp", a.cfg.ListenAddr)
	if err != nil {
		return nil, err
	}
	srv := &http.Server{Handler: mux, TLSConfig: tlsCfg, ReadHeaderTimeout: 10 * time.Second}
	go func() {
		if err := srv.ServeTLS(ln, "", ""); err != nil && !errors.Is(err, http.ErrServerClosed) {
			a.log.Error("kubelet endpoint", "err", err)
		}
	}()
	return srv, nil
}

func selfSigned(name, ip string) (tls.Certificate, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return tls.Certificate{}, err
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(time.Now().UnixNano()),
		Subject:      pkix.Name{CommonName: name},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().AddDate(10, 0, 0),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		DNSNames:     []string{name, "localhost"},
	}
	if parsed := net.ParseIP(ip); parsed != nil {
		tmpl.IPAddresses = []net.IP{parsed}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return tls.Certificate{}, err
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}, nil
}

// serveLogs is the kubelet's /containerLogs/{ns}/{pod}/{container}.
func (a *Agent) serveLogs(w http.ResponseWriter, r *http.Request) {
	ns, name, container := r.PathValue("ns"), r.PathValue("pod"), r.PathValue("container")
	opts, err := parseLogOptions(r.URL.Query())
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	previous := r.URL.Query().Get("previous") == "true"
	pod, err := a.pods.Pods(ns).Get(name)
	if err != nil {
		http.Error(w, fmt.Sprintf("pod %s/%s not found on node %s", ns, name, a.cfg.NodeName), http.StatusNotFound)
		return
	}
	a.mu.Lock()
	wk := a.workers[pod.UID]
	a.mu.Unlock()
	path, done := "", (<-chan struct{})(closedChan)
	if wk != nil {
		path, done = wk.logFor(container, previous)
	} else {
		path = latestLog(filepath.Join(a.cfg.RootDir, "pods", string(pod.UID), "logs", container), previous)
	}
	if path == "" {
		http.Error(w, fmt.Sprintf("container %q in pod %s/%s has no logs", container, ns, name), http.StatusNotFound)
		return
	}
	w.Header().Set("Content-Type", "text/plain")
	w.Header().Set("Transfer-Encoding", "chunked")
	w.WriteHeader(http.StatusOK)
	if err := serveLogFile(r.Context(), w, path, opts, done); err != nil {
		a.log.Error("serve logs", "pod", ns+"/"+name, "err", err)
	}
}

var closedChan = func() chan struct{} { c := make(chan struct{}); close(c); return c }()

// latestLog finds the newest (or the one before, with previous) attempt's log
// in a container's log directory; files are named <restartCount>.log.
func latestLog(dir string, previous bool) string {
	best, second := -1, -1
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		var n int
		if _, err := fmt.Sscanf(e.Name(), "%d.log", &n); err != nil {
			continue
		}
		if n > best {
			best, second = n, best
		} else if n > second {
			second = n
		}
	}
	n := best
	if previous {
		n = second
	}
	if n < 0 {
		return ""
	}
	return filepath.Join(dir, fmt.Sprintf("%d.log", n))
}
