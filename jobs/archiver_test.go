package jobs

import (
	"slices"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
)

// TestArchiverDeployment: one replica, Recreate, and the pod of the restore Job (the same
// locked-down security, Secret, resources and args) except that it restarts, has time to
// store its open segment, and never gets the age identity (it only writes).
func TestArchiverDeployment(t *testing.T) {
	args := []string{"binlog", "archive", "--segment-interval=1m0s", "--db-host=db"}
	s := Spec{Namespace: "db", Secret: "prod", Args: args, Labels: map[string]string{"team": "dba"}}
	got := ArchiverDeployment(s)

	pod := RestoreJob(s, "x", time.Unix(0, 0), "abcde").Spec.Template.Spec
	pod.RestartPolicy = corev1.RestartPolicyAlways
	pod.Containers[0].Env = slices.DeleteFunc(slices.Clone(pod.Containers[0].Env), func(e corev1.EnvVar) bool { return e.Name == KeyAgeIdentity })
	pod.TerminationGracePeriodSeconds = ptr.To[int64](120)
	labels := map[string]string{"team": "dba", LabelName: AppName, LabelComponent: ComponentArchiver, LabelManagedBy: AppName, LabelInstance: ArchiverName}
	want := &appsv1.Deployment{
		TypeMeta:   metav1.TypeMeta{APIVersion: "apps/v1", Kind: "Deployment"},
		ObjectMeta: metav1.ObjectMeta{Name: ArchiverName, Namespace: "db", Labels: labels},
		Spec: appsv1.DeploymentSpec{
			Replicas: ptr.To[int32](1),
			Strategy: appsv1.DeploymentStrategy{Type: appsv1.RecreateDeploymentStrategyType},
			Selector: &metav1.LabelSelector{MatchLabels: map[string]string{LabelName: AppName, LabelComponent: ComponentArchiver, LabelInstance: ArchiverName}},
			Template: corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: labels}, Spec: pod},
		},
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("ArchiverDeployment (-want +got):\n%s", d)
	}
	if c := got.Spec.Template.Spec.Containers[0].SecurityContext; c == nil || c.ReadOnlyRootFilesystem == nil || !*c.ReadOnlyRootFilesystem {
		t.Errorf("the archiver's container is not locked down: %+v", c)
	}
	if d := cmp.Diff(got, ArchiverDeployment(s)); d != "" {
		t.Errorf("ArchiverDeployment is not a pure function of its spec:\n%s", d)
	}
}
