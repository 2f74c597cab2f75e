package kubernetes

import (
	"fmt"
	"net"
	"net/url"
	"path"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
)

// The names the manifests and this test agree on.
const (
	runConfigMap   = "goldenpath-run" // kustomize appends a hash of its content
	container      = "goldenpath"
	componentLabel = "app.kubernetes.io/component"
	mergeSuffix    = "-merge"
	// The pod annotation the Job controller sets to the completion index
	// (and, since Kubernetes 1.28, the same label).
	indexAnnotation = "metadata.annotations['batch.kubernetes.io/job-completion-index']"
	indexLabel      = "metadata.labels['batch.kubernetes.io/job-completion-index']"
	indexEnv        = "JOB_COMPLETION_INDEX"
)

// wiring is what the checks found in one build.
type wiring struct {
	configMap   *corev1.ConfigMap
	config      map[string]string
	segments    int
	runID       string
	segmentJob  *batchv1.Job
	mergeJob    *batchv1.Job
	segmentOuts []string // --out of segment index 0, 1, ...
}

// wiring checks a build for the wiring of one distributed test and returns
// what it found with every inconsistency, each as a sentence.
func (b *built) wiring() (*wiring, []error) {
	var errs errorList
	w := &wiring{}
	for _, cm := range b.configMaps {
		if cm.Name == runConfigMap || strings.HasPrefix(cm.Name, runConfigMap+"-") {
			if w.configMap != nil {
				errs.add("%s: two ConfigMaps %s and %s", b.dir, w.configMap.Name, cm.Name)
			}
			w.configMap = cm
		}
	}
	if w.configMap == nil {
		errs.add("%s: no ConfigMap %s (the run's settings)", b.dir, runConfigMap)
		return w, errs
	}
	w.config = w.configMap.Data
	for _, j := range b.jobs {
		switch j.Labels[componentLabel] {
		case "segments":
			if w.segmentJob != nil {
				errs.add("%s: two segments Jobs, %s and %s", b.dir, w.segmentJob.Name, j.Name)
			}
			w.segmentJob = j
		case "merge":
			if w.mergeJob != nil {
				errs.add("%s: two merge Jobs, %s and %s", b.dir, w.mergeJob.Name, j.Name)
			}
			w.mergeJob = j
		default:
			errs.add("%s: Job %s has no %s label segments or merge", b.dir, j.Name, componentLabel)
		}
	}
	if w.segmentJob == nil || w.mergeJob == nil {
		errs.add("%s: want one Job labelled %s=segments and one =merge", b.dir, componentLabel)
		return w, errs
	}
	n, err := strconv.Atoi(w.config["SEGMENTS"])
	if err != nil || n < 1 {
		errs.add("%s: ConfigMap %s: SEGMENTS = %q; want a number of segments, 1 or more", b.dir, w.configMap.Name, w.config["SEGMENTS"])
		return w, errs
	}
	w.segments = n
	w.runID = w.config["RUN_ID"]
	if !dnsLabel.MatchString(w.runID) || len(w.runID)+len(mergeSuffix) > 63 {
		errs.add("%s: RUN_ID = %q; want a DNS label (a-z, 0-9, -) of at most %d characters: it names the Jobs", b.dir, w.runID, 63-len(mergeSuffix))
	}
	if s := w.config["START_AT"]; s != "" {
		if _, err := time.Parse(time.RFC3339, s); err != nil {
			errs.add("%s: START_AT = %q is not an RFC 3339 time (2026-12-04T21:30:00Z)", b.dir, s)
		}
	}
	b.checkSegments(w, &errs)
	b.checkMerge(w, &errs)
	b.checkPods(&errs)
	return w, errs
}

var dnsLabel = regexp.MustCompile(`^[a-z0-9]([-a-z0-9]*[a-z0-9])?$`)

// checkSegments: the Indexed Job runs SEGMENTS pods at once, each running
// `goldenpath run --segment job/SEGMENTS` into its own folder of the shared
// volume, never twice.
func (b *built) checkSegments(w *wiring, errs *errorList) {
	j, n := w.segmentJob, w.segments
	if j.Name != w.runID {
		errs.add("segments Job is named %q; want the run id %q (the merge and the reports name the test by it)", j.Name, w.runID)
	}
	if j.Spec.CompletionMode == nil || *j.Spec.CompletionMode != batchv1.IndexedCompletion {
		errs.add("segments Job %s: completionMode is not Indexed: its pods would get no JOB_COMPLETION_INDEX, and --segment job/%d would exit 2", j.Name, n)
	}
	if got := deref(j.Spec.Completions); got != n {
		errs.add("segments Job %s: completions = %s; want SEGMENTS = %d, one completion per segment", j.Name, show(j.Spec.Completions), n)
	}
	if got := deref(j.Spec.Parallelism); got != n {
		errs.add("segments Job %s: parallelism = %s; want completions = SEGMENTS = %d: every segment runs at once, or the test is not the whole load", j.Name, show(j.Spec.Parallelism), n)
	}
	spec := j.Spec.Template.Spec
	if spec.RestartPolicy != corev1.RestartPolicyNever {
		errs.add("segments Job %s: restartPolicy %q; want Never (a restarted container runs its segment's load twice)", j.Name, spec.RestartPolicy)
	}
	if j.Spec.BackoffLimitPerIndex == nil || *j.Spec.BackoffLimitPerIndex != 0 {
		errs.add("segments Job %s: backoffLimitPerIndex = %s; want 0: a segment run again adds its load a second time, late", j.Name, show(j.Spec.BackoffLimitPerIndex))
	}
	if !failsJobOn(j, 2) {
		errs.add("segments Job %s: no podFailurePolicy rule FailJob on exit code 2 (bad usage is the same in every segment)", j.Name)
	}
	c := findContainer(spec.Containers, container)
	if c == nil {
		errs.add("segments Job %s: no container %q", j.Name, container)
		return
	}
	if !refersToConfig(c, "RUN_ID", w.configMap.Name) || !refersToConfig(c, "SEGMENTS", w.configMap.Name) {
		errs.add("segments Job %s: RUN_ID and SEGMENTS must come from ConfigMap %s (configMapKeyRef), the source the merge Job reads too", j.Name, w.configMap.Name)
	}
	seen := map[string]int{}
	for i := range n {
		env, err := resolveEnv(c, w.configMap, map[string]string{indexAnnotation: strconv.Itoa(i), indexLabel: strconv.Itoa(i)})
		if err != nil {
			errs.add("segments Job %s: %v", j.Name, err)
			return
		}
		if _, ok := env[indexEnv]; !ok {
			env[indexEnv] = strconv.Itoa(i) // the Job controller adds it
		} else if env[indexEnv] != strconv.Itoa(i) {
			errs.add("segments Job %s: %s = %q in pod %d; want the pod's completion index (fieldRef %s)", j.Name, indexEnv, env[indexEnv], i, indexAnnotation)
		}
		args, err := expandArgs(c, env)
		if err != nil {
			errs.add("segments Job %s: %v", j.Name, err)
			return
		}
		if len(args) == 0 || args[0] != "run" {
			errs.add("segments Job %s: args %q; want goldenpath run ...", j.Name, args)
			return
		}
		flags, err := parseFlags(args[1:])
		if err != nil {
			errs.add("segments Job %s: %v", j.Name, err)
			return
		}
		if want := fmt.Sprintf("job/%d", n); flags["segment"] != want {
			errs.add("segments Job %s: --segment=%s; want %s (SEGMENTS = completions = %d): pod %d must run segment %d/%d", j.Name, flags["segment"], want, n, i, i+1, n)
		}
		if flags["run-id"] != w.runID {
			errs.add("segments Job %s: --run-id=%s; want the run id %q", j.Name, flags["run-id"], w.runID)
		}
		if s := flags["start-at"]; s != "" {
			if _, err := time.Parse(time.RFC3339, s); err != nil {
				errs.add("segments Job %s: --start-at=%s is not an RFC 3339 time", j.Name, s)
			}
		}
		out := flags["out"]
		if !path.IsAbs(out) || path.Clean(out) != out {
			errs.add("segments Job %s: --out=%q; want a clean absolute path on the results volume", j.Name, out)
			return
		}
		if k, dup := seen[out]; dup {
			errs.add("segments Job %s: pods %d and %d both write --out=%s; every segment needs a folder of its own", j.Name, k, i, out)
		}
		seen[out] = i
		if claim := b.claimAt(spec, c, out, errs); claim != "" && claim != resultsClaim(b) {
			errs.add("segments Job %s: --out=%s is on claim %s, not the results claim %s", j.Name, out, claim, resultsClaim(b))
		}
		w.segmentOuts = append(w.segmentOuts, out)
	}
}

// checkMerge: the merge waits for SEGMENTS parts in the folder every
// segment writes into, on the same volume, under the same run id.
func (b *built) checkMerge(w *wiring, errs *errorList) {
	j := w.mergeJob
	if want := w.runID + mergeSuffix; j.Name != want {
		errs.add("merge Job is named %q; want %q (the run id, -merge)", j.Name, want)
	}
	spec := j.Spec.Template.Spec
	if spec.RestartPolicy != corev1.RestartPolicyNever {
		errs.add("merge Job %s: restartPolicy %q; want Never (its podFailurePolicy needs it)", j.Name, spec.RestartPolicy)
	}
	if j.Spec.BackoffLimit == nil || *j.Spec.BackoffLimit < 1 || *j.Spec.BackoffLimit > 3 {
		errs.add("merge Job %s: backoffLimit = %s; want 1 to 3: a merge that started before the run's folder existed is retried, a refusal is not repeated for long", j.Name, show(j.Spec.BackoffLimit))
	}
	if !failsJobOn(j, 1) {
		errs.add("merge Job %s: want podFailurePolicy FailJob on exit code 1 (a check failed): a verdict is final", j.Name)
	}
	c := findContainer(spec.Containers, container)
	if c == nil {
		errs.add("merge Job %s: no container %q", j.Name, container)
		return
	}
	if !refersToConfig(c, "RUN_ID", w.configMap.Name) || !refersToConfig(c, "SEGMENTS", w.configMap.Name) {
		errs.add("merge Job %s: RUN_ID and SEGMENTS must come from ConfigMap %s (configMapKeyRef), the source the segments read", j.Name, w.configMap.Name)
	}
	env, err := resolveEnv(c, w.configMap, nil)
	if err != nil {
		errs.add("merge Job %s: %v", j.Name, err)
		return
	}
	args, err := expandArgs(c, env)
	if err != nil {
		errs.add("merge Job %s: %v", j.Name, err)
		return
	}
	if len(args) == 0 || args[0] != "merge" {
		errs.add("merge Job %s: args %q; want goldenpath merge ...", j.Name, args)
		return
	}
	flags, err := parseFlags(args[1:])
	if err != nil {
		errs.add("merge Job %s: %v", j.Name, err)
		return
	}
	if want := strconv.Itoa(w.segments); flags["wait"] != want {
		errs.add("merge Job %s: --wait=%s; want %s = SEGMENTS = the segments Job's completions: it would merge too few parts, or wait for parts that never come", j.Name, flags["wait"], want)
	}
	from := flags["from"]
	for i, out := range w.segmentOuts {
		if path.Dir(out) != from {
			errs.add("merge Job %s: --from=%s, but segment %d writes %s: merge reads --from/*/results.json", j.Name, from, i+1, out)
		}
	}
	mergeOut := flags["out"]
	if slices.Contains(w.segmentOuts, mergeOut) || mergeOut == "" {
		errs.add("merge Job %s: --out=%q; want a folder no segment writes", j.Name, mergeOut)
	}
	for _, p := range []string{from, mergeOut} {
		if claim := b.claimAt(spec, c, p, errs); claim != "" && claim != resultsClaim(b) {
			errs.add("merge Job %s: %s is on claim %s, not the results claim %s the segments write to", j.Name, p, claim, resultsClaim(b))
		}
	}
	wait, err := time.ParseDuration(flags["wait-timeout"])
	if err != nil {
		errs.add("merge Job %s: --wait-timeout=%q: %v", j.Name, flags["wait-timeout"], err)
		return
	}
	if d := w.segmentJob.Spec.ActiveDeadlineSeconds; d != nil && wait < time.Duration(*d)*time.Second {
		errs.add("merge Job %s: --wait-timeout=%s is shorter than the segments' activeDeadlineSeconds %d: it would give up on segments still running", j.Name, wait, *d)
	}
	if d := j.Spec.ActiveDeadlineSeconds; d != nil && time.Duration(*d)*time.Second <= wait {
		errs.add("merge Job %s: activeDeadlineSeconds %d ends it before --wait-timeout=%s, before it can say which part is missing", j.Name, *d, wait)
	}
}

// resultsClaim is the claim the build's PersistentVolumeClaim defines
// (there must be one, shared: ReadWriteMany).
func resultsClaim(b *built) string {
	if len(b.claims) != 1 {
		return fmt.Sprintf("(%d PersistentVolumeClaims in %s; want 1)", len(b.claims), b.dir)
	}
	return b.claims[0].Name
}

// claimAt is the PersistentVolumeClaim mounted (writable) at the deepest
// mount holding p, or "" after adding an error.
func (b *built) claimAt(spec corev1.PodSpec, c *corev1.Container, p string, errs *errorList) string {
	var mount *corev1.VolumeMount
	for i, m := range c.VolumeMounts {
		if (p == m.MountPath || strings.HasPrefix(p, strings.TrimSuffix(m.MountPath, "/")+"/")) && (mount == nil || len(m.MountPath) > len(mount.MountPath)) {
			mount = &c.VolumeMounts[i]
		}
	}
	if mount == nil {
		errs.add("%s: no volume is mounted at %s: it would be written to the container's own filesystem and lost", b.dir, p)
		return ""
	}
	if mount.ReadOnly {
		errs.add("%s: %s is mounted read-only at %s", b.dir, p, mount.MountPath)
	}
	for _, v := range spec.Volumes {
		if v.Name != mount.Name {
			continue
		}
		if v.PersistentVolumeClaim == nil {
			errs.add("%s: %s is on volume %s, not a PersistentVolumeClaim: the other pods cannot see it", b.dir, p, v.Name)
			return ""
		}
		if len(b.claims) == 1 && !slices.Contains(b.claims[0].Spec.AccessModes, corev1.ReadWriteMany) {
			errs.add("%s: claim %s is not ReadWriteMany: pods on several nodes write to it", b.dir, b.claims[0].Name)
		}
		return v.PersistentVolumeClaim.ClaimName
	}
	errs.add("%s: volume %s mounted at %s is not defined", b.dir, mount.Name, mount.MountPath)
	return ""
}

// checkPods: every pod runs as non-root on a read-only root filesystem,
// with a writable /tmp, bounded resources and no privilege to gain.
func (b *built) checkPods(errs *errorList) {
	type pod struct {
		what string
		spec corev1.PodSpec
	}
	var pods []pod
	for _, j := range b.jobs {
		pods = append(pods, pod{"Job " + j.Name, j.Spec.Template.Spec})
	}
	for _, d := range b.deployments {
		pods = append(pods, pod{"Deployment " + d.Name, d.Spec.Template.Spec})
	}
	for _, p := range b.pods {
		pods = append(pods, pod{"Pod " + p.Name, p.Spec})
	}
	for _, p := range pods {
		sc := p.spec.SecurityContext
		if sc == nil || sc.RunAsNonRoot == nil || !*sc.RunAsNonRoot || sc.RunAsUser == nil || *sc.RunAsUser == 0 {
			errs.add("%s: %s: want securityContext runAsNonRoot: true and a runAsUser other than 0", b.dir, p.what)
		}
		if p.spec.AutomountServiceAccountToken == nil || *p.spec.AutomountServiceAccountToken {
			errs.add("%s: %s: automountServiceAccountToken must be false: goldenpath does not call the Kubernetes API", b.dir, p.what)
		}
		for _, c := range append(slices.Clone(p.spec.InitContainers), p.spec.Containers...) {
			csc := c.SecurityContext
			if csc == nil || csc.ReadOnlyRootFilesystem == nil || !*csc.ReadOnlyRootFilesystem {
				errs.add("%s: %s, container %s: want readOnlyRootFilesystem: true", b.dir, p.what, c.Name)
			}
			if csc == nil || csc.AllowPrivilegeEscalation == nil || *csc.AllowPrivilegeEscalation {
				errs.add("%s: %s, container %s: want allowPrivilegeEscalation: false", b.dir, p.what, c.Name)
			}
			if csc == nil || csc.Capabilities == nil || !slices.Contains(csc.Capabilities.Drop, "ALL") {
				errs.add("%s: %s, container %s: want capabilities drop [ALL]", b.dir, p.what, c.Name)
			}
			if csc != nil && csc.RunAsUser != nil && *csc.RunAsUser == 0 {
				errs.add("%s: %s, container %s: runAsUser 0", b.dir, p.what, c.Name)
			}
			for _, r := range []corev1.ResourceName{corev1.ResourceCPU, corev1.ResourceMemory} {
				if _, ok := c.Resources.Requests[r]; !ok {
					errs.add("%s: %s, container %s: no %s request", b.dir, p.what, c.Name, r)
				}
				if _, ok := c.Resources.Limits[r]; !ok {
					errs.add("%s: %s, container %s: no %s limit", b.dir, p.what, c.Name, r)
				}
			}
			if !mountsEmptyDir(p.spec, &c, "/tmp") {
				errs.add("%s: %s, container %s: /tmp is not an emptyDir: with a read-only root filesystem nothing could write temporary files", b.dir, p.what, c.Name)
			}
			if c.Name == container && (p.spec.EnableServiceLinks == nil || *p.spec.EnableServiceLinks) {
				errs.add("%s: %s: enableServiceLinks must be false: a Service named goldenpath-* puts GOLDENPATH_* variables, which goldenpath reads, in the environment", b.dir, p.what)
			}
		}
	}
}

func mountsEmptyDir(spec corev1.PodSpec, c *corev1.Container, at string) bool {
	for _, m := range c.VolumeMounts {
		if m.MountPath != at {
			continue
		}
		for _, v := range spec.Volumes {
			if v.Name == m.Name && v.EmptyDir != nil {
				return true
			}
		}
	}
	return false
}

// targetErrors: an in-cluster TARGET (http://NAME:PORT) is a Service of the
// build, on that port, in front of a Deployment's pods that listen on its
// target port: the segments load what the overlay starts.
func (b *built) targetErrors(w *wiring) []error {
	var errs errorList
	u, err := url.Parse(w.config["TARGET"])
	if err != nil || u.Host == "" {
		errs.add("%s: TARGET = %q; want the URL of the target Service", b.dir, w.config["TARGET"])
		return errs
	}
	host, portText, err := net.SplitHostPort(u.Host)
	if err != nil {
		errs.add("%s: TARGET = %q: give the port: %v", b.dir, w.config["TARGET"], err)
		return errs
	}
	port, _ := strconv.Atoi(portText)
	var svc *corev1.Service
	for _, s := range b.services {
		if s.Name == host {
			svc = s
		}
	}
	if svc == nil {
		errs.add("%s: TARGET = %s, but the build has no Service %s", b.dir, w.config["TARGET"], host)
		return errs
	}
	var sp *corev1.ServicePort
	for i := range svc.Spec.Ports {
		if int(svc.Spec.Ports[i].Port) == port {
			sp = &svc.Spec.Ports[i]
		}
	}
	if sp == nil {
		errs.add("%s: Service %s has no port %d (TARGET = %s)", b.dir, svc.Name, port, w.config["TARGET"])
		return errs
	}
	for _, d := range b.deployments {
		if !selects(svc.Spec.Selector, d.Spec.Template.Labels) {
			continue
		}
		for _, c := range d.Spec.Template.Spec.Containers {
			for _, cp := range c.Ports {
				if (sp.TargetPort.Type == intstr.String && sp.TargetPort.StrVal == cp.Name) ||
					(sp.TargetPort.Type == intstr.Int && sp.TargetPort.IntVal == cp.ContainerPort) {
					return errs
				}
			}
		}
	}
	errs.add("%s: Service %s port %d selects no Deployment's container port %s", b.dir, svc.Name, port, sp.TargetPort.String())
	return errs
}

func selects(selector, labels map[string]string) bool {
	if len(selector) == 0 {
		return false
	}
	for k, v := range selector {
		if labels[k] != v {
			return false
		}
	}
	return true
}

func findContainer(cs []corev1.Container, name string) *corev1.Container {
	for i := range cs {
		if cs[i].Name == name {
			return &cs[i]
		}
	}
	return nil
}

// refersToConfig: the container's variable name comes from the key of the
// same name in ConfigMap cm.
func refersToConfig(c *corev1.Container, name, cm string) bool {
	for _, e := range c.Env {
		if e.Name == name {
			r := e.ValueFrom
			return r != nil && r.ConfigMapKeyRef != nil && r.ConfigMapKeyRef.Name == cm && r.ConfigMapKeyRef.Key == name
		}
	}
	return false
}

// failsJobOn: a podFailurePolicy rule fails the Job on the goldenpath
// container's exit code.
func failsJobOn(j *batchv1.Job, code int32) bool {
	if j.Spec.PodFailurePolicy == nil {
		return false
	}
	for _, r := range j.Spec.PodFailurePolicy.Rules {
		x := r.OnExitCodes
		if r.Action == batchv1.PodFailurePolicyActionFailJob && x != nil && x.Operator == batchv1.PodFailurePolicyOnExitCodesOpIn &&
			(x.ContainerName == nil || *x.ContainerName == container) && slices.Contains(x.Values, code) {
			return true
		}
	}
	return false
}

func deref(p *int32) int {
	if p == nil {
		return -1
	}
	return int(*p)
}

func show(p *int32) string {
	if p == nil {
		return "unset"
	}
	return strconv.Itoa(int(*p))
}
