package proof

import (
	"context"
	"sort"
	"strings"
	"testing"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	v1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
)

// The process sees exactly the environment of its container spec (values,
// secretKeyRef, configMapKeyRef, envFrom) plus what the kubelet and the runtime
// always add (HOSTNAME, HOME, PATH from the image, the API server's service
// variables), and Secret, ConfigMap and emptyDir volumes as files at their
// mount paths.
func TestEnvAndVolumes(t *testing.T) {
	c, ns, ctx := setup(t)

	if _, err := c.CoreV1().Secrets(ns).Create(ctx, &v1.Secret{
		ObjectMeta: metav1.ObjectMeta{Name: "creds"},
		StringData: map[string]string{"password": "s3cret", "user": "bob"},
	}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.CoreV1().ConfigMaps(ns).Create(ctx, &v1.ConfigMap{
		ObjectMeta: metav1.ObjectMeta{Name: "cfg"},
		Data:       map[string]string{"mode": "full", "config.yaml": "level: 3\n"},
	}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	script := strings.Join([]string{
		`echo "pw=$DB_PASSWORD mode=$MODE user=$SEC_user cm=$CM_mode greeting=$GREETING pod=$POD_NAME"`,
		`echo "secretfile=$(cat /etc/creds/password)"`,
		`echo "configfile=$(cat $CONFIG)"`,
		`echo scratch > /tmp/x && echo "tmp=$(cat /tmp/x) tmp-is-mount=$(grep -q ' /tmp ' /proc/mounts && echo yes || echo no)"`,
		`echo "arg=$1"`,
		`echo "vars=$(env | cut -d= -f1 | sort | tr '\n' ',')"`,
	}, "\n")
	pod := &v1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "envvol"},
		Spec: v1.PodSpec{
			RestartPolicy:                v1.RestartPolicyNever,
			AutomountServiceAccountToken: ptr.To(false),
			EnableServiceLinks:           ptr.To(false),
			Containers: []v1.Container{{
				Name: "main", Image: testImage(),
				Command: []string{"sh", "-c", script, "sh", "/tmp/inside"},
				Env: []v1.EnvVar{
					{Name: "DB_PASSWORD", ValueFrom: &v1.EnvVarSource{SecretKeyRef: &v1.SecretKeySelector{LocalObjectReference: v1.LocalObjectReference{Name: "creds"}, Key: "password"}}},
					{Name: "MODE", ValueFrom: &v1.EnvVarSource{ConfigMapKeyRef: &v1.ConfigMapKeySelector{LocalObjectReference: v1.LocalObjectReference{Name: "cfg"}, Key: "mode"}}},
					{Name: "NAME", Value: "world"},
					{Name: "GREETING", Value: "hello-$(NAME)"},
					{Name: "CONFIG", Value: "/etc/cfg/config.yaml"},
					{Name: "POD_NAME", ValueFrom: &v1.EnvVarSource{FieldRef: &v1.ObjectFieldSelector{FieldPath: "metadata.name"}}},
				},
				EnvFrom: []v1.EnvFromSource{
					{Prefix: "SEC_", SecretRef: &v1.SecretEnvSource{LocalObjectReference: v1.LocalObjectReference{Name: "creds"}}},
					{Prefix: "CM_", ConfigMapRef: &v1.ConfigMapEnvSource{LocalObjectReference: v1.LocalObjectReference{Name: "cfg"}}},
				},
				VolumeMounts: []v1.VolumeMount{
					{Name: "creds", MountPath: "/etc/creds", ReadOnly: true},
					{Name: "cfg", MountPath: "/etc/cfg"},
					{Name: "scratch", MountPath: "/tmp"},
				},
			}},
			Volumes: []v1.Volume{
				{Name: "creds", VolumeSource: v1.VolumeSource{Secret: &v1.SecretVolumeSource{SecretName: "creds"}}},
				{Name: "cfg", VolumeSource: v1.VolumeSource{ConfigMap: &v1.ConfigMapVolumeSource{LocalObjectReference: v1.LocalObjectReference{Name: "cfg"}}}},
				{Name: "scratch", VolumeSource: v1.VolumeSource{EmptyDir: &v1.EmptyDirVolumeSource{}}},
			},
		},
	}
	if _, err := c.CoreV1().Pods(ns).Create(ctx, pod, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	eventually(t, 60*time.Second, "the pod to succeed", func() (bool, error) {
		p, err := c.CoreV1().Pods(ns).Get(ctx, "envvol", metav1.GetOptions{})
		if err != nil {
			return false, err
		}
		if p.Status.Phase == v1.PodFailed {
			logs, _ := kubectl(t, "-n", ns, "logs", "envvol")
			t.Fatalf("pod failed: %+v\n%s", p.Status.ContainerStatuses, logs)
		}
		return p.Status.Phase == v1.PodSucceeded, nil
	})
	logs, err := kubectl(t, "-n", ns, "logs", "envvol")
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("logs:\n%s", logs)
	for _, want := range []string{
		"pw=s3cret mode=full user=bob cm=full greeting=hello-world pod=envvol\n",
		"secretfile=s3cret\n",
		"configfile=level: 3\n",
		"tmp=scratch tmp-is-mount=yes\n",
		"arg=/tmp/inside\n",
	} {
		if !strings.Contains(logs, want) {
			t.Errorf("logs lack %q", want)
		}
	}
	// Only spec variables and what every container gets; the kubelet adds the API server's
	// service variables (KUBERNETES_*) even without service links.
	want := []string{"CM_config.yaml", "CM_mode", "CONFIG", "DB_PASSWORD", "GREETING", "HOME", "HOSTNAME", "MODE", "NAME", "PATH", "POD_NAME", "PWD", "SEC_password", "SEC_user", "SHLVL"}
	sort.Strings(want)
	var got string
	for _, l := range strings.Split(logs, "\n") {
		if v, ok := strings.CutPrefix(l, "vars="); ok {
			got = v
		}
	}
	// sh drops names that are not identifiers (CM_config.yaml) from its own env.
	gotNames := strings.Split(strings.TrimSuffix(got, ","), ",")
	for _, n := range gotNames {
		found := strings.HasPrefix(n, "KUBERNETES_")
		for _, w := range want {
			found = found || n == w
		}
		if !found {
			t.Errorf("unexpected variable %q in the process environment (all: %s)", n, got)
		}
	}
}

// A Secret that does not exist yet, then one without the key, keeps the
// container waiting with CreateContainerConfigError (the kubelet's message
// says which); once the key is there, the pod runs.
func TestMissingSecretWaitsThenRuns(t *testing.T) {
	c, ns, ctx := setup(t)
	pod := &v1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "waits"},
		Spec: v1.PodSpec{
			RestartPolicy: v1.RestartPolicyNever,
			Containers: []v1.Container{{
				Name: "main", Image: testImage(), Command: []string{"sh", "-c", `echo "token=$TOKEN"`},
				Env: []v1.EnvVar{{Name: "TOKEN", ValueFrom: &v1.EnvVarSource{SecretKeyRef: &v1.SecretKeySelector{LocalObjectReference: v1.LocalObjectReference{Name: "late"}, Key: "t"}}}},
			}},
		},
	}
	if _, err := c.CoreV1().Pods(ns).Create(ctx, pod, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	configError := func(what, msg string) {
		t.Helper()
		eventually(t, 60*time.Second, "CreateContainerConfigError: "+what, func() (bool, error) {
			p, err := c.CoreV1().Pods(ns).Get(ctx, "waits", metav1.GetOptions{})
			if err != nil || len(p.Status.ContainerStatuses) == 0 {
				return false, err
			}
			w := p.Status.ContainerStatuses[0].State.Waiting
			return w != nil && w.Reason == "CreateContainerConfigError" && strings.Contains(w.Message, msg), nil
		})
	}
	configError("no Secret", `secret "late" not found`)
	sec, err := c.CoreV1().Secrets(ns).Create(ctx, &v1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "late"}, StringData: map[string]string{"other": "x"}}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	configError("no key", "couldn't find key t in Secret "+ns+"/late")
	sec.StringData = map[string]string{"t": "abc"}
	if _, err := c.CoreV1().Secrets(ns).Update(ctx, sec, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	eventually(t, 60*time.Second, "the pod to succeed", func() (bool, error) {
		p, err := c.CoreV1().Pods(ns).Get(ctx, "waits", metav1.GetOptions{})
		return err == nil && p.Status.Phase == v1.PodSucceeded, err
	})
	if logs, err := kubectl(t, "-n", ns, "logs", "waits"); err != nil || logs != "token=abc\n" {
		t.Fatalf("logs %q, %v", logs, err)
	}
}

// A ServiceAccount bound to a narrow Role can create Jobs in its namespace
// and is refused elsewhere (RBAC is on).
func TestServiceAccountRBAC(t *testing.T) {
	t.Parallel()
	c := client(t)
	home := namespace(t, c)
	other := namespace(t, c)
	ctx := context.Background()

	sa := serviceAccountClient(t, c, home, &rbacv1.Role{
		ObjectMeta: metav1.ObjectMeta{Name: "job-runner"},
		Rules: []rbacv1.PolicyRule{
			{APIGroups: []string{"batch"}, Resources: []string{"jobs"}, Verbs: []string{"create", "get", "list", "watch", "delete"}},
			{APIGroups: []string{""}, Resources: []string{"pods", "pods/log"}, Verbs: []string{"get", "list", "watch"}},
		},
	}, "backup-runner")
	// RBAC changes take effect through the authorizer's informers: retry briefly.
	eventually(t, 30*time.Second, "the service account to create a Job in its namespace", func() (bool, error) {
		_, err := sa.BatchV1().Jobs(home).Create(ctx, shellJob("allowed", "echo allowed"), metav1.CreateOptions{})
		return err == nil, err
	})
	_, err := sa.BatchV1().Jobs(other).Create(ctx, shellJob("refused", "echo refused"), metav1.CreateOptions{})
	if !apierrors.IsForbidden(err) {
		t.Fatalf("create in %s: %v, want Forbidden", other, err)
	}
	if _, err := sa.CoreV1().Secrets(home).List(ctx, metav1.ListOptions{}); !apierrors.IsForbidden(err) {
		t.Fatalf("listing secrets: %v, want Forbidden", err)
	}
	// The Job it created runs, and it can read its logs.
	jobCondition(t, c, home, "allowed", batchv1.JobComplete, 60*time.Second)
	pods, err := sa.CoreV1().Pods(home).List(ctx, metav1.ListOptions{LabelSelector: "job-name=allowed"})
	if err != nil || len(pods.Items) != 1 {
		t.Fatalf("list pods as the service account: %v (%d)", err, len(pods.Items))
	}
	b, err := sa.CoreV1().Pods(home).GetLogs(pods.Items[0].Name, &v1.PodLogOptions{}).DoRaw(ctx)
	if err != nil || string(b) != "allowed\n" {
		t.Fatalf("logs as the service account: %q, %v", b, err)
	}
}
