package jobs

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	authorizationv1 "k8s.io/api/authorization/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	"k8s.io/utils/ptr"

	"github.com/backupctl/backupctl/contract"
)

// Client submits and follows our Jobs; everything else about them is built by the pure builders.
type Client struct {
	kubernetes.Interface
	// Namespace is the kubeconfig context's namespace ("" when it sets none), for a CLI whose
	// --namespace was left empty.
	Namespace string
}

// NewClient loads a kubeconfig as kubectl does: the explicit path, else KUBECONFIG, else
// ~/.kube/config, else the in-cluster service account; kubeContext "" means the current one.
func NewClient(kubeconfig, kubeContext string) (*Client, error) {
	cfg, ns, err := loadConfig(kubeconfig, kubeContext)
	if err != nil {
		return nil, err
	}
	cs, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return nil, fmt.Errorf("kubernetes client: %w", err)
	}
	return &Client{Interface: cs, Namespace: ns}, nil
}

// loadConfig resolves the kubeconfig for NewClient and returns the context's namespace too.
func loadConfig(kubeconfig, kubeContext string) (*rest.Config, string, error) {
	rules := clientcmd.NewDefaultClientConfigLoadingRules()
	rules.ExplicitPath = kubeconfig
	cc := clientcmd.NewNonInteractiveDeferredLoadingClientConfig(rules,
		&clientcmd.ConfigOverrides{CurrentContext: kubeContext})
	cfg, err := cc.ClientConfig()
	if err != nil {
		if clientcmd.IsEmptyConfig(err) {
			return nil, "", contract.Usagef("no kubeconfig found: set --kubeconfig or KUBECONFIG, or create ~/.kube/config")
		}
		return nil, "", contract.Usagef("load kubeconfig: %v: check --kubeconfig, KUBECONFIG and --context", err)
	}
	ns, _, err := cc.Namespace()
	if err != nil {
		ns = ""
	}
	return cfg, ns, nil
}

// Preflight checks what a Job of s needs before it is created, so a mistake is one clear error
// and not a pod stuck until its deadline. Where it may, it checks the Secret's key names (never
// printing values); a user without read access to Secrets skips that check.
func (c *Client) Preflight(ctx context.Context, s Spec) error {
	_, err := c.PreflightReport(ctx, s)
	return err
}

// PreflightReport is Preflight, and says what it could not check for lack of access.
func (c *Client) PreflightReport(ctx context.Context, s Spec) (notChecked []string, err error) {
	s = s.withDefaults(DefaultBackoffLimit)
	ns := s.Namespace
	if err := c.CheckNamespace(ctx, ns); err != nil {
		return nil, err
	}
	// deploy/'s Role grants no read of Secrets (a read returns the values): then the keys are
	// not checked here, and a missing one is reported from the pod.
	sec, err := c.CoreV1().Secrets(ns).Get(ctx, s.Secret, metav1.GetOptions{})
	if apierrors.IsForbidden(err) {
		sec, err = nil, nil
		notChecked = append(notChecked, fmt.Sprintf("secret %s/%s and its keys (no read access: the Job's pod will say)", ns, s.Secret))
	}
	if err != nil {
		if apierrors.IsNotFound(err) {
			return nil, contract.Usagef("secret %q not found in namespace %q: create it with keys %s (see deploy/examples/secret.yaml) or pass --secret",
				s.Secret, ns, strings.Join(s.secretKeys(), ", "))
		}
		return nil, apiError(err, "read secret %s/%s", ns, s.Secret)
	}
	var missing []string
	for _, k := range s.secretKeys() {
		if sec == nil {
			break
		}
		if _, ok := sec.Data[k]; !ok {
			missing = append(missing, k)
		}
	}
	if len(missing) > 0 {
		return nil, contract.Usagef("secret %s/%s lacks key(s) %s: add them (kubectl -n %s edit secret %s)",
			ns, s.Secret, strings.Join(missing, ", "), ns, s.Secret)
	}
	// Without its ServiceAccount the Job cannot create a pod, and would sit until its deadline.
	if _, err := c.CoreV1().ServiceAccounts(ns).Get(ctx, s.ServiceAccount, metav1.GetOptions{}); err != nil && !apierrors.IsForbidden(err) {
		if apierrors.IsNotFound(err) {
			return nil, contract.Usagef("service account %q not found in namespace %q: create it (%s) or pass --service-account",
				s.ServiceAccount, ns, InstallHint(ns))
		}
		return nil, apiError(err, "read service account %s/%s", ns, s.ServiceAccount)
	}
	if b := s.CABundle; b != nil {
		if err := c.checkCABundle(ctx, ns, *b); err != nil {
			return nil, err
		}
	}
	return notChecked, nil
}

func (c *Client) checkCABundle(ctx context.Context, ns string, b CABundle) error {
	kind, name := "configmap", b.ConfigMap
	var has bool
	var err error
	if b.Secret != "" {
		kind, name = "secret", b.Secret
		var sec *corev1.Secret
		if sec, err = c.CoreV1().Secrets(ns).Get(ctx, name, metav1.GetOptions{}); err == nil {
			_, has = sec.Data[b.key()]
		}
	} else {
		var cm *corev1.ConfigMap
		if cm, err = c.CoreV1().ConfigMaps(ns).Get(ctx, name, metav1.GetOptions{}); err == nil {
			_, inData := cm.Data[b.key()]
			_, inBinary := cm.BinaryData[b.key()]
			has = inData || inBinary
		}
	}
	switch {
	case apierrors.IsForbidden(err):
		return nil // the Role grants no access to it: the pod will say
	case apierrors.IsNotFound(err):
		return contract.Usagef("CA bundle %s %q not found in namespace %q: create it or fix the CA bundle flag", kind, name, ns)
	case err != nil:
		return apiError(err, "read %s %s/%s", kind, ns, name)
	case !has:
		return contract.Usagef("CA bundle %s %s/%s has no key %q: add it or name the right key", kind, ns, name, b.key())
	}
	return nil
}

// MissingNamespace is the error for a namespace that does not exist: exit code 2, with the
// commands that create it.
func MissingNamespace(ns string) error {
	return contract.Usagef("namespace %q does not exist: pass --namespace (BACKUP_NAMESPACE) for an installed one, or install it: %s", ns, InstallHint(ns))
}

// InstallHint is the command that installs deploy/ into namespace ns.
func InstallHint(ns string) string {
	if ns == DefaultNamespace {
		return "kubectl apply -k deploy/"
	}
	return fmt.Sprintf("cd deploy && kustomize edit set namespace %s && kubectl apply -k .", ns)
}

// ourResources are what the CLI uses in a namespace; a caller with no rule naming any of them
// there has no business in it.
var ourResources = []string{"jobs", "cronjobs", "pods", "secrets", "serviceaccounts", "*"}

// CheckNamespace fails with MissingNamespace when ns does not exist, whatever the caller may
// read. Reading a Namespace needs a cluster-wide grant that a user of deploy/'s Role lacks; then
// the caller's rules in ns decide: with none for our resources, the namespace is missing as far
// as the caller can use it (a typo, most often), and said so, instead of every request there
// later failing as "permission denied".
func (c *Client) CheckNamespace(ctx context.Context, ns string) error {
	_, err := c.CoreV1().Namespaces().Get(ctx, ns, metav1.GetOptions{})
	switch {
	case err == nil:
		return nil
	case apierrors.IsNotFound(err):
		return MissingNamespace(ns)
	case !apierrors.IsForbidden(err):
		return apiError(err, "read namespace %q", ns)
	}
	rr, err := c.AuthorizationV1().SelfSubjectRulesReviews().Create(ctx, &authorizationv1.SelfSubjectRulesReview{
		Spec: authorizationv1.SelfSubjectRulesReviewSpec{Namespace: ns},
	}, metav1.CreateOptions{})
	if err != nil || rr.Status.Incomplete {
		return nil // cannot tell: the requests that follow say what is wrong
	}
	for _, r := range rr.Status.ResourceRules {
		for _, res := range r.Resources {
			if slices.Contains(ourResources, res) {
				return nil
			}
		}
	}
	return contract.Usagef("namespace %q does not exist, or you have no rights in it: pass --namespace (BACKUP_NAMESPACE) for the one deploy/ was installed into, or install it: %s", ns, InstallHint(ns))
}

// apiError wraps an API error, turning the common permission problem into advice.
func apiError(err error, format string, args ...any) error {
	what := fmt.Sprintf(format, args...)
	if apierrors.IsForbidden(err) {
		return contract.Usagef("%s: permission denied: bind your user to the Role in deploy/20-rbac.yaml, in the namespace you name with --namespace (%v)", what, err)
	}
	return fmt.Errorf("%s: %w", what, err)
}

// Applied says what ApplyCronJob did.
type Applied string

// What ApplyCronJob can report.
const (
	AppliedCreated   Applied = "created"
	AppliedUpdated   Applied = "updated"
	AppliedUnchanged Applied = "unchanged" // the API server found nothing to change
)

// ApplyCronJob creates cj, or updates the existing one in place to match it: running it twice
// changes nothing. Labels and annotations set by others are kept.
func (c *Client) ApplyCronJob(ctx context.Context, cj *batchv1.CronJob) (*batchv1.CronJob, Applied, error) {
	api := c.BatchV1().CronJobs(cj.Namespace)
	cur, err := api.Get(ctx, cj.Name, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		out, err := api.Create(ctx, cj, metav1.CreateOptions{})
		if err != nil {
			return nil, "", apiError(err, "create cronjob %s/%s", cj.Namespace, cj.Name)
		}
		return out, AppliedCreated, nil
	}
	if err != nil {
		return nil, "", apiError(err, "read cronjob %s/%s", cj.Namespace, cj.Name)
	}
	upd := cur.DeepCopy()
	upd.Labels = merge(upd.Labels, cj.Labels)
	upd.Annotations = merge(upd.Annotations, cj.Annotations)
	upd.Spec = *cj.Spec.DeepCopy()
	// A plain update rather than a comparison: the stored object carries the API server's
	// defaults, and the server itself skips a write that changes nothing.
	out, err := api.Update(ctx, upd, metav1.UpdateOptions{})
	if err != nil {
		return nil, "", apiError(err, "update cronjob %s/%s", cj.Namespace, cj.Name)
	}
	if out.ResourceVersion == cur.ResourceVersion {
		return out, AppliedUnchanged, nil
	}
	return out, AppliedUpdated, nil
}

func merge(dst, src map[string]string) map[string]string {
	if dst == nil && len(src) > 0 {
		dst = map[string]string{}
	}
	maps.Copy(dst, src)
	return dst
}

// FindCronJob reads a CronJob, nil when there is none.
func (c *Client) FindCronJob(ctx context.Context, namespace, name string) (*batchv1.CronJob, error) {
	cj, err := c.GetCronJob(ctx, namespace, name)
	if apierrors.IsNotFound(err) {
		return nil, nil
	}
	return cj, err
}

// SetSuspended suspends or resumes a CronJob and returns it.
func (c *Client) SetSuspended(ctx context.Context, namespace, name string, suspend bool) (*batchv1.CronJob, error) {
	cj, err := c.GetCronJob(ctx, namespace, name)
	if err != nil {
		return nil, err
	}
	cj.Spec.Suspend = ptr.To(suspend)
	out, err := c.BatchV1().CronJobs(namespace).Update(ctx, cj, metav1.UpdateOptions{})
	if err != nil {
		return nil, apiError(err, "update cronjob %s/%s", namespace, name)
	}
	return out, nil
}

// GetCronJob reads a CronJob; a missing one is an error that apierrors.IsNotFound recognises.
func (c *Client) GetCronJob(ctx context.Context, namespace, name string) (*batchv1.CronJob, error) {
	cj, err := c.BatchV1().CronJobs(namespace).Get(ctx, name, metav1.GetOptions{})
	return read(cj, err, "cronjob", namespace, name, func() error {
		return fmt.Errorf("no schedule %q in namespace %q: create it with `backupctl schedule set`: %w", name, namespace, err)
	})
}

// read is what a Get of a kind returned: notFound's error (a contract.NotFound) when there is
// no such object, any other failure as an apiError, else the object.
func read[T any](v T, err error, kind, namespace, name string, notFound func() error) (T, error) {
	var zero T
	if apierrors.IsNotFound(err) {
		return zero, contract.NotFound(notFound())
	}
	if err != nil {
		return zero, apiError(err, "read %s %s/%s", kind, namespace, name)
	}
	return v, nil
}

// DeleteCronJob removes a CronJob. Its Jobs are orphaned, not deleted: removing a schedule must
// not kill a backup that is running, and each Job's TTL cleans it up later.
func (c *Client) DeleteCronJob(ctx context.Context, namespace, name string) error {
	err := c.BatchV1().CronJobs(namespace).Delete(ctx, name, metav1.DeleteOptions{
		PropagationPolicy: ptr.To(metav1.DeletePropagationOrphan),
	})
	if apierrors.IsNotFound(err) {
		return contract.NotFound(fmt.Errorf("no schedule %q in namespace %q: %w", name, namespace, err))
	}
	if err != nil {
		return apiError(err, "delete cronjob %s/%s", namespace, name)
	}
	return nil
}

// TriggerCronJob starts the CronJob's backup now (the Job's name ends in suffix), as `kubectl create job --from=cronjob/NAME`
// does, and returns the created Job for Wait.
func (c *Client) TriggerCronJob(ctx context.Context, namespace, name string, now time.Time, suffix string) (*batchv1.Job, error) {
	cj, err := c.GetCronJob(ctx, namespace, name)
	if err != nil {
		return nil, err
	}
	return c.createJob(ctx, JobFromCronJob(cj, now, suffix))
}

func (c *Client) createJob(ctx context.Context, job *batchv1.Job) (*batchv1.Job, error) {
	out, err := c.BatchV1().Jobs(job.Namespace).Create(ctx, job, metav1.CreateOptions{})
	switch {
	case apierrors.IsAlreadyExists(err):
		return nil, fmt.Errorf("job %s/%s already exists: retry: %w", job.Namespace, job.Name, err)
	case apierrors.IsNotFound(err):
		return nil, MissingNamespace(job.Namespace)
	case err != nil:
		return nil, apiError(err, "create job %s/%s", job.Namespace, job.Name)
	}
	return out, nil
}
