// Package proof holds the end-to-end tests of the local cluster: the control
// plane and the real node (kubelet, containerd, runc). They need
// `scripts/k8s.sh up` (make up), or a cluster named by KUBECONFIG with the
// images of BACKUP_K8S_TEST_IMAGE and BACKUP_K8S_MISSING_IMAGE (see
// docs/KUBERNETES.md), and fail, never skip, when it has not run.
package proof

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	authv1 "k8s.io/api/authentication/v1"
	batchv1 "k8s.io/api/batch/v1"
	v1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	"k8s.io/utils/ptr"
)

// repoRoot is the repository root, three levels above this file.
func repoRoot() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Clean(filepath.Join(filepath.Dir(file), "..", "..", ".."))
}

// stackEnv returns a variable from the environment or, failing that, from
// the repository's .stack/env.
func stackEnv(name string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	f, err := os.Open(filepath.Join(repoRoot(), ".stack", "env"))
	if err != nil {
		return ""
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	val := ""
	for sc.Scan() {
		line := strings.TrimPrefix(strings.TrimSpace(sc.Text()), "export ")
		if k, v, ok := strings.Cut(line, "="); ok && k == name {
			val = strings.Trim(v, `"'`)
		}
	}
	return val
}

func kubeconfig(t *testing.T) string {
	t.Helper()
	kc := stackEnv("KUBECONFIG")
	if kc == "" {
		t.Fatal("KUBECONFIG is not set and .stack/env has none: run `make up` (scripts/k8s.sh up) first")
	}
	return kc
}

func restConfig(t *testing.T) *rest.Config {
	t.Helper()
	rc, err := clientcmd.BuildConfigFromFlags("", kubeconfig(t))
	if err != nil {
		t.Fatalf("kubeconfig: %v", err)
	}
	rc.QPS, rc.Burst = 50, 100
	return rc
}

func client(t *testing.T) kubernetes.Interface {
	t.Helper()
	c, err := kubernetes.NewForConfig(restConfig(t))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Discovery().ServerVersion(); err != nil {
		t.Fatalf("API server from %s does not answer: %v (run `make up`)", kubeconfig(t), err)
	}
	return c
}

// testImage is the tests' shell image (a static busybox as /bin/sh), imported into the node.
func testImage() string {
	if v := stackEnv("BACKUP_K8S_TEST_IMAGE"); v != "" {
		return v
	}
	return "127.0.0.1:5999/backupctl/testshell:dev"
}

// missingImage is an image that no registry serves: its registry is an address on loopback
// where nothing listens, so a pull fails without leaving the machine.
func missingImage() string {
	if v := stackEnv("BACKUP_K8S_MISSING_IMAGE"); v != "" {
		return v
	}
	return "127.0.0.1:5999/none:1"
}

func kubectlPath(t *testing.T) string {
	t.Helper()
	if v := stackEnv("BACKUP_K8S_KUBECTL"); v != "" {
		return v
	}
	p := filepath.Join(repoRoot(), ".stack", "bin", "kubectl")
	if _, err := os.Stat(p); err != nil {
		t.Fatalf("kubectl not found at %s: run scripts/k8s.sh build", p)
	}
	return p
}

// kubectl runs kubectl against the test cluster and returns its stdout.
func kubectl(t *testing.T, args ...string) (string, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, kubectlPath(t), append([]string{"--kubeconfig", kubeconfig(t)}, args...)...)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return string(out), fmt.Errorf("kubectl %s: %v: %s", strings.Join(args, " "), err, stderr.String())
	}
	return string(out), nil
}

// eventually polls cond every 250ms until it is true or timeout passes.
func eventually(t *testing.T, timeout time.Duration, what string, cond func() (bool, error)) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	var lastErr error
	for {
		ok, err := cond()
		if ok {
			return
		}
		if err != nil {
			lastErr = err
		}
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s (last error: %v)", timeout, what, lastErr)
		}
		time.Sleep(250 * time.Millisecond)
	}
}

// serviceAccountClient creates role and a ServiceAccount named sa in ns, binds the two and
// returns a client acting as the ServiceAccount.
func serviceAccountClient(t *testing.T, c kubernetes.Interface, ns string, role *rbacv1.Role, sa string) kubernetes.Interface {
	t.Helper()
	ctx := context.Background()
	if _, err := c.CoreV1().ServiceAccounts(ns).Create(ctx, &v1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: sa}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.RbacV1().Roles(ns).Create(ctx, role, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.RbacV1().RoleBindings(ns).Create(ctx, &rbacv1.RoleBinding{
		ObjectMeta: metav1.ObjectMeta{Name: role.Name},
		RoleRef:    rbacv1.RoleRef{APIGroup: "rbac.authorization.k8s.io", Kind: "Role", Name: role.Name},
		Subjects:   []rbacv1.Subject{{Kind: "ServiceAccount", Name: sa, Namespace: ns}},
	}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	tr, err := c.CoreV1().ServiceAccounts(ns).CreateToken(ctx, sa, &authv1.TokenRequest{
		Spec: authv1.TokenRequestSpec{ExpirationSeconds: ptr.To[int64](600)},
	}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	admin := restConfig(t)
	as, err := kubernetes.NewForConfig(&rest.Config{Host: admin.Host, BearerToken: tr.Status.Token,
		TLSClientConfig: rest.TLSClientConfig{CAFile: admin.CAFile, CAData: admin.CAData}})
	if err != nil {
		t.Fatal(err)
	}
	return as
}

// setup runs the test in parallel with the others and gives it a client and a namespace of its own.
func setup(t *testing.T) (kubernetes.Interface, string, context.Context) {
	t.Parallel()
	c := client(t)
	return c, namespace(t, c), context.Background()
}

// namespace creates a fresh namespace, waits for its default service
// account and deletes it when the test ends.
func namespace(t *testing.T, c kubernetes.Interface) string {
	t.Helper()
	ctx := context.Background()
	ns, err := c.CoreV1().Namespaces().Create(ctx, &v1.Namespace{ObjectMeta: metav1.ObjectMeta{
		GenerateName: "e2e-" + strings.ToLower(strings.ReplaceAll(t.Name(), "/", "-"))[:min(len(t.Name()), 30)] + "-",
	}}, metav1.CreateOptions{})
	if err != nil {
		t.Fatalf("create namespace: %v", err)
	}
	t.Cleanup(func() {
		_ = c.CoreV1().Namespaces().Delete(context.Background(), ns.Name, metav1.DeleteOptions{})
	})
	eventually(t, 60*time.Second, "default service account in "+ns.Name, func() (bool, error) {
		_, err := c.CoreV1().ServiceAccounts(ns.Name).Get(ctx, "default", metav1.GetOptions{})
		return err == nil, err
	})
	return ns.Name
}

// shellJob is a Job running `sh -c script` with restartPolicy Never.
func shellJob(name, script string) *batchv1.Job {
	return &batchv1.Job{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: batchv1.JobSpec{
			BackoffLimit: ptr.To[int32](0),
			Template: v1.PodTemplateSpec{Spec: v1.PodSpec{
				RestartPolicy:                 v1.RestartPolicyNever,
				TerminationGracePeriodSeconds: ptr.To[int64](5),
				Containers: []v1.Container{{
					Name:    "main",
					Image:   testImage(),
					Command: []string{"sh", "-c", script},
				}},
			}},
		},
	}
}

// jobCondition waits until the Job has condition typ=True and returns it.
func jobCondition(t *testing.T, c kubernetes.Interface, ns, name string, typ batchv1.JobConditionType, timeout time.Duration) (*batchv1.Job, batchv1.JobCondition) {
	t.Helper()
	var job *batchv1.Job
	var cond batchv1.JobCondition
	eventually(t, timeout, fmt.Sprintf("job %s/%s condition %s", ns, name, typ), func() (bool, error) {
		j, err := c.BatchV1().Jobs(ns).Get(context.Background(), name, metav1.GetOptions{})
		if err != nil {
			return false, err
		}
		job = j
		for _, jc := range j.Status.Conditions {
			if jc.Type == typ && jc.Status == v1.ConditionTrue {
				cond = jc
				return true, nil
			}
			if (jc.Type == batchv1.JobFailed || jc.Type == batchv1.JobComplete) && jc.Status == v1.ConditionTrue && jc.Type != typ {
				return false, fmt.Errorf("job ended with %s: %s %s", jc.Type, jc.Reason, jc.Message)
			}
		}
		return false, nil
	})
	return job, cond
}

// jobPods lists the pods of a Job.
func jobPods(t *testing.T, c kubernetes.Interface, ns, name string) []v1.Pod {
	t.Helper()
	pods, err := c.CoreV1().Pods(ns).List(context.Background(), metav1.ListOptions{LabelSelector: "job-name=" + name})
	if err != nil {
		t.Fatal(err)
	}
	return pods.Items
}

func isNotFound(err error) bool { return apierrors.IsNotFound(err) }
