// Command nodeagent registers a Node with a Kubernetes API server and runs
// the pods bound to it as local processes. It is the test stand-in for a
// kubelet plus container runtime; see docs/KUBERNETES.md.
package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/backupctl/backupctl/e2e/kube/internal/agent"
)

// multiFlag collects a repeatable string flag.
type multiFlag []string

func (m *multiFlag) String() string     { return strings.Join(*m, ",") }
func (m *multiFlag) Set(v string) error { *m = append(*m, v); return nil }

func main() {
	var (
		cfg        agent.Config
		kubeconfig string
		images     multiFlag
	)
	flag.StringVar(&kubeconfig, "kubeconfig", os.Getenv("KUBECONFIG"), "kubeconfig of the API server")
	flag.StringVar(&cfg.NodeName, "node-name", "backupctl-node", "name of the Node to register")
	flag.StringVar(&cfg.NodeIP, "node-ip", "127.0.0.1", "the Node's InternalIP (where the API server reaches the log endpoint)")
	flag.StringVar(&cfg.ListenAddr, "listen", "127.0.0.1:16250", "address of the kubelet-style HTTPS endpoint (logs)")
	flag.StringVar(&cfg.TLSCertFile, "tls-cert-file", "", "serving certificate (self-signed when empty)")
	flag.StringVar(&cfg.TLSKeyFile, "tls-private-key-file", "", "serving key")
	flag.StringVar(&cfg.ClientCAFile, "client-ca-file", "", "require client certificates signed by this CA")
	flag.StringVar(&cfg.RootDir, "root-dir", "", "directory for per-pod state (required)")
	flag.Var(&images, "image-map", "repository=/path/to/binary; repeatable (e.g. backupctl/dumper=/repo/bin/dumper)")
	flag.DurationVar(&cfg.ImagePullFailAfter, "image-pull-fail-after", 5*time.Second, "how long an unknown image shows ErrImagePull before the pod fails")
	flag.DurationVar(&cfg.HeartbeatInterval, "heartbeat", 10*time.Second, "Node status and Lease renewal interval")
	flag.Parse()

	log := slog.New(slog.NewTextHandler(os.Stderr, nil))
	if err := run(cfg, kubeconfig, images, log); err != nil {
		log.Error("nodeagent failed", "err", err)
		os.Exit(1)
	}
}

func run(cfg agent.Config, kubeconfig string, images []string, log *slog.Logger) error {
	if cfg.RootDir == "" {
		return fmt.Errorf("--root-dir is required")
	}
	m, err := agent.ParseImageMap(images)
	if err != nil {
		return err
	}
	cfg.Images = m
	rc, err := clientcmd.BuildConfigFromFlags("", kubeconfig)
	if err != nil {
		return err
	}
	rc.QPS, rc.Burst = 50, 100
	client, err := kubernetes.NewForConfig(rc)
	if err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	return agent.New(cfg, client, log).Run(ctx)
}
