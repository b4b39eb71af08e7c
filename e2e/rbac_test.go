package e2e

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	authv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
	"k8s.io/utils/ptr"
)

// TestOperatorRole: deploy/20-rbac.yaml's Role, bound to a ServiceAccount, is enough for
// `backup now`, `restore` (dry run) and every `schedule` command, and for nothing else that
// matters: other Secrets, listing Secrets, Deployments, bare Pods, exec, other namespaces.
func TestOperatorRole(t *testing.T) {
	e := newParallelEnv(t)
	e.createSecret("other", map[string]string{"token": "e2e-other-secret-value"})
	kc := e.operatorKubeconfig()
	e.extraEnv = []string{"KUBECONFIG=" + kc}

	db := e.smallDB()
	checkVerified(t, decode[backupResult](t, must(t, e.job("backup", "now", "-d", db, "-o", "json"))))
	l := e.list()
	if len(l) != 1 {
		t.Fatalf("list = %v", ids(l))
	}
	must(t, e.job("restore", l[0].ID, "--into", db+"_copy", "--dry-run"))
	must(t, e.job("schedule", "set", "-d", db, "--schedule", "0 3 1 1 *"))
	must(t, e.job("schedule", "set", "-d", db, "--schedule", "0 4 1 1 *"))
	must(t, e.job("schedule", "show"))
	checkVerified(t, decode[backupResult](t, must(t, e.job("schedule", "run", "-o", "json"))))
	must(t, e.job("schedule", "delete"))
	must(t, e.job("jobs"))

	cfg, err := clientcmd.BuildConfigFromFlags("", kc)
	if err != nil {
		t.Fatal(err)
	}
	as := kubernetes.NewForConfigOrDie(cfg)
	bg := context.Background()
	forbidden := map[string]error{}
	_, forbidden["read the Secret the Job uses (its values are the password)"] = as.CoreV1().Secrets(e.ns).Get(bg, "backupctl", metav1.GetOptions{})
	_, forbidden["get another Secret"] = as.CoreV1().Secrets(e.ns).Get(bg, "other", metav1.GetOptions{})
	_, forbidden["list Secrets"] = as.CoreV1().Secrets(e.ns).List(bg, metav1.ListOptions{})
	_, forbidden["update the Secret"] = as.CoreV1().Secrets(e.ns).Update(bg, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "backupctl", Namespace: e.ns}}, metav1.UpdateOptions{})
	_, forbidden["create a Deployment"] = as.AppsV1().Deployments(e.ns).Create(bg, &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: "x"},
		Spec: appsv1.DeploymentSpec{
			Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"a": "b"}},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"a": "b"}},
				Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "x", Image: e.st.image}}},
			},
		},
	}, metav1.CreateOptions{})
	_, forbidden["create a Pod"] = as.CoreV1().Pods(e.ns).Create(bg, &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "x"},
		Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "x", Image: e.st.image}}},
	}, metav1.CreateOptions{})
	forbidden["delete a Pod"] = as.CoreV1().Pods(e.ns).Delete(bg, "x", metav1.DeleteOptions{})
	_, forbidden["create a ConfigMap"] = as.CoreV1().ConfigMaps(e.ns).Create(bg, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "x"}}, metav1.CreateOptions{})
	_, forbidden["list RoleBindings"] = as.RbacV1().RoleBindings(e.ns).List(bg, metav1.ListOptions{})
	_, forbidden["list Jobs in default"] = as.BatchV1().Jobs("default").List(bg, metav1.ListOptions{})
	_, forbidden["list Secrets in kube-system"] = as.CoreV1().Secrets("kube-system").List(bg, metav1.ListOptions{})
	_, forbidden["list Namespaces"] = as.CoreV1().Namespaces().List(bg, metav1.ListOptions{})
	forbidden["delete the Namespace"] = as.CoreV1().Namespaces().Delete(bg, e.ns, metav1.DeleteOptions{})
	for what, err := range forbidden {
		if !apierrors.IsForbidden(err) {
			t.Errorf("%s as the operator: %v, want Forbidden", what, err)
		}
	}
	// kubectl says the same, as a user would see it.
	out, err := e.kubectlAs(kc, "-n", e.ns, "get", "secrets")
	if err == nil || !strings.Contains(out, "Forbidden") {
		t.Errorf("kubectl get secrets as the operator: %v\n%s", err, out)
	}
	out, err = e.kubectlAs(kc, "-n", e.ns, "create", "deployment", "x", "--image="+e.st.image)
	if err == nil || !strings.Contains(out, "forbidden") {
		t.Errorf("kubectl create deployment as the operator: %v\n%s", err, out)
	}
}

// operatorKubeconfig binds deploy/20-rbac.yaml's Role in the test's namespace to a new
// ServiceAccount and returns a kubeconfig that authenticates as it (its token is one of the
// secrets the scan looks for).
func (e *env) operatorKubeconfig() string {
	t := e.t
	t.Helper()
	ctx := t.Context()
	const operator = "e2e-operator"
	if _, err := e.kube.CoreV1().ServiceAccounts(e.ns).Create(ctx, &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: operator}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	docs := deployDocs(t, e.ns, "20-rbac.yaml")
	for _, d := range docs {
		if d["kind"] == "RoleBinding" {
			d["subjects"] = []any{map[string]any{"kind": "ServiceAccount", "name": operator, "namespace": e.ns}}
		}
	}
	e.apply(docs)
	tok, err := e.kube.CoreV1().ServiceAccounts(e.ns).CreateToken(ctx, operator,
		&authv1.TokenRequest{Spec: authv1.TokenRequestSpec{ExpirationSeconds: ptr.To[int64](3600)}}, metav1.CreateOptions{})
	if err != nil {
		t.Fatalf("TokenRequest: %v", err)
	}
	e.mu.Lock()
	e.secrets = append(e.secrets, tok.Status.Token)
	e.mu.Unlock()
	return e.tokenKubeconfig(tok.Status.Token)
}

// tokenKubeconfig writes a kubeconfig for the admin kubeconfig's cluster that authenticates
// with token only.
func (e *env) tokenKubeconfig(token string) string {
	e.t.Helper()
	admin, err := clientcmd.LoadFromFile(e.st.kubeconfig)
	if err != nil {
		e.t.Fatal(err)
	}
	ctx := admin.Contexts[admin.CurrentContext]
	if ctx == nil {
		e.t.Fatalf("%s has no current context", e.st.kubeconfig)
	}
	cl := *admin.Clusters[ctx.Cluster]
	cfg := clientcmdapi.NewConfig()
	cfg.Clusters["local"] = &cl
	cfg.AuthInfos["operator"] = &clientcmdapi.AuthInfo{Token: token}
	cfg.Contexts["operator"] = &clientcmdapi.Context{Cluster: "local", AuthInfo: "operator", Namespace: e.ns}
	cfg.CurrentContext = "operator"
	path := filepath.Join(e.t.TempDir(), "operator.kubeconfig")
	if err := clientcmd.WriteToFile(*cfg, path); err != nil {
		e.t.Fatal(err)
	}
	if err := os.Chmod(path, 0o600); err != nil {
		e.t.Fatal(err)
	}
	return path
}

func (e *env) kubectlAs(kubeconfig string, args ...string) (string, error) {
	return e.kubectl(nil, append([]string{"--kubeconfig", kubeconfig}, args...)...)
}
