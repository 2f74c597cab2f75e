package kubernetes

// What the kubelet does to a container before it runs: its environment
// resolved, $(VAR) expanded in its command and args; and the flags read
// back from them.

import (
	"fmt"
	"regexp"
	"slices"
	"strings"

	corev1 "k8s.io/api/core/v1"
)

// resolveEnv computes a container's environment as the kubelet would:
// configMapKeyRef from the run's ConfigMap, fieldRef from fields, and a
// value expanded with the variables defined before it.
func resolveEnv(c *corev1.Container, cm *corev1.ConfigMap, fields map[string]string) (map[string]string, error) {
	if len(c.EnvFrom) > 0 {
		return nil, fmt.Errorf("container %s uses envFrom; this test reads env only (teach it, or list the variables)", c.Name)
	}
	env := map[string]string{}
	for _, e := range c.Env {
		switch {
		case e.ValueFrom == nil:
			env[e.Name] = expand(e.Value, env)
		case e.ValueFrom.ConfigMapKeyRef != nil:
			ref := e.ValueFrom.ConfigMapKeyRef
			if ref.Name != cm.Name {
				return nil, fmt.Errorf("%s comes from ConfigMap %s, not the run's %s", e.Name, ref.Name, cm.Name)
			}
			v, ok := cm.Data[ref.Key]
			if !ok {
				return nil, fmt.Errorf("%s comes from key %s, which ConfigMap %s does not have: the pod would not start", e.Name, ref.Key, cm.Name)
			}
			env[e.Name] = v
		case e.ValueFrom.FieldRef != nil:
			v, ok := fields[e.ValueFrom.FieldRef.FieldPath]
			if !ok {
				return nil, fmt.Errorf("%s comes from field %s, which this pod does not have", e.Name, e.ValueFrom.FieldRef.FieldPath)
			}
			env[e.Name] = v
		default:
			env[e.Name] = "(from a secret)"
		}
	}
	return env, nil
}

// expandArgs expands a container's command and args as the kubelet does,
// and refuses a reference left unexpanded: the kubelet would pass "$(X)"
// as it is.
func expandArgs(c *corev1.Container, env map[string]string) ([]string, error) {
	var out []string
	for _, a := range append(slices.Clone(c.Command), c.Args...) {
		e := expand(a, env)
		if m := unexpanded.FindString(e); m != "" && !strings.Contains(a, "$$") {
			return nil, fmt.Errorf("argument %q refers to %s, which the container's environment does not define: the kubelet would pass it as it is", a, m)
		}
		out = append(out, e)
	}
	return out, nil
}

var unexpanded = regexp.MustCompile(`\$\([A-Za-z_][A-Za-z0-9_]*\)`)

// expand replaces $(NAME) by NAME's value when defined, keeps it when not,
// and turns $$ into $, as Kubernetes expands a container's command, args
// and env values.
func expand(s string, env map[string]string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] != '$' || i+1 == len(s) {
			b.WriteByte(s[i])
			continue
		}
		switch s[i+1] {
		case '$':
			b.WriteByte('$')
			i++
		case '(':
			end := strings.IndexByte(s[i+2:], ')')
			if end < 0 {
				b.WriteString("$(")
				i++
				continue
			}
			name := s[i+2 : i+2+end]
			if v, ok := env[name]; ok {
				b.WriteString(v)
			} else {
				b.WriteString("$(" + name + ")")
			}
			i += 2 + end
		default:
			b.WriteByte('$')
		}
	}
	return b.String()
}

// parseFlags reads --name=value and bare --name (true) arguments. The
// manifests write every valued flag as one --name=value argument, so that
// this test can read them; a positional argument is an error.
func parseFlags(args []string) (map[string]string, error) {
	flags := map[string]string{}
	for _, a := range args {
		if !strings.HasPrefix(a, "-") {
			return nil, fmt.Errorf("argument %q: write flags as --name=value (one argument), so that this test can read them", a)
		}
		name, value, ok := strings.Cut(strings.TrimLeft(a, "-"), "=")
		if !ok {
			value = "true"
		}
		if _, dup := flags[name]; dup {
			return nil, fmt.Errorf("flag --%s given twice", name)
		}
		flags[name] = value
	}
	return flags, nil
}
