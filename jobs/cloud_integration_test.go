package jobs

import (
	"context"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/backupctl/backupctl/internal/testenv"
)

// TestKubeWebIdentityToken: a Job built with WebIdentity, in a namespace whose Secret holds no
// S3 keys, runs on the local node; its pod finds the projected token where
// AWS_WEB_IDENTITY_TOKEN_FILE says, no S3 keys in its environment, and MinIO's STS (with the
// API server as its OpenID provider), reached at the pods' address of the TLS MinIO, exchanges
// the token for credentials of AWS_ROLE_ARN. The test shell stands in for the dumper, whose own
// use of the token (and of the CA bundle: busybox's wget checks no certificate) is tested in
// storage and e2e.
func TestKubeWebIdentityToken(t *testing.T) {
	c, ns := kubeTest(t)
	m := testenv.MinIOTLS(t)
	ctx := context.Background()
	if err := c.CoreV1().Secrets(ns).Delete(ctx, DefaultSecret, metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.CoreV1().Secrets(ns).Create(ctx, secret(ns, DefaultSecret, KeyDBPassword), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	s := shellSpec(t, ns, `set -e
test -z "$AWS_ACCESS_KEY_ID" && test -z "$AWS_SECRET_ACCESS_KEY"
test -s "$AWS_WEB_IDENTITY_TOKEN_FILE"
wget -q -O /tmp/sts.xml --no-check-certificate \
  --post-data "Action=AssumeRoleWithWebIdentity&Version=2011-06-15&RoleArn=$AWS_ROLE_ARN&WebIdentityToken=$(cat "$AWS_WEB_IDENTITY_TOKEN_FILE")" \
  "$STS" || echo "sts: wget exit $?"
grep -q '<AccessKeyId>' /tmp/sts.xml && echo "sts: credentials for $AWS_ROLE_ARN" || { sed 's/<SecretAccessKey>.*//' /tmp/sts.xml; exit 1; }`)
	s.WebIdentity = &WebIdentity{Audience: m.Audience, RoleARN: m.RoleARN}
	s.Env = []corev1.EnvVar{{Name: "STS", Value: testenv.Get(t, "BACKUP_K8S_POD_S3_TLS_ENDPOINT")}}
	o, logs := runShell(t, c, s)
	if !o.Succeeded || !strings.Contains(logs, "sts: credentials for "+m.RoleARN) {
		t.Errorf("outcome %+v, logs:\n%s", *o, logs)
	}
	if strings.Contains(logs, "SecretAccessKey") {
		t.Errorf("the log shows a secret:\n%s", logs)
	}
}
