// Package kubernetes holds goldenpath's Kubernetes manifests: a kustomize
// base (base/), the component that wires a run's settings into it
// (components/run-wiring), an example overlay (overlays/example) and a
// results reader (tools/). docs/distributed.md walks through them.
//
// Its tests are their proof without a cluster: every YAML file decodes
// strictly into the k8s.io/api types (an unknown field is an error, as a
// typo would be), the base and the overlay are built with kustomize's own
// library (krusty, in memory, as `kubectl apply -k` builds them), and the
// built objects are checked for the wiring of a distributed test: the
// segments Job's completions, parallelism, --segment job/N and the merge's
// --wait N agree, every segment writes its own folder of the shared volume
// the merge reads, both Jobs take the run id from one place, and every pod
// runs as non-root on a read-only root filesystem. wiring_test.go breaks
// the wiring on purpose and checks that each break is caught.
package kubernetes

import (
	"bytes"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/kustomize/api/krusty"
	"sigs.k8s.io/kustomize/api/types"
	"sigs.k8s.io/kustomize/kyaml/filesys"
	"sigs.k8s.io/yaml"
)

// kinds are the objects the manifests may hold, by "apiVersion kind", each
// with the Go type it must decode into. A file of any other kind fails the
// test: add it here, with its type, so that it is decoded strictly too.
var kinds = map[string]func() any{
	"batch/v1 Job":             func() any { return new(batchv1.Job) },
	"apps/v1 Deployment":       func() any { return new(appsv1.Deployment) },
	"v1 ConfigMap":             func() any { return new(corev1.ConfigMap) },
	"v1 PersistentVolumeClaim": func() any { return new(corev1.PersistentVolumeClaim) },
	"v1 Pod":                   func() any { return new(corev1.Pod) },
	"v1 Service":               func() any { return new(corev1.Service) },
	"kustomize.config.k8s.io/v1beta1 Kustomization": func() any { return new(types.Kustomization) },
	"kustomize.config.k8s.io/v1alpha1 Component":    func() any { return new(types.Kustomization) },
}

var docSeparator = regexp.MustCompile(`(?m)^---[ \t]*$`)

// decodeAll decodes every document of a YAML stream strictly: its
// apiVersion and kind choose the type, and a field that type does not have,
// a duplicated key or a value of the wrong type is an error naming it.
func decodeAll(data []byte) ([]any, error) {
	var out []any
	for i, doc := range docSeparator.Split(string(data), -1) {
		j, err := yaml.YAMLToJSON([]byte(doc))
		if err != nil {
			return nil, fmt.Errorf("document %d: %w", i+1, err)
		}
		if s := string(bytes.TrimSpace(j)); s == "null" || s == "" {
			continue // comments only
		}
		var tm struct {
			APIVersion string `json:"apiVersion"`
			Kind       string `json:"kind"`
		}
		if err := yaml.Unmarshal([]byte(doc), &tm); err != nil {
			return nil, fmt.Errorf("document %d: %w", i+1, err)
		}
		newObj, ok := kinds[tm.APIVersion+" "+tm.Kind]
		if !ok {
			return nil, fmt.Errorf("document %d: apiVersion %q kind %q is not one this test knows (add it to kinds)", i+1, tm.APIVersion, tm.Kind)
		}
		obj := newObj()
		if err := yaml.UnmarshalStrict([]byte(doc), obj); err != nil {
			return nil, fmt.Errorf("document %d (%s %s): %w", i+1, tm.APIVersion, tm.Kind, err)
		}
		out = append(out, obj)
	}
	return out, nil
}

// yamlFiles lists every .yaml and .yml file under this folder.
func yamlFiles(t *testing.T) []string {
	t.Helper()
	var files []string
	err := filepath.WalkDir(".", func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if ext := filepath.Ext(path); !d.IsDir() && (ext == ".yaml" || ext == ".yml") {
			files = append(files, path)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(files) == 0 {
		t.Fatal("no manifest found under deploy/kubernetes")
	}
	return files
}

// TestManifestsDecodeStrictly: every YAML file here, kustomizations and
// patches included, is made of objects of known kinds that decode into
// their k8s.io/api (or kustomize) types with no unknown field.
func TestManifestsDecodeStrictly(t *testing.T) {
	for _, path := range yamlFiles(t) {
		t.Run(path, func(t *testing.T) {
			data, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			objs, err := decodeAll(data)
			if err != nil {
				t.Fatalf("%s: %v", path, err)
			}
			if len(objs) == 0 {
				t.Fatalf("%s holds no object", path)
			}
		})
	}
}

// TestStrictDecodingRejectsTypos: the decoder the other tests trust does
// refuse what the API server would drop or refuse.
func TestStrictDecodingRejectsTypos(t *testing.T) {
	cases := []struct{ name, doc, want string }{
		{"unknown field", "apiVersion: batch/v1\nkind: Job\nspec:\n  completion: 4\n", `unknown field "completion"`},
		{"unknown nested field", "apiVersion: batch/v1\nkind: Job\nspec:\n  template:\n    spec:\n      containers:\n      - name: a\n        argz: [run]\n", `unknown field "argz"`},
		{"wrong type", "apiVersion: batch/v1\nkind: Job\nspec:\n  parallelism: \"4\"\n", "cannot unmarshal string"},
		{"duplicate key", "apiVersion: v1\nkind: ConfigMap\ndata:\n  A: x\n  A: y\n", "already set"},
		{"unknown kind", "apiVersion: batch/v1\nkind: CronJob\n", "is not one this test knows"},
		{"unknown kustomization field", "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresource: [a.yaml]\n", `unknown field "resource"`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := decodeAll([]byte(c.doc))
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Errorf("decodeAll(%q) = %v; want an error containing %q", c.doc, err, c.want)
			}
		})
	}
}

// built is what kustomize builds from one kustomization, by kind.
type built struct {
	dir         string
	configMaps  []*corev1.ConfigMap
	jobs        []*batchv1.Job
	claims      []*corev1.PersistentVolumeClaim
	deployments []*appsv1.Deployment
	services    []*corev1.Service
	pods        []*corev1.Pod
}

// build runs kustomize on dir as `kubectl kustomize dir` would, and decodes
// its output strictly: a replacement that wrote a string where the API
// wants a number fails here.
func build(t *testing.T, dir string) *built {
	t.Helper()
	m, err := krusty.MakeKustomizer(krusty.MakeDefaultOptions()).Run(filesys.MakeFsOnDisk(), dir)
	if err != nil {
		t.Fatalf("kustomize build %s: %v", dir, err)
	}
	out, err := m.AsYaml()
	if err != nil {
		t.Fatalf("kustomize build %s: %v", dir, err)
	}
	objs, err := decodeAll(out)
	if err != nil {
		t.Fatalf("kustomize build %s: %v\n%s", dir, err, out)
	}
	b := &built{dir: dir}
	for _, o := range objs {
		switch o := o.(type) {
		case *corev1.ConfigMap:
			b.configMaps = append(b.configMaps, o)
		case *batchv1.Job:
			b.jobs = append(b.jobs, o)
		case *corev1.PersistentVolumeClaim:
			b.claims = append(b.claims, o)
		case *appsv1.Deployment:
			b.deployments = append(b.deployments, o)
		case *corev1.Service:
			b.services = append(b.services, o)
		case *corev1.Pod:
			b.pods = append(b.pods, o)
		default:
			t.Fatalf("kustomize build %s: unexpected %T in the output", dir, o)
		}
	}
	return b
}

// clone is a deep copy, for the tests that break it.
func (b *built) clone() *built {
	c := &built{dir: b.dir}
	for _, o := range b.configMaps {
		c.configMaps = append(c.configMaps, o.DeepCopy())
	}
	for _, o := range b.jobs {
		c.jobs = append(c.jobs, o.DeepCopy())
	}
	for _, o := range b.claims {
		c.claims = append(c.claims, o.DeepCopy())
	}
	for _, o := range b.deployments {
		c.deployments = append(c.deployments, o.DeepCopy())
	}
	for _, o := range b.services {
		c.services = append(c.services, o.DeepCopy())
	}
	for _, o := range b.pods {
		c.pods = append(c.pods, o.DeepCopy())
	}
	return c
}

// TestBaseWiring: the base alone is a consistent distributed test.
func TestBaseWiring(t *testing.T) {
	b := build(t, "base")
	w, errs := b.wiring()
	for _, err := range errs {
		t.Error(err)
	}
	t.Logf("base: %d segments, run id %q", w.segments, w.runID)
}

// TestExampleOverlayWiring: the example overlay, built with its patches and
// its own SEGMENTS and RUN_ID, is consistent too, loads the target it
// starts, and really changed what it set (the run-wiring component reached
// the Jobs after the overlay's ConfigMap values).
func TestExampleOverlayWiring(t *testing.T) {
	b := build(t, "overlays/example")
	w, errs := b.wiring()
	errs = append(errs, b.targetErrors(w)...)
	for _, err := range errs {
		t.Error(err)
	}
	if t.Failed() {
		return
	}
	if w.segments != 4 {
		t.Errorf("overlays/example runs %d segments; its kustomization says SEGMENTS=4", w.segments)
	}
	if w.runID != "example-1" {
		t.Errorf("overlays/example's run id is %q; its run.env says RUN_ID=example-1", w.runID)
	}
	if len(w.segmentJob.Spec.Template.Spec.TopologySpreadConstraints) == 0 {
		t.Error("overlays/example's segments have no topologySpreadConstraints: its spread-segments.yaml patch did not apply")
	}
	for _, j := range b.jobs {
		if img := j.Spec.Template.Spec.Containers[0].Image; !strings.HasPrefix(img, "registry.example.com/goldenpath:") {
			t.Errorf("job %s runs image %q; the overlay's images: sets registry.example.com/goldenpath", j.Name, img)
		}
	}
	t.Logf("overlays/example: %d segments, run id %q, target %s", w.segments, w.runID, w.config["TARGET"])
}

// TestWiringOfEveryKustomization: any other kustomization added here later
// (an overlay of your own) is held to the same wiring.
func TestWiringOfEveryKustomization(t *testing.T) {
	for _, path := range yamlFiles(t) {
		dir := filepath.Dir(path)
		if filepath.Base(path) != "kustomization.yaml" || dir == "base" || dir == "overlays/example" || strings.HasPrefix(dir, "components") {
			continue
		}
		t.Run(dir, func(t *testing.T) {
			_, errs := build(t, dir).wiring()
			for _, err := range errs {
				t.Error(err)
			}
		})
	}
}

// errorList collects the checks' findings, each a sentence.
type errorList []error

func (l *errorList) add(format string, args ...any) { *l = append(*l, fmt.Errorf(format, args...)) }
