package proof

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	admissionv1 "k8s.io/api/admissionregistration/v1"
	batchv1 "k8s.io/api/batch/v1"
	v1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"k8s.io/client-go/kubernetes"
	"k8s.io/utils/ptr"
)

// yamlDocs reads a file of deploy/ and returns its documents.
func yamlDocs(t *testing.T, rel string) [][]byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(repoRoot(), filepath.FromSlash(rel)))
	if err != nil {
		t.Fatal(err)
	}
	var docs [][]byte
	for d := range strings.SplitSeq(string(b), "\n---\n") {
		docs = append(docs, []byte(d))
	}
	return docs
}

func unmarshal(t *testing.T, doc []byte, v any) {
	t.Helper()
	if err := utilyaml.UnmarshalStrict(doc, v); err != nil {
		t.Fatalf("%v\n%s", err, doc)
	}
}

// operatorClient binds deploy/20-rbac.yaml's Role, moved into ns, to a new ServiceAccount and
// returns a client acting as it: what a person holding the Role can do.
func operatorClient(t *testing.T, c kubernetes.Interface, ns string) kubernetes.Interface {
	t.Helper()
	var role rbacv1.Role
	unmarshal(t, yamlDocs(t, "deploy/20-rbac.yaml")[0], &role)
	if role.Kind != "Role" {
		t.Fatalf("deploy/20-rbac.yaml starts with a %s, want the Role", role.Kind)
	}
	role.Namespace = ns
	return serviceAccountClient(t, c, ns, &role, "operator")
}

// applyPolicy installs deploy/optional/admission-policy.yaml under names of this test's own,
// bound to namespace ns instead of backupctl, so that it touches no other test, and removes it
// at the end. vars replaces the expressions of the named variables: the documented edits.
func applyPolicy(t *testing.T, c kubernetes.Interface, ns string, vars map[string]string) {
	t.Helper()
	ctx := context.Background()
	docs := yamlDocs(t, "deploy/optional/admission-policy.yaml")
	if len(docs) != 2 {
		t.Fatalf("admission-policy.yaml has %d documents, want the policy and its binding", len(docs))
	}
	var pol admissionv1.ValidatingAdmissionPolicy
	var bind admissionv1.ValidatingAdmissionPolicyBinding
	unmarshal(t, docs[0], &pol)
	unmarshal(t, docs[1], &bind)
	if got := bind.Spec.MatchResources.NamespaceSelector.MatchLabels["kubernetes.io/metadata.name"]; got != "backupctl" {
		t.Fatalf("the binding selects namespace %q, want backupctl", got)
	}
	if bind.Spec.PolicyName != pol.Name {
		t.Fatalf("the binding names policy %q, not %q", bind.Spec.PolicyName, pol.Name)
	}
	for name, expr := range vars {
		i := slices.IndexFunc(pol.Spec.Variables, func(v admissionv1.Variable) bool { return v.Name == name })
		if i < 0 {
			t.Fatalf("the policy has no variable %s to edit", name)
		}
		pol.Spec.Variables[i].Expression = expr
	}
	pol.Name = pol.Name + "-" + ns
	bind.Name = pol.Name
	bind.Spec.PolicyName = pol.Name
	bind.Spec.MatchResources.NamespaceSelector.MatchLabels["kubernetes.io/metadata.name"] = ns
	if _, err := c.AdmissionregistrationV1().ValidatingAdmissionPolicies().Create(ctx, &pol, metav1.CreateOptions{}); err != nil {
		t.Fatalf("create the policy (is the ValidatingAdmissionPolicy API enabled?): %v", err)
	}
	t.Cleanup(func() {
		_ = c.AdmissionregistrationV1().ValidatingAdmissionPolicyBindings().Delete(context.Background(), bind.Name, metav1.DeleteOptions{})
		_ = c.AdmissionregistrationV1().ValidatingAdmissionPolicies().Delete(context.Background(), pol.Name, metav1.DeleteOptions{})
	})
	if _, err := c.AdmissionregistrationV1().ValidatingAdmissionPolicyBindings().Create(ctx, &bind, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
}

// checkTypeChecking reports the policy's type-check warnings (an expression naming a field
// that the Job or CronJob schema lacks) when the controller manager runs the
// validatingadmissionpolicy-status controller; the local control plane does not.
func checkTypeChecking(t *testing.T, c kubernetes.Interface, ns string) {
	t.Helper()
	p, err := c.AdmissionregistrationV1().ValidatingAdmissionPolicies().Get(context.Background(), "backupctl-dumper-only-"+ns, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if p.Status.TypeChecking == nil {
		t.Log("no type-check status: the status controller does not run here")
		return
	}
	for _, w := range p.Status.TypeChecking.ExpressionWarnings {
		t.Errorf("policy %s: %s", w.FieldRef, w.Warning)
	}
}

// ourCronJob is deploy/examples/cronjob.yaml, which jobs.CronJob generates: exactly what
// `backupctl schedule set` installs, moved into ns.
func ourCronJob(t *testing.T, ns string) *batchv1.CronJob {
	t.Helper()
	var cj batchv1.CronJob
	unmarshal(t, yamlDocs(t, "deploy/examples/cronjob.yaml")[0], &cj)
	cj.Namespace = ns
	return &cj
}

// ourJob is a Job as `backupctl backup now` builds it: the same pod as the CronJob's template.
func ourJob(t *testing.T, ns string) *batchv1.Job {
	t.Helper()
	cj := ourCronJob(t, ns)
	return &batchv1.Job{
		ObjectMeta: metav1.ObjectMeta{Name: "backupctl-backup-20260101-020000", Namespace: ns, Labels: cj.Labels},
		Spec:       *cj.Spec.JobTemplate.Spec.DeepCopy(),
	}
}

func dryRun() metav1.CreateOptions { return metav1.CreateOptions{DryRun: []string{metav1.DryRunAll}} }

// TestAdmissionPolicyHoldsJobsToTheDumper applies deploy/optional/admission-policy.yaml and
// checks, as a holder of deploy/20-rbac.yaml's Role (server-side dry runs), that our Jobs and
// CronJob are admitted and foreign ones refused with the policy's message, and that without
// the policy the Role suffices to run anything with the backup Secret.
func TestAdmissionPolicyHoldsJobsToTheDumper(t *testing.T) {
	c, ns, ctx := setup(t)
	op := operatorClient(t, c, ns)

	// What 20-rbac.yaml says: creating Jobs is using the Secret. A shell that prints it is admitted.
	thief := ourJob(t, ns)
	thief.Name = "thief"
	thief.Spec.Template.Spec.Containers[0].Image = "busybox:1.36"
	thief.Spec.Template.Spec.Containers[0].Command = []string{"sh", "-c", "env"}
	eventually(t, 30*time.Second, "the Role to allow creating Jobs", func() (bool, error) {
		_, err := op.BatchV1().Jobs(ns).Create(ctx, thief, dryRun())
		return err == nil, err
	})

	applyPolicy(t, c, ns, nil)

	type jobCase struct {
		name   string
		change func(*v1.PodSpec)
		want   string // in the refusal; "" means admitted
	}
	cases := []jobCase{
		{"ours", func(*v1.PodSpec) {}, ""},
		{"restore", func(p *v1.PodSpec) { p.Containers[0].Args = []string{"restore", "20260101T020000Z", "--db-host=db"} }, ""},
		{"digest", func(p *v1.PodSpec) {
			p.Containers[0].Image = "ghcr.io/backupctl/dumper@sha256:" + strings.Repeat("a", 64)
		}, ""},
		{"CA bundle", func(p *v1.PodSpec) {
			p.Volumes = append(p.Volumes, v1.Volume{Name: "ca-bundle", VolumeSource: v1.VolumeSource{
				ConfigMap: &v1.ConfigMapVolumeSource{LocalObjectReference: v1.LocalObjectReference{Name: "ca"}}}})
		}, ""},
		{"other image", func(p *v1.PodSpec) { p.Containers[0].Image = "busybox:1.36" },
			"runs only the dumper image ghcr.io/backupctl/dumper:TAG or @DIGEST, not busybox:1.36"},
		{"look-alike image", func(p *v1.PodSpec) { p.Containers[0].Image = "ghcr.io/backupctl/dumper-debug:v1" }, "runs only the dumper image"},
		{"other service account", func(p *v1.PodSpec) { p.ServiceAccountName = "default" }, "runs as the ServiceAccount backupctl-dumper"},
		{"no service account", func(p *v1.PodSpec) { p.ServiceAccountName = "" }, "runs as the ServiceAccount backupctl-dumper"},
		// The API server takes the deprecated field only when serviceAccountName is empty.
		{"deprecated service account field", func(p *v1.PodSpec) { p.ServiceAccountName, p.DeprecatedServiceAccount = "", "default" },
			"runs as the ServiceAccount backupctl-dumper"},
		{"shell command", func(p *v1.PodSpec) { p.Containers[0].Command = []string{"sh", "-c", "env"} }, "the dumper's own entrypoint"},
		{"other entrypoint", func(p *v1.PodSpec) { p.Containers[0].Command = []string{"/usr/local/bin/backupctl"} }, "the dumper's own entrypoint"},
		{"other args", func(p *v1.PodSpec) { p.Containers[0].Args = []string{"sh", "-c", "env"} }, "the dumper's own entrypoint"},
		{"no args", func(p *v1.PodSpec) { p.Containers[0].Args = nil }, "the dumper's own entrypoint"},
		{"second container", func(p *v1.PodSpec) {
			p.Containers = append(p.Containers, v1.Container{Name: "sidecar", Image: "busybox:1.36", Command: []string{"sh", "-c", "env"}})
		}, "exactly one container"},
		{"init container", func(p *v1.PodSpec) {
			p.InitContainers = []v1.Container{{Name: "init", Image: "busybox:1.36", Command: []string{"sh", "-c", "env"}}}
		}, "exactly one container"},
		{"hostPath volume", func(p *v1.PodSpec) {
			p.Volumes = append(p.Volumes, v1.Volume{Name: "host", VolumeSource: v1.VolumeSource{HostPath: &v1.HostPathVolumeSource{Path: "/"}}})
		}, "only emptyDir, configMap and secret volumes"},
	}
	check := func(t *testing.T, kind string, err error, want string) {
		t.Helper()
		switch {
		case want == "" && err != nil:
			t.Errorf("our %s refused: %v", kind, err)
		case want != "" && err == nil:
			t.Errorf("foreign %s admitted; want a refusal saying %q", kind, want)
		case want != "" && !strings.Contains(err.Error(), want):
			t.Errorf("foreign %s refused with %q; want it to say %q", kind, err, want)
		case want != "" && !apierrors.IsInvalid(err):
			t.Errorf("foreign %s: %v is not a 422 Invalid", kind, err)
		case want != "":
			t.Logf("%s refused: %v", kind, err)
		}
	}
	// The policy reaches the API server through an informer: wait until it refuses the thief.
	eventually(t, 30*time.Second, "the policy to take effect", func() (bool, error) {
		_, err := op.BatchV1().Jobs(ns).Create(ctx, thief, dryRun())
		return apierrors.IsInvalid(err), err
	})
	checkTypeChecking(t, c, ns)
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			job := ourJob(t, ns)
			tc.change(&job.Spec.Template.Spec)
			_, err := op.BatchV1().Jobs(ns).Create(ctx, job, dryRun())
			check(t, "Job", err, tc.want)
			cj := ourCronJob(t, ns)
			tc.change(&cj.Spec.JobTemplate.Spec.Template.Spec)
			_, err = op.BatchV1().CronJobs(ns).Create(ctx, cj, dryRun())
			check(t, "CronJob", err, tc.want)
		})
	}

	// An admitted CronJob cannot be turned into a foreign one by an update either.
	t.Run("update", func(t *testing.T) {
		cj := ourCronJob(t, ns)
		cj.Spec.Suspend = ptr.To(true) // never runs
		cj, err := op.BatchV1().CronJobs(ns).Create(ctx, cj, metav1.CreateOptions{})
		if err != nil {
			t.Fatal(err)
		}
		cj.Spec.JobTemplate.Spec.Template.Spec.Containers[0].Image = "busybox:1.36"
		_, err = op.BatchV1().CronJobs(ns).Update(ctx, cj, metav1.UpdateOptions{DryRun: []string{metav1.DryRunAll}})
		check(t, "CronJob update", err, "runs only the dumper image")
	})

	// The binding holds this namespace only.
	t.Run("other namespace", func(t *testing.T) {
		other := namespace(t, c)
		job := ourJob(t, other)
		job.Spec.Template.Spec.Containers[0].Image = "busybox:1.36"
		if _, err := c.BatchV1().Jobs(other).Create(ctx, job, dryRun()); err != nil {
			t.Errorf("a foreign Job in %s (not bound) was refused: %v", other, err)
		}
	})
}

// TestAdmissionPolicyEdits applies the policy with its documented edits (another image
// repository, a pinned S3 endpoint, bucket and database host) and checks that each takes effect.
func TestAdmissionPolicyEdits(t *testing.T) {
	c, ns, ctx := setup(t)
	const (
		repo     = "registry.example.com/mirror/dumper"
		endpoint = "https://s3.eu-central-1.amazonaws.com" // as in deploy/examples/cronjob.yaml
		dbHost   = "mariadb.databases.svc.cluster.local"
		bucket   = "REPLACE-ME-bucket"
	)
	applyPolicy(t, c, ns, map[string]string{
		"imageRepo":  "'" + repo + "'",
		"s3Endpoint": "'" + endpoint + "'",
		"dbHost":     "'" + dbHost + "'",
		"bucket":     "'" + bucket + "'",
	})
	mirrored := func(p *v1.PodSpec) { p.Containers[0].Image = repo + ":v1" }
	eventually(t, 30*time.Second, "the policy to take effect", func() (bool, error) {
		_, err := c.BatchV1().Jobs(ns).Create(ctx, ourJob(t, ns), dryRun()) // the ghcr.io image
		return apierrors.IsInvalid(err), err
	})
	withArgs := func(edit func([]string) []string) func(*v1.PodSpec) {
		return func(p *v1.PodSpec) {
			mirrored(p)
			p.Containers[0].Args = edit(p.Containers[0].Args)
		}
	}
	replace := func(old, new string) func([]string) []string {
		return func(a []string) []string {
			out := slices.Clone(a)
			for i := range out {
				if out[i] == old {
					out[i] = new
				}
			}
			return out
		}
	}
	for _, tc := range []struct {
		name   string
		change func(*v1.PodSpec)
		want   string
	}{
		{"mirrored image", mirrored, ""},
		{"shipped image", func(*v1.PodSpec) {}, "runs only the dumper image " + repo},
		{"other endpoint", withArgs(replace("--s3-endpoint="+endpoint, "--s3-endpoint=https://attacker.example.com")), "--s3-endpoint=" + endpoint + " only"},
		{"second endpoint", withArgs(func(a []string) []string { return append(a, "--s3-endpoint=https://attacker.example.com") }), "--s3-endpoint=" + endpoint + " only"},
		{"no endpoint", withArgs(replace("--s3-endpoint="+endpoint, "--s3-region=eu-central-1")), "--s3-endpoint=" + endpoint + " only"},
		{"local directory", withArgs(func(a []string) []string { return append(a, "--to=file:///tmp") }), "--s3-endpoint=" + endpoint + " only"},
		{"other database", withArgs(replace("--db-host="+dbHost, "--db-host=attacker.example.com")), "--db-host=" + dbHost + " only"},
		{"other bucket", withArgs(replace("--bucket="+bucket, "--bucket=attacker")), "--bucket=" + bucket + " only"},
		{"bucket as env", withArgs(replace("--bucket="+bucket, "--prefix=x")), "--bucket=" + bucket + " only"},
		{"socket", withArgs(func(a []string) []string { return append(a, "--db-socket=/tmp/sock") }), "--db-host=" + dbHost + " only"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			job := ourJob(t, ns)
			tc.change(&job.Spec.Template.Spec)
			_, err := c.BatchV1().Jobs(ns).Create(ctx, job, dryRun())
			switch {
			case tc.want == "" && err != nil:
				t.Errorf("refused: %v", err)
			case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
				t.Errorf("got %v; want a refusal saying %q (args %q)", err, tc.want, job.Spec.Template.Spec.Containers[0].Args)
			case err != nil:
				t.Logf("refused: %v", err)
			}
		})
	}
}
