package jobs

import (
	"testing"

	corev1 "k8s.io/api/core/v1"

	"github.com/backupctl/backupctl/contract"
)

// TestArchiverMetricsPort: an archiver that serves /metrics gets a named container port, the
// one of its --metrics-listen; without it, none.
func TestArchiverMetricsPort(t *testing.T) {
	args := contract.ArchiveCommand{SegmentSize: "64MiB", MetricsListen: ":9102", DB: contract.DB{Host: "db"}}.Args()
	ports := ArchiverDeployment(Spec{Namespace: "db", Secret: "s", Args: args}).Spec.Template.Spec.Containers[0].Ports
	want := corev1.ContainerPort{Name: "metrics", ContainerPort: 9102, Protocol: corev1.ProtocolTCP}
	if len(ports) != 1 || ports[0] != want {
		t.Errorf("ports %+v from %q, want %+v", ports, args, want)
	}
	args = contract.ArchiveCommand{SegmentSize: "64MiB", DB: contract.DB{Host: "db"}}.Args()
	if ports := ArchiverDeployment(Spec{Namespace: "db", Secret: "s", Args: args}).Spec.Template.Spec.Containers[0].Ports; len(ports) != 0 {
		t.Errorf("ports %+v without --metrics-listen", ports)
	}
}
