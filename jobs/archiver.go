package jobs

import (
	"context"
	"fmt"
	"maps"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/util/retry"
	"k8s.io/utils/ptr"

	"github.com/backupctl/backupctl/contract"
)

// The binlog archiver's Deployment.
const (
	// ArchiverName names the Deployment (one archiver per namespace).
	ArchiverName = "backupctl-binlog-archiver"
	// ComponentArchiver is its component label.
	ComponentArchiver = "binlog-archiver"
	// archiverGrace is how long the pod has after SIGTERM to store its open segment.
	archiverGrace int64 = 120
)

// ArchiverDeployment builds the Deployment that runs `dumper binlog archive` (s.Args): one
// replica, replaced with Recreate so that two archivers never run at once, in the same locked
// down pod as the backup Job, with the same Secret. It is a pure function of s.
func ArchiverDeployment(s Spec) *appsv1.Deployment {
	s = s.withDefaults(0)
	labels := Labels(s.Labels, ComponentArchiver, ArchiverName)
	pod := podSpec(s)
	pod.RestartPolicy = corev1.RestartPolicyAlways // a Deployment's pods restart
	pod.TerminationGracePeriodSeconds = ptr.To(archiverGrace)
	if port := contract.MetricsPort(s.Args); port > 0 {
		pod.Containers[0].Ports = append(pod.Containers[0].Ports, corev1.ContainerPort{Name: "metrics", ContainerPort: port, Protocol: corev1.ProtocolTCP})
	}
	return &appsv1.Deployment{
		TypeMeta: metav1.TypeMeta{APIVersion: appsv1.SchemeGroupVersion.String(), Kind: "Deployment"},
		ObjectMeta: metav1.ObjectMeta{
			Name:        ArchiverName,
			Namespace:   s.Namespace,
			Labels:      labels,
			Annotations: maps.Clone(s.Annotations),
		},
		Spec: appsv1.DeploymentSpec{
			Replicas: ptr.To[int32](1),
			Strategy: appsv1.DeploymentStrategy{Type: appsv1.RecreateDeploymentStrategyType},
			Selector: &metav1.LabelSelector{MatchLabels: map[string]string{
				LabelName: AppName, LabelComponent: ComponentArchiver, LabelInstance: ArchiverName,
			}},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: maps.Clone(labels), Annotations: maps.Clone(s.Annotations)},
				Spec:       pod,
			},
		},
	}
}

// ApplyDeployment creates d, or updates the existing one in place to match it: applying it twice
// leaves one Deployment, unchanged. Labels and annotations set by others are kept. An update
// that meets a newer version (the Deployment controller writes its status all the time) reads
// the Deployment again and retries.
func (c *Client) ApplyDeployment(ctx context.Context, d *appsv1.Deployment) (*appsv1.Deployment, Applied, error) {
	api := c.AppsV1().Deployments(d.Namespace)
	var out *appsv1.Deployment
	var applied Applied
	err := retry.RetryOnConflict(retry.DefaultRetry, func() error {
		cur, err := api.Get(ctx, d.Name, metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			if out, err = api.Create(ctx, d, metav1.CreateOptions{}); err != nil {
				return apiError(err, "create deployment %s/%s", d.Namespace, d.Name)
			}
			applied = AppliedCreated
			return nil
		}
		if err != nil {
			return apiError(err, "read deployment %s/%s", d.Namespace, d.Name)
		}
		upd := cur.DeepCopy()
		upd.Labels = merge(upd.Labels, d.Labels)
		upd.Annotations = merge(upd.Annotations, d.Annotations)
		upd.Spec = *d.Spec.DeepCopy()
		if out, err = api.Update(ctx, upd, metav1.UpdateOptions{}); err != nil {
			if apierrors.IsConflict(err) {
				return err // RetryOnConflict reads it again
			}
			return apiError(err, "update deployment %s/%s", d.Namespace, d.Name)
		}
		applied = AppliedUpdated
		if out.Generation == cur.Generation {
			applied = AppliedUnchanged
		}
		return nil
	})
	if err != nil {
		if apierrors.IsConflict(err) {
			return nil, "", apiError(err, "update deployment %s/%s", d.Namespace, d.Name)
		}
		return nil, "", err
	}
	return out, applied, nil
}

// DeleteDeployment removes the archiver's Deployment; its pod gets SIGTERM and stores its open
// segment within the grace period.
func (c *Client) DeleteDeployment(ctx context.Context, namespace, name string) error {
	err := c.AppsV1().Deployments(namespace).Delete(ctx, name, metav1.DeleteOptions{
		PropagationPolicy: ptr.To(metav1.DeletePropagationForeground),
	})
	if apierrors.IsNotFound(err) {
		return contract.NotFound(fmt.Errorf("no binlog archiver %q in namespace %q: %w", name, namespace, err))
	}
	if err != nil {
		return apiError(err, "delete deployment %s/%s", namespace, name)
	}
	return nil
}
