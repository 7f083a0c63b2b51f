// Package deploy checks the Kubernetes manifest nestvirt ships
// (deploy/kubernetes) against Kubernetes' own types: the module of k8s.io/api
// stays out of nestvirt's go.mod.
package deploy

import (
	"bytes"
	"encoding/json"
	"os"
	"strings"
	"testing"

	"github.com/goccy/go-yaml"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
)

// strict decodes JSON into v, refusing a field the type does not have: what a
// typo in a manifest would be.
func strict(t *testing.T, doc []byte, v any) {
	t.Helper()
	dec := json.NewDecoder(bytes.NewReader(doc))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		t.Fatalf("%T: %v", v, err)
	}
}

// TestTheDaemonSetDecodesStrictly decodes each document of the manifest into
// Kubernetes' own types (k8s.io/api), unknown fields being errors, since no
// cluster runs here; then checks what nestvirt needs of it.
func TestTheDaemonSetDecodesStrictly(t *testing.T) {
	raw, err := os.ReadFile("../../deploy/kubernetes/nestvirt-nfd.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var ds *appsv1.DaemonSet
	kinds := map[string]bool{}
	for _, part := range strings.Split(string(raw), "\n---\n") {
		js, err := yaml.YAMLToJSON([]byte(part))
		if err != nil {
			t.Fatal(err)
		}
		var head struct{ Kind string }
		json.Unmarshal(js, &head)
		kinds[head.Kind] = true
		switch head.Kind {
		case "Namespace":
			strict(t, js, &corev1.Namespace{})
		case "DaemonSet":
			ds = &appsv1.DaemonSet{}
			strict(t, js, ds)
		default:
			t.Fatalf("unexpected kind %q", head.Kind)
		}
	}
	if ds == nil || !kinds["Namespace"] {
		t.Fatalf("kinds %v", kinds)
	}
	if ds.APIVersion != "apps/v1" || ds.Namespace != "nestvirt" {
		t.Errorf("apiVersion %q namespace %q", ds.APIVersion, ds.Namespace)
	}
	sel := ds.Spec.Selector.MatchLabels
	for k, v := range sel {
		if ds.Spec.Template.Labels[k] != v {
			t.Errorf("the selector %s=%s does not match the pod template", k, v)
		}
	}
	pod := ds.Spec.Template.Spec
	if len(pod.Containers) != 1 {
		t.Fatalf("%d containers", len(pod.Containers))
	}
	c := pod.Containers[0]
	version, err := os.ReadFile("../../VERSION")
	if err != nil {
		t.Fatal(err)
	}
	// A versioned tag, the one scripts/image.sh builds: :latest with IfNotPresent
	// leaves each node on whatever it pulled first.
	if want := "ghcr.io/nestvirt/nestvirt:" + strings.TrimSpace(string(version)); c.Image != want {
		t.Errorf("image %q, want %q (the tag is VERSION)", c.Image, want)
	}
	script := strings.Join(append(c.Command, c.Args...), " ")
	for _, want := range []string{"--host-root /host", "--format nfd", "--fail-on never", "--output /features.d/nestvirt"} {
		if !strings.Contains(script, want) {
			t.Errorf("the container does not run check with %q: %s", want, script)
		}
	}
	volumes := map[string]corev1.Volume{}
	for _, v := range pod.Volumes {
		volumes[v.Name] = v
	}
	mounted := map[string]corev1.VolumeMount{}
	for _, m := range c.VolumeMounts {
		v, ok := volumes[m.Name]
		if !ok {
			t.Errorf("mount %s has no volume", m.Name)
			continue
		}
		mounted[m.MountPath] = m
		if strings.HasPrefix(m.MountPath, "/host/") {
			if !m.ReadOnly {
				t.Errorf("%s is mounted read-write: the node is only read", m.MountPath)
			}
			if v.HostPath == nil || "/host"+v.HostPath.Path != m.MountPath {
				t.Errorf("%s does not mount the node's %s", m.MountPath, strings.TrimPrefix(m.MountPath, "/host"))
			}
		}
	}
	for _, p := range []string{"/host/sys", "/host/proc", "/host/dev", "/host/etc", "/host/usr/lib", "/features.d"} {
		if _, ok := mounted[p]; !ok {
			t.Errorf("%s is not mounted", p)
		}
	}
	if v := volumes["features"]; v.HostPath == nil || v.HostPath.Path != "/etc/kubernetes/node-feature-discovery/features.d" {
		t.Errorf("the features volume is not NFD's features.d: %+v", v)
	}
	sc := c.SecurityContext
	if sc == nil || sc.ReadOnlyRootFilesystem == nil || !*sc.ReadOnlyRootFilesystem || sc.AllowPrivilegeEscalation == nil || *sc.AllowPrivilegeEscalation {
		t.Errorf("the container is not locked down: %+v", sc)
	}
}
