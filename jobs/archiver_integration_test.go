package jobs

import (
	"context"
	"errors"
	"testing"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/backupctl/backupctl/contract"
)

// TestKubeArchiverDeployment: the archiver's Deployment applied twice is one Deployment, the
// second apply changes nothing, new flags update it in place, and delete removes it. (The local
// control plane runs no Deployment controller, so the test stops at the objects and the API
// calls.)
func TestKubeArchiverDeployment(t *testing.T) {
	c, ns := kubeTest(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	s := Spec{Namespace: ns, Args: []string{"binlog", "archive", "--segment-interval=1m0s"}}
	first, applied, err := c.ApplyDeployment(ctx, ArchiverDeployment(s))
	if err != nil || applied != AppliedCreated {
		t.Fatalf("first apply: %v %v", applied, err)
	}
	again, applied, err := c.ApplyDeployment(ctx, ArchiverDeployment(s))
	if err != nil || applied != AppliedUnchanged || again.Generation != first.Generation {
		t.Fatalf("second apply: %v (generation %d, was %d), %v", applied, again.Generation, first.Generation, err)
	}
	list, err := c.AppsV1().Deployments(ns).List(ctx, metav1.ListOptions{LabelSelector: LabelComponent + "=" + ComponentArchiver})
	if err != nil || len(list.Items) != 1 {
		t.Fatalf("%d archiver Deployments after two applies (%v), want 1", len(list.Items), err)
	}
	s.Args = []string{"binlog", "archive", "--segment-interval=30s"}
	upd, applied, err := c.ApplyDeployment(ctx, ArchiverDeployment(s))
	if err != nil || applied != AppliedUpdated || upd.Spec.Template.Spec.Containers[0].Args[2] != "--segment-interval=30s" {
		t.Fatalf("apply with new flags: %v %v", applied, err)
	}
	if upd.Spec.Strategy.Type != "Recreate" || *upd.Spec.Replicas != 1 {
		t.Errorf("stored Deployment: strategy %s, replicas %d", upd.Spec.Strategy.Type, *upd.Spec.Replicas)
	}
	if err := c.DeleteDeployment(ctx, ns, ArchiverName); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		_, err := c.AppsV1().Deployments(ns).Get(ctx, ArchiverName, metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the Deployment is still there after delete (%v)", err)
		}
		time.Sleep(200 * time.Millisecond)
	}
	var nf *contract.NotFoundError
	if err := c.DeleteDeployment(ctx, ns, ArchiverName); !errors.As(err, &nf) {
		t.Errorf("deleting a missing archiver: %v, want not found", err)
	}
}
