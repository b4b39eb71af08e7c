package jobs

import (
	"context"
	"fmt"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
)

// CancelJob deletes a Job with foreground propagation, so its pods go first (each dumper gets
// SIGTERM and aborts its upload) and the Job last, and waits up to timeout for the Job to be
// gone. It runs even when ctx is cancelled (it is what a Ctrl-C asks for): it has a timeout of
// its own.
func (c *Client) CancelJob(ctx context.Context, namespace, name string, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), timeout)
	defer cancel()
	err := c.BatchV1().Jobs(namespace).Delete(ctx, name, metav1.DeleteOptions{
		PropagationPolicy: ptr.To(metav1.DeletePropagationForeground),
	})
	if apierrors.IsNotFound(err) {
		return nil
	}
	if err != nil {
		return apiError(err, "delete job %s/%s", namespace, name)
	}
	for {
		_, err := c.BatchV1().Jobs(namespace).Get(ctx, name, metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("job %s/%s is being deleted but still there after %v: see `kubectl get job %s -n %s`", namespace, name, timeout, name, namespace)
		case <-time.After(200 * time.Millisecond):
		}
	}
}
