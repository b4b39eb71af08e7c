package e2e

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/backupctl/backupctl/jobs"
)

// scanSecrets runs at the end of every test that made an env: no secret value may appear in
// what backupctl printed, in any Job, CronJob, Pod or Event of the namespace, in any pod's log
// (read with kubectl logs), in a manifest, or in what the local node's kubelet and containerd
// logged about the namespace.
func (e *env) scanSecrets() {
	t := e.t
	e.collectCluster()
	e.collectManifests()
	e.collectNodeLogs()
	e.mu.Lock()
	defer e.mu.Unlock()
	e.scanned = true
	kinds := map[string]int{}
	for _, a := range e.seen {
		kinds[strings.SplitN(a.what, " ", 2)[0]]++
	}
	for _, l := range leaks(e.seen, e.secrets) {
		t.Errorf("SECRET LEAK: %s", l)
	}
	t.Logf("secrets scan: %d secret values checked in %d artifacts %v", len(e.secrets), len(e.seen), kinds)
}

// collectCluster records every Job, CronJob, Pod and Event of the namespace as JSON, and each
// pod's log as `kubectl logs` prints it.
func (e *env) collectCluster() {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	add := func(what string, v any) {
		b, _ := json.Marshal(v)
		e.record(what, string(b))
	}
	if l, err := e.kube.BatchV1().Jobs(e.ns).List(ctx, metav1.ListOptions{}); err == nil {
		for _, j := range l.Items {
			add("job "+j.Name, j)
		}
	}
	if l, err := e.kube.BatchV1().CronJobs(e.ns).List(ctx, metav1.ListOptions{}); err == nil {
		for _, j := range l.Items {
			add("cronjob "+j.Name, j)
		}
	}
	if l, err := e.kube.CoreV1().Events(e.ns).List(ctx, metav1.ListOptions{}); err == nil {
		add("events", l.Items)
	}
	if l, err := e.kube.CoreV1().Pods(e.ns).List(ctx, metav1.ListOptions{}); err == nil {
		for _, p := range l.Items {
			add("pod "+p.Name, p)
			if out, err := e.kubectl(nil, "-n", e.ns, "logs", p.Name, "--all-containers"); err == nil {
				e.record("kubectl logs "+p.Name, out)
			}
		}
	}
}

// collectManifests records every manifest under the prefix.
func (e *env) collectManifests() {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	b, err := e.openBucket(ctx)
	if err != nil {
		return
	}
	objs, err := b.List(ctx, "")
	if err != nil {
		return
	}
	for _, o := range objs {
		if !strings.HasSuffix(o.Key, ".json") {
			continue
		}
		rc, err := b.Get(ctx, o.Key)
		if err != nil {
			continue
		}
		data, _ := io.ReadAll(rc)
		rc.Close()
		e.record("object "+o.Key, string(data))
	}
}

// collectNodeLogs records the lines of the local node's logs (kubelet, containerd) that name the
// namespace: how the runtime created, started and stopped its containers. Elsewhere
// (BACKUP_K8S_NODE_LOGS unset) there is nothing to read.
func (e *env) collectNodeLogs() {
	if e.st.nodeLogs == "" {
		return
	}
	for _, name := range []string{"kubelet.log", "containerd.log"} {
		f, err := os.Open(filepath.Join(e.st.nodeLogs, name))
		if err != nil {
			e.t.Errorf("node log: %v", err)
			continue
		}
		sc := bufio.NewScanner(f)
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		for sc.Scan() {
			if strings.Contains(sc.Text(), e.ns) {
				e.record("node "+name, sc.Text())
			}
		}
		f.Close()
	}
}

// checkJobSecrets checks a Job as stored by the API server: the secrets reach the dumper only as
// secretKeyRef env from the named Secret, never as a value or an argument.
func checkJobSecrets(t *testing.T, j *batchv1.Job, secret string) {
	t.Helper()
	ps := j.Spec.Template.Spec
	if len(ps.Containers) != 1 {
		t.Fatalf("job %s has %d containers", j.Name, len(ps.Containers))
	}
	c := ps.Containers[0]
	var fromSecret []string
	for _, ev := range c.Env {
		if ev.ValueFrom != nil && ev.ValueFrom.SecretKeyRef != nil {
			ref := ev.ValueFrom.SecretKeyRef
			if ref.Name != secret || ref.Key != ev.Name || ev.Value != "" {
				t.Errorf("job %s: env %s from secret %s key %s (literal value set: %v)", j.Name, ev.Name, ref.Name, ref.Key, ev.Value != "")
			}
			if ev.Name == jobs.KeySigningKey {
				// Optional, and only in backup Jobs: a restore never needs it.
				if ref.Optional == nil || !*ref.Optional || j.Labels[jobs.LabelComponent] != jobs.ComponentBackup {
					t.Errorf("job %s (%s): %s must be an optional key, in backup Jobs only", j.Name, j.Labels[jobs.LabelComponent], ev.Name)
				}
				continue
			}
			if ev.Name == jobs.KeyAgeIdentity {
				// Optional, and only in restore Jobs: a backup pod cannot read any backup.
				if ref.Optional == nil || !*ref.Optional || j.Labels[jobs.LabelComponent] != jobs.ComponentRestore {
					t.Errorf("job %s (%s): %s must be an optional key, in restore Jobs only", j.Name, j.Labels[jobs.LabelComponent], ev.Name)
				}
				continue
			}
			fromSecret = append(fromSecret, ev.Name)
		} else if slices.Contains(jobs.SecretKeys, ev.Name) {
			t.Errorf("job %s: env %s is not from the Secret", j.Name, ev.Name)
		}
	}
	slices.Sort(fromSecret)
	want := slices.Clone(jobs.SecretKeys)
	slices.Sort(want)
	if !slices.Equal(fromSecret, want) {
		t.Errorf("job %s: env from the Secret = %v, want %v", j.Name, fromSecret, want)
	}
	for _, a := range append(slices.Clone(c.Command), c.Args...) {
		l := strings.ToLower(a)
		if strings.Contains(l, "password") || strings.Contains(l, "secret") || strings.Contains(l, "access-key") {
			t.Errorf("job %s: argument %q names a credential", j.Name, a)
		}
	}
	if len(c.EnvFrom) != 0 {
		t.Errorf("job %s: envFrom %v: the dumper should get exactly the three keys", j.Name, c.EnvFrom)
	}
}

// leaks says where a secret value appears in the artifacts (without printing the value).
func leaks(seen []artifact, secrets []string) []string {
	var out []string
	for _, a := range seen {
		for _, s := range secrets {
			if s != "" && strings.Contains(a.text, s) {
				out = append(out, fmt.Sprintf("a secret value (%d chars) appears in %s", len(s), a.what))
			}
		}
	}
	return out
}

// TestSecretsScanCatches proves the scan is not vacuous: a planted value is reported, once.
func TestSecretsScanCatches(t *testing.T) {
	t.Parallel()
	seen := []artifact{{"clean", "nothing here"}, {"dirty", "x s3cr3t-value y"}}
	got := leaks(seen, []string{"s3cr3t-value", "other-secret"})
	if len(got) != 1 || !strings.Contains(got[0], "dirty") {
		t.Fatalf("leaks = %q, want one in dirty", got)
	}
}
