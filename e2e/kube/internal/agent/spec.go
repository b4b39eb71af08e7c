package agent

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	authv1 "k8s.io/api/authentication/v1"
	v1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/kubernetes/third_party/forked/golang/expansion"
)

// defaultPath is the PATH a container gets unless its spec sets one, as
// container images commonly do.
const defaultPath = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

// defaultTerminationMessagePath is the API default for terminationMessagePath.
const defaultTerminationMessagePath = "/dev/termination-log"

// objectCache memoises Secrets and ConfigMaps while one pod is prepared.
type objectCache struct {
	a          *Agent
	ns         string
	secrets    map[string]*v1.Secret
	configMaps map[string]*v1.ConfigMap
}

func newObjectCache(a *Agent, ns string) *objectCache {
	return &objectCache{a: a, ns: ns, secrets: map[string]*v1.Secret{}, configMaps: map[string]*v1.ConfigMap{}}
}

// secret returns the named Secret, or nil when it does not exist.
func (c *objectCache) secret(ctx context.Context, name string) (*v1.Secret, error) {
	return cached(ctx, c.secrets, name, c.a.client.CoreV1().Secrets(c.ns).Get)
}

// configMap returns the named ConfigMap, or nil when it does not exist.
func (c *objectCache) configMap(ctx context.Context, name string) (*v1.ConfigMap, error) {
	return cached(ctx, c.configMaps, name, c.a.client.CoreV1().ConfigMaps(c.ns).Get)
}

// cached returns cache[name] or else what get reads (nil when it does not exist), and keeps it.
func cached[T any](ctx context.Context, cache map[string]*T, name string, get func(context.Context, string, metav1.GetOptions) (*T, error)) (*T, error) {
	if v, ok := cache[name]; ok {
		return v, nil
	}
	v, err := get(ctx, name, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		v, err = nil, nil
	}
	if err != nil {
		return nil, err
	}
	cache[name] = v
	return v, nil
}

func isTrue(b *bool) bool { return b != nil && *b }

// configError is a problem in the pod's references (missing Secret, key...),
// reported like the kubelet's CreateContainerConfigError.
type configError struct{ msg string }

func (e *configError) Error() string { return e.msg }

func configErrorf(format string, args ...any) error {
	return &configError{fmt.Sprintf(format, args...)}
}

// buildEnv returns the container's environment as the kubelet computes it:
// envFrom first, then env (later entries win), with $(VAR) references
// expanded against the variables defined before.
func buildEnv(ctx context.Context, objs *objectCache, pod *v1.Pod, c *v1.Container) (map[string]string, []string, error) {
	env := map[string]string{}
	var order []string
	set := func(k, v string) {
		if _, ok := env[k]; !ok {
			order = append(order, k)
		}
		env[k] = v
	}
	for _, ef := range c.EnvFrom {
		switch {
		case ef.ConfigMapRef != nil:
			cm, err := objs.configMap(ctx, ef.ConfigMapRef.Name)
			if err != nil {
				return nil, nil, err
			}
			if cm == nil {
				if isTrue(ef.ConfigMapRef.Optional) {
					continue
				}
				return nil, nil, configErrorf("configmap %q not found", ef.ConfigMapRef.Name)
			}
			for _, k := range sortedKeys(cm.Data) {
				set(ef.Prefix+k, cm.Data[k])
			}
		case ef.SecretRef != nil:
			// A missing optional Secret has no keys.
			data, _, err := objs.source(ctx, "", "secret", ef.SecretRef.Name, ef.SecretRef.Optional)
			if err != nil {
				return nil, nil, err
			}
			for _, k := range sortedKeys(data) {
				set(ef.Prefix+k, string(data[k]))
			}
		}
	}
	for _, e := range c.Env {
		if e.ValueFrom == nil {
			set(e.Name, expansion.Expand(e.Value, expansion.MappingFuncFor(env)))
			continue
		}
		v, ok, err := envValueFrom(ctx, objs, pod, e.ValueFrom)
		if err != nil {
			return nil, nil, fmt.Errorf("env %s: %w", e.Name, err)
		}
		if ok {
			set(e.Name, v)
		}
	}
	return env, order, nil
}

// envValueFrom resolves one valueFrom; ok is false for an optional reference
// that is absent (the variable is then not set).
func envValueFrom(ctx context.Context, objs *objectCache, pod *v1.Pod, src *v1.EnvVarSource) (string, bool, error) {
	switch {
	case src.SecretKeyRef != nil:
		ref := src.SecretKeyRef
		return objs.value(ctx, "secret", ref.Name, ref.Key, ref.Optional, "Secret "+pod.Namespace+"/"+ref.Name)
	case src.ConfigMapKeyRef != nil:
		ref := src.ConfigMapKeyRef
		return objs.value(ctx, "configmap", ref.Name, ref.Key, ref.Optional, "ConfigMap "+pod.Namespace+"/"+ref.Name)
	case src.FieldRef != nil:
		v, err := fieldValue(pod, src.FieldRef.FieldPath)
		return v, err == nil, err
	case src.ResourceFieldRef != nil:
		// No resource accounting here: report nothing rather than a made-up number.
		return "", false, nil
	}
	return "", false, nil
}

// fieldValue implements the downward API field paths a kubelet supports.
func fieldValue(pod *v1.Pod, path string) (string, error) {
	switch path {
	case "metadata.name":
		return pod.Name, nil
	case "metadata.namespace":
		return pod.Namespace, nil
	case "metadata.uid":
		return string(pod.UID), nil
	case "spec.nodeName":
		return pod.Spec.NodeName, nil
	case "spec.serviceAccountName":
		return pod.Spec.ServiceAccountName, nil
	case "status.hostIP", "status.podIP", "status.hostIPs", "status.podIPs":
		return "127.0.0.1", nil
	}
	for _, p := range []struct {
		prefix string
		m      map[string]string
	}{{"metadata.labels", pod.Labels}, {"metadata.annotations", pod.Annotations}} {
		if path == p.prefix {
			var lines []string
			for _, k := range sortedKeys(p.m) {
				lines = append(lines, fmt.Sprintf("%s=%q", k, p.m[k]))
			}
			return strings.Join(lines, "\n"), nil
		}
		if strings.HasPrefix(path, p.prefix+"['") && strings.HasSuffix(path, "']") {
			return p.m[path[len(p.prefix)+2:len(path)-2]], nil
		}
	}
	return "", configErrorf("unsupported fieldRef %q", path)
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// writeVolumeFile writes one projected file below dir, refusing paths that
// would escape it.
func writeVolumeFile(dir, rel string, data []byte, mode *int32, defMode *int32) error {
	clean := filepath.Clean(rel)
	if filepath.IsAbs(clean) || clean == ".." || strings.HasPrefix(clean, "../") {
		return configErrorf("invalid volume item path %q", rel)
	}
	perm := os.FileMode(0o644)
	if defMode != nil {
		perm = os.FileMode(*defMode)
	}
	if mode != nil {
		perm = os.FileMode(*mode)
	}
	// Keep files readable by the agent's own user whatever the spec asks for.
	perm |= 0o400
	p := filepath.Join(dir, clean)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		return err
	}
	return os.WriteFile(p, data, perm)
}

// keyData is one key of a Secret or ConfigMap.
type keyData map[string][]byte

// projectKeys writes the selected keys (all when items is empty).
func projectKeys(dir string, data keyData, items []v1.KeyToPath, defMode *int32, optional bool, what string) error {
	if len(items) == 0 {
		for _, k := range sortedKeys(data) {
			if err := writeVolumeFile(dir, k, data[k], nil, defMode); err != nil {
				return err
			}
		}
		return nil
	}
	for _, it := range items {
		v, ok := data[it.Key]
		if !ok {
			if optional {
				continue
			}
			return configErrorf("%s has no key %q", what, it.Key)
		}
		if err := writeVolumeFile(dir, it.Path, v, it.Mode, defMode); err != nil {
			return err
		}
	}
	return nil
}

// project writes the keys of the Secret or ConfigMap (kind "secret" or "configmap") name into
// dir, as projectKeys does; a missing one is a configError (its message after prefix) unless
// optional, then nothing is written.
func (c *objectCache) project(ctx context.Context, dir, prefix, kind, name string, items []v1.KeyToPath, defMode *int32, optional *bool) error {
	data, found, err := c.source(ctx, prefix, kind, name, optional)
	if err != nil || !found {
		return err
	}
	return projectKeys(dir, data, items, defMode, isTrue(optional), kind+" "+name)
}

// source reads the keys of the Secret or ConfigMap (kind "secret" or "configmap") name; a
// missing one is not found when optional, else a configError (its message after prefix).
func (c *objectCache) source(ctx context.Context, prefix, kind, name string, optional *bool) (keyData, bool, error) {
	var (
		data  keyData
		found bool
		err   error
	)
	switch kind {
	case "secret":
		var sec *v1.Secret
		if sec, err = c.secret(ctx, name); sec != nil {
			data, found = secretData(sec), true
		}
	case "configmap":
		var m *v1.ConfigMap
		if m, err = c.configMap(ctx, name); m != nil {
			data, found = configMapData(m), true
		}
	default:
		return nil, false, fmt.Errorf("unknown kind %q", kind)
	}
	if err != nil || found || isTrue(optional) {
		return data, found, err
	}
	return nil, false, configErrorf("%s%s %q not found", prefix, kind, name)
}

// value is key's value in the Secret or ConfigMap (kind "secret" or "configmap") name, which
// what names in errors; a missing object or key is not found when optional, else a configError.
func (c *objectCache) value(ctx context.Context, kind, name, key string, optional *bool, what string) (string, bool, error) {
	data, _, err := c.source(ctx, "", kind, name, optional) // a missing optional object has no keys
	if err != nil {
		return "", false, err
	}
	v, ok := data[key]
	if !ok {
		if isTrue(optional) {
			return "", false, nil
		}
		return "", false, configErrorf("couldn't find key %s in %s", key, what)
	}
	return string(v), true, nil
}

func secretData(s *v1.Secret) keyData { return keyData(s.Data) }

func configMapData(m *v1.ConfigMap) keyData {
	d := keyData{}
	for k, v := range m.Data {
		d[k] = []byte(v)
	}
	for k, v := range m.BinaryData {
		d[k] = v
	}
	return d
}

// prepareVolumes materialises the pod's volumes as directories under
// podDir/volumes and returns the host path of each volume by name.
func (a *Agent) prepareVolumes(ctx context.Context, objs *objectCache, pod *v1.Pod, podDir string) (map[string]string, error) {
	paths := map[string]string{}
	for i := range pod.Spec.Volumes {
		vol := &pod.Spec.Volumes[i]
		if vol.HostPath != nil {
			// No isolation: a hostPath is simply that path.
			paths[vol.Name] = vol.HostPath.Path
			continue
		}
		dir := filepath.Join(podDir, "volumes", vol.Name)
		// Re-created on every attempt so a retried preparation sees fresh data.
		if vol.EmptyDir == nil {
			if err := os.RemoveAll(dir); err != nil {
				return nil, err
			}
		}
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return nil, err
		}
		paths[vol.Name] = dir
		switch {
		case vol.EmptyDir != nil:
		case vol.Secret != nil:
			src := vol.Secret
			if err := objs.project(ctx, dir, "volume "+vol.Name+": ", "secret", src.SecretName, src.Items, src.DefaultMode, src.Optional); err != nil {
				return nil, err
			}
		case vol.ConfigMap != nil:
			src := vol.ConfigMap
			if err := objs.project(ctx, dir, "volume "+vol.Name+": ", "configmap", src.Name, src.Items, src.DefaultMode, src.Optional); err != nil {
				return nil, err
			}
		case vol.DownwardAPI != nil:
			if err := writeDownward(dir, pod, vol.DownwardAPI.Items, vol.DownwardAPI.DefaultMode); err != nil {
				return nil, err
			}
		case vol.Projected != nil:
			if err := a.writeProjected(ctx, objs, pod, dir, vol.Projected); err != nil {
				return nil, fmt.Errorf("volume %s: %w", vol.Name, err)
			}
		default:
			// Anything else (PVCs, CSI...) becomes an empty directory.
			a.log.Info("volume type not supported, using an empty directory", "pod", pod.Namespace+"/"+pod.Name, "volume", vol.Name)
		}
	}
	return paths, nil
}

func writeDownward(dir string, pod *v1.Pod, items []v1.DownwardAPIVolumeFile, defMode *int32) error {
	for _, it := range items {
		if it.FieldRef == nil {
			continue
		}
		v, err := fieldValue(pod, it.FieldRef.FieldPath)
		if err != nil {
			return err
		}
		if err := writeVolumeFile(dir, it.Path, []byte(v), it.Mode, defMode); err != nil {
			return err
		}
	}
	return nil
}

// writeProjected handles projected volumes, among them the service-account
// volume that admission adds to every pod (token, ca.crt, namespace).
func (a *Agent) writeProjected(ctx context.Context, objs *objectCache, pod *v1.Pod, dir string, p *v1.ProjectedVolumeSource) error {
	for _, src := range p.Sources {
		switch {
		case src.Secret != nil:
			if err := objs.project(ctx, dir, "", "secret", src.Secret.Name, src.Secret.Items, p.DefaultMode, src.Secret.Optional); err != nil {
				return err
			}
		case src.ConfigMap != nil:
			if err := objs.project(ctx, dir, "", "configmap", src.ConfigMap.Name, src.ConfigMap.Items, p.DefaultMode, src.ConfigMap.Optional); err != nil {
				return err
			}
		case src.DownwardAPI != nil:
			if err := writeDownward(dir, pod, src.DownwardAPI.Items, p.DefaultMode); err != nil {
				return err
			}
		case src.ServiceAccountToken != nil:
			t := src.ServiceAccountToken
			req := &authv1.TokenRequest{Spec: authv1.TokenRequestSpec{
				ExpirationSeconds: t.ExpirationSeconds,
				BoundObjectRef:    &authv1.BoundObjectReference{Kind: "Pod", APIVersion: "v1", Name: pod.Name, UID: pod.UID},
			}}
			if t.Audience != "" {
				req.Spec.Audiences = []string{t.Audience}
			}
			sa := pod.Spec.ServiceAccountName
			if sa == "" {
				sa = "default"
			}
			tr, err := a.client.CoreV1().ServiceAccounts(pod.Namespace).CreateToken(ctx, sa, req, metav1.CreateOptions{})
			if err != nil {
				return fmt.Errorf("service account token: %w", err)
			}
			if err := writeVolumeFile(dir, t.Path, []byte(tr.Status.Token), nil, p.DefaultMode); err != nil {
				return err
			}
		}
	}
	return nil
}
