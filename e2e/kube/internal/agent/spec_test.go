package agent

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	v1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes/fake"
	"k8s.io/utils/ptr"
)

// objectsAgent is an agent whose cluster holds Secret creds and ConfigMap cfg in namespace ns.
func objectsAgent() *Agent {
	cs := fake.NewClientset(
		&v1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "creds", Namespace: "ns"}, Data: map[string][]byte{"user": []byte("bob"), "password": []byte("s3cret")}},
		&v1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "cfg", Namespace: "ns"}, Data: map[string]string{"mode": "full"}, BinaryData: map[string][]byte{"blob": []byte("bin")}},
	)
	return New(Config{}, cs, slog.New(slog.NewTextHandler(io.Discard, nil)))
}

func TestBuildEnvResolvesReferences(t *testing.T) {
	a := objectsAgent()
	pod := &v1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "p", Namespace: "ns"}}
	c := &v1.Container{
		EnvFrom: []v1.EnvFromSource{
			{Prefix: "S_", SecretRef: &v1.SecretEnvSource{LocalObjectReference: v1.LocalObjectReference{Name: "creds"}}},
			{Prefix: "C_", ConfigMapRef: &v1.ConfigMapEnvSource{LocalObjectReference: v1.LocalObjectReference{Name: "cfg"}}},
			{Prefix: "X_", SecretRef: &v1.SecretEnvSource{LocalObjectReference: v1.LocalObjectReference{Name: "absent"}, Optional: ptr.To(true)}},
		},
		Env: []v1.EnvVar{
			{Name: "PW", ValueFrom: &v1.EnvVarSource{SecretKeyRef: &v1.SecretKeySelector{LocalObjectReference: v1.LocalObjectReference{Name: "creds"}, Key: "password"}}},
			{Name: "MODE", ValueFrom: &v1.EnvVarSource{ConfigMapKeyRef: &v1.ConfigMapKeySelector{LocalObjectReference: v1.LocalObjectReference{Name: "cfg"}, Key: "mode"}}},
			{Name: "BLOB", ValueFrom: &v1.EnvVarSource{ConfigMapKeyRef: &v1.ConfigMapKeySelector{LocalObjectReference: v1.LocalObjectReference{Name: "cfg"}, Key: "blob"}}},
			{Name: "NOKEY", ValueFrom: &v1.EnvVarSource{SecretKeyRef: &v1.SecretKeySelector{LocalObjectReference: v1.LocalObjectReference{Name: "creds"}, Key: "nope", Optional: ptr.To(true)}}},
			{Name: "NOCM", ValueFrom: &v1.EnvVarSource{ConfigMapKeyRef: &v1.ConfigMapKeySelector{LocalObjectReference: v1.LocalObjectReference{Name: "absent"}, Key: "k", Optional: ptr.To(true)}}},
			{Name: "REF", Value: "$(S_user)-$(MODE)"},
		},
	}
	env, order, err := buildEnv(context.Background(), newObjectCache(a, "ns"), pod, c)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"S_password": "s3cret", "S_user": "bob", "C_mode": "full", "PW": "s3cret", "MODE": "full", "BLOB": "bin", "REF": "bob-full"}
	if len(env) != len(want) {
		t.Errorf("env = %v, want %v", env, want)
	}
	for k, v := range want {
		if env[k] != v {
			t.Errorf("%s = %q, want %q (env %v)", k, env[k], v, env)
		}
	}
	if got := strings.Join(order, ","); got != "S_password,S_user,C_mode,PW,MODE,BLOB,REF" {
		t.Errorf("order = %s", got)
	}

	for name, tc := range map[string]struct {
		env  v1.EnvVar
		from []v1.EnvFromSource
		want string
	}{
		"missing secret": {env: v1.EnvVar{Name: "A", ValueFrom: &v1.EnvVarSource{SecretKeyRef: &v1.SecretKeySelector{LocalObjectReference: v1.LocalObjectReference{Name: "absent"}, Key: "k"}}},
			want: `env A: secret "absent" not found`},
		"missing secret key": {env: v1.EnvVar{Name: "A", ValueFrom: &v1.EnvVarSource{SecretKeyRef: &v1.SecretKeySelector{LocalObjectReference: v1.LocalObjectReference{Name: "creds"}, Key: "k"}}},
			want: `env A: couldn't find key k in Secret ns/creds`},
		"missing configmap key": {env: v1.EnvVar{Name: "A", ValueFrom: &v1.EnvVarSource{ConfigMapKeyRef: &v1.ConfigMapKeySelector{LocalObjectReference: v1.LocalObjectReference{Name: "cfg"}, Key: "k"}}},
			want: `env A: couldn't find key k in ConfigMap ns/cfg`},
		"missing envFrom secret": {from: []v1.EnvFromSource{{SecretRef: &v1.SecretEnvSource{LocalObjectReference: v1.LocalObjectReference{Name: "absent"}}}}, env: v1.EnvVar{Name: "A"},
			want: `secret "absent" not found`},
	} {
		_, _, err := buildEnv(context.Background(), newObjectCache(a, "ns"), pod, &v1.Container{EnvFrom: tc.from, Env: []v1.EnvVar{tc.env}})
		var ce *configError
		if !errors.As(err, &ce) || err.Error() != tc.want {
			t.Errorf("%s: %v, want the configError %q", name, err, tc.want)
		}
	}
}

func TestPrepareVolumesProjectsObjects(t *testing.T) {
	a := objectsAgent()
	dir := t.TempDir()
	pod := &v1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "p", Namespace: "ns"}, Spec: v1.PodSpec{Volumes: []v1.Volume{
		{Name: "s", VolumeSource: v1.VolumeSource{Secret: &v1.SecretVolumeSource{SecretName: "creds", Items: []v1.KeyToPath{{Key: "user", Path: "u"}}}}},
		{Name: "c", VolumeSource: v1.VolumeSource{ConfigMap: &v1.ConfigMapVolumeSource{LocalObjectReference: v1.LocalObjectReference{Name: "cfg"}}}},
		{Name: "o", VolumeSource: v1.VolumeSource{Secret: &v1.SecretVolumeSource{SecretName: "absent", Optional: ptr.To(true)}}},
		{Name: "p", VolumeSource: v1.VolumeSource{Projected: &v1.ProjectedVolumeSource{Sources: []v1.VolumeProjection{
			{Secret: &v1.SecretProjection{LocalObjectReference: v1.LocalObjectReference{Name: "creds"}, Items: []v1.KeyToPath{{Key: "password", Path: "pw"}}}},
			{ConfigMap: &v1.ConfigMapProjection{LocalObjectReference: v1.LocalObjectReference{Name: "cfg"}}},
			{ConfigMap: &v1.ConfigMapProjection{LocalObjectReference: v1.LocalObjectReference{Name: "absent"}, Optional: ptr.To(true)}},
		}}}},
	}}}
	paths, err := a.prepareVolumes(context.Background(), newObjectCache(a, "ns"), pod, dir)
	if err != nil {
		t.Fatal(err)
	}
	for file, want := range map[string]string{"s/u": "bob", "c/mode": "full", "c/blob": "bin", "p/pw": "s3cret", "p/mode": "full"} {
		vol, name, _ := strings.Cut(file, "/")
		b, err := os.ReadFile(filepath.Join(paths[vol], name))
		if err != nil || string(b) != want {
			t.Errorf("%s: %q, %v; want %q", file, b, err, want)
		}
	}
	if ents, err := os.ReadDir(paths["o"]); err != nil || len(ents) != 0 {
		t.Errorf("optional missing secret volume: %v, %v; want an empty directory", ents, err)
	}

	for name, tc := range map[string]struct {
		vol  v1.VolumeSource
		want string
	}{
		"secret":    {v1.VolumeSource{Secret: &v1.SecretVolumeSource{SecretName: "absent"}}, `volume v: secret "absent" not found`},
		"configmap": {v1.VolumeSource{ConfigMap: &v1.ConfigMapVolumeSource{LocalObjectReference: v1.LocalObjectReference{Name: "absent"}}}, `volume v: configmap "absent" not found`},
		"projected": {v1.VolumeSource{Projected: &v1.ProjectedVolumeSource{Sources: []v1.VolumeProjection{{Secret: &v1.SecretProjection{LocalObjectReference: v1.LocalObjectReference{Name: "absent"}}}}}}, `volume v: secret "absent" not found`},
	} {
		pod := &v1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "p", Namespace: "ns"}, Spec: v1.PodSpec{Volumes: []v1.Volume{{Name: "v", VolumeSource: tc.vol}}}}
		_, err := a.prepareVolumes(context.Background(), newObjectCache(a, "ns"), pod, t.TempDir())
		var ce *configError
		if !errors.As(err, &ce) || err.Error() != tc.want {
			t.Errorf("%s: %v, want the configError %q", name, err, tc.want)
		}
	}
}
