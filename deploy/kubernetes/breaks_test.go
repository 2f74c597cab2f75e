package kubernetes

import (
	"errors"
	"strings"
	"testing"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
)

// TestWiringCatchesBreaks breaks the example overlay's build one way at a
// time and checks that the wiring checks say so: a check that passes
// everything proves nothing.
func TestWiringCatchesBreaks(t *testing.T) {
	good := build(t, "overlays/example")
	if _, errs := good.wiring(); len(errs) > 0 {
		t.Fatalf("the example overlay is not consistent to start with:\n%v", errors.Join(errs...))
	}
	seg := func(b *built) *batchv1.Job { w, _ := b.wiring(); return w.segmentJob }
	mrg := func(b *built) *batchv1.Job { w, _ := b.wiring(); return w.mergeJob }
	ctr := func(j *batchv1.Job) *corev1.Container {
		return findContainer(j.Spec.Template.Spec.Containers, container)
	}
	setArg := func(j *batchv1.Job, prefix, arg string) {
		c := ctr(j)
		for i, a := range c.Args {
			if strings.HasPrefix(a, prefix) {
				c.Args[i] = arg
				return
			}
		}
		t.Fatalf("job %s has no argument %s...", j.Name, prefix)
	}
	setEnv := func(j *batchv1.Job, name string, v corev1.EnvVar) {
		c := ctr(j)
		for i := range c.Env {
			if c.Env[i].Name == name {
				c.Env[i] = v
				return
			}
		}
		t.Fatalf("job %s has no variable %s", j.Name, name)
	}
	i32 := func(v int32) *int32 { return &v }
	cases := []struct {
		name   string
		break_ func(b *built)
		want   string
	}{
		{"parallelism below completions", func(b *built) { seg(b).Spec.Parallelism = i32(3) }, "parallelism = 3"},
		{"completions not SEGMENTS", func(b *built) { seg(b).Spec.Completions = i32(5) }, "completions = 5"},
		{"SEGMENTS changed alone", func(b *built) { b.configMaps[0].Data["SEGMENTS"] = "3" }, "completions = 4; want SEGMENTS = 3"},
		{"not Indexed", func(b *built) { m := batchv1.NonIndexedCompletion; seg(b).Spec.CompletionMode = &m }, "not Indexed"},
		{"a fixed N in --segment", func(b *built) { setArg(seg(b), "--segment=", "--segment=job/3") }, "--segment=job/3; want job/4"},
		{"segment given as i/n", func(b *built) { setArg(seg(b), "--segment=", "--segment=1/4") }, "--segment=1/4"},
		{"merge waits for fewer", func(b *built) { setArg(mrg(b), "--wait=", "--wait=3") }, "--wait=3; want 4"},
		{"merge reads another folder", func(b *built) { setArg(mrg(b), "--from=", "--from=/results/other") }, "merge reads --from/*/results.json"},
		{"segments share a folder", func(b *built) { setArg(seg(b), "--out=", "--out=/results/$(RUN_ID)/segment") }, "both write"},
		{"segments write outside the volume", func(b *built) { setArg(seg(b), "--out=", "--out=/tmp/$(RUN_ID)/segment-$(JOB_COMPLETION_INDEX)") }, "not a PersistentVolumeClaim"},
		{"merge on another claim", func(b *built) {
			mrg(b).Spec.Template.Spec.Volumes[0].PersistentVolumeClaim.ClaimName = "other"
		}, "on claim other"},
		{"merge's RUN_ID from another key", func(b *built) {
			setEnv(mrg(b), "RUN_ID", corev1.EnvVar{Name: "RUN_ID", ValueFrom: &corev1.EnvVarSource{ConfigMapKeyRef: &corev1.ConfigMapKeySelector{
				LocalObjectReference: corev1.LocalObjectReference{Name: b.configMaps[0].Name}, Key: "SUITES"}}})
		}, "must come from ConfigMap"},
		{"merge's RUN_ID written out", func(b *built) { setEnv(mrg(b), "RUN_ID", corev1.EnvVar{Name: "RUN_ID", Value: "example-1"}) }, "must come from ConfigMap"},
		{"a misspelt variable", func(b *built) { setArg(seg(b), "--run-id=", "--run-id=$(RUNID)") }, "refers to $(RUNID)"},
		{"a key the ConfigMap lacks", func(b *built) { delete(b.configMaps[0].Data, "DURATION") }, "does not have"},
		{"index from the wrong field", func(b *built) {
			setEnv(seg(b), indexEnv, corev1.EnvVar{Name: indexEnv, ValueFrom: &corev1.EnvVarSource{FieldRef: &corev1.ObjectFieldSelector{FieldPath: "metadata.name"}}})
		}, "which this pod does not have"},
		{"a segment retried", func(b *built) { seg(b).Spec.BackoffLimitPerIndex = i32(1) }, "backoffLimitPerIndex = 1"},
		{"merge never retried", func(b *built) { mrg(b).Spec.BackoffLimit = i32(0) }, "backoffLimit = 0"},
		{"segments named otherwise", func(b *built) { seg(b).Name = "load" }, `segments Job is named "load"`},
		{"merge gives up early", func(b *built) { b.configMaps[0].Data["MERGE_WAIT_TIMEOUT"] = "10m" }, "shorter than the segments' activeDeadlineSeconds"},
		{"runs as root", func(b *built) { f := false; seg(b).Spec.Template.Spec.SecurityContext.RunAsNonRoot = &f }, "runAsNonRoot"},
		{"writable root filesystem", func(b *built) { f := false; ctr(mrg(b)).SecurityContext.ReadOnlyRootFilesystem = &f }, "readOnlyRootFilesystem"},
		{"no memory limit", func(b *built) { delete(ctr(seg(b)).Resources.Limits, corev1.ResourceMemory) }, "no memory limit"},
		{"claim not shared", func(b *built) {
			b.claims[0].Spec.AccessModes = []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce}
		}, "not ReadWriteMany"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			b := good.clone()
			c.break_(b)
			_, errs := b.wiring()
			for _, err := range errs {
				if strings.Contains(err.Error(), c.want) {
					return
				}
			}
			t.Errorf("after %q the checks say %v; want an error containing %q", c.name, errs, c.want)
		})
	}
	t.Run("target not started", func(t *testing.T) {
		b := good.clone()
		b.services = nil
		w, _ := b.wiring()
		if errs := b.targetErrors(w); len(errs) == 0 {
			t.Error("without the target Service the checks say nothing; want an error")
		}
	})
}
