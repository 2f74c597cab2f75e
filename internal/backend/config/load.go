package config

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"math"
	"os"
	"slices"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/goldenpath-dev/goldenpath/internal/protocol"
)

// EnvPrefix starts the names of the environment variables that [Load]
// reads: the variable of a key is EnvPrefix followed by the key in upper
// case, as in GOLDENPATH_THINK_MS.
const EnvPrefix = "GOLDENPATH_"

// Load returns the initial values object of a backend, for [New]: every
// known key, from the first of these that sets it:
//
//   - overrides, the command line's flags by key name, such as
//     "think_ms": "0";
//   - environ, entries "NAME=value" as from os.Environ, such as
//     GOLDENPATH_THINK_MS=0 (the first entry of a name wins, as with
//     os.Getenv);
//   - file, a YAML (or JSON) mapping of known keys, unless file is "";
//   - the defaults.
//
// Flag and variable values are text, parsed by the key's type: integers in
// decimal, strings as they are. Unknown keys in the file or the overrides
// are errors; variables with [EnvPrefix] that name no known key are
// ignored. Every problem found is reported, each naming its source (the
// file and line, the variable or the flag) and what it accepts.
func Load(file string, environ []string, overrides map[string]string) ([]byte, error) {
	values := make(map[string]any, len(keys))
	for _, k := range keys {
		values[k.name] = k.defaultValue()
	}
	var errs []error
	if file != "" {
		errs = append(errs, loadFile(values, file)...)
	}
	env := make(map[string]string)
	for _, kv := range environ {
		name, value, ok := strings.Cut(kv, "=")
		if _, seen := env[name]; ok && !seen {
			env[name] = value
		}
	}
	for _, k := range keys {
		name := EnvPrefix + strings.ToUpper(k.name)
		if text, ok := env[name]; ok {
			errs = append(errs, k.setText(values, text, "environment variable "+name))
		}
	}
	for _, name := range slices.Sorted(maps.Keys(overrides)) {
		k, ok := lookup(name)
		if !ok {
			errs = append(errs, fmt.Errorf("config: flag %s: unknown key; known keys are %s",
				name, strings.Join(Keys(), ", ")))
			continue
		}
		errs = append(errs, k.setText(values, overrides[name], "flag "+name))
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return protocol.CanonicalValue(values)
}

// setText parses text by the key's type and stores it in values, or
// returns an error naming source.
func (k key) setText(values map[string]any, text, source string) error {
	var v any = text
	if k.num != nil {
		n, err := strconv.ParseInt(text, 10, 64)
		if err != nil {
			why := errNotInteger
			if errors.Is(err, strconv.ErrRange) {
				why = errOutOfRange
			}
			return fmt.Errorf("config: %s: %s = %q is %v, %s", source, k.name, text, why, k.want())
		}
		v = json.Number(strconv.FormatInt(n, 10))
	}
	var scratch Settings
	if p := k.set(&scratch, v); p != "" {
		return fmt.Errorf("config: %s: %s", source, p)
	}
	values[k.name] = v
	return nil
}

// loadFile reads the YAML file at path into values and returns its
// problems.
func loadFile(values map[string]any, path string) []error {
	b, err := os.ReadFile(path)
	if err != nil {
		return []error{fmt.Errorf("config: read configuration file: %w", err)}
	}
	dec := yaml.NewDecoder(bytes.NewReader(b))
	var doc, more yaml.Node
	switch err := dec.Decode(&doc); {
	case err == io.EOF || err == nil && len(doc.Content) == 0:
		return nil // an empty file sets nothing
	case err != nil:
		return []error{fmt.Errorf("config: %s: not valid YAML: %w", path, err)}
	}
	if err := dec.Decode(&more); err != io.EOF {
		return []error{fmt.Errorf("config: %s:%d: a second YAML document; want one mapping of keys to values",
			path, more.Line)}
	}
	root := doc.Content[0]
	if root.Kind != yaml.MappingNode {
		return []error{fmt.Errorf("config: %s:%d: want a mapping of keys to values, got %s",
			path, root.Line, nodeKind(root))}
	}
	var errs []error
	seen := make(map[string]int) // line of each key
	for i := 0; i+1 < len(root.Content); i += 2 {
		name, node := root.Content[i], root.Content[i+1]
		k, ok := lookup(name.Value)
		if !ok || name.Kind != yaml.ScalarNode {
			errs = append(errs, fmt.Errorf("config: %s:%d: unknown key %q; known keys are %s",
				path, name.Line, name.Value, strings.Join(Keys(), ", ")))
			continue
		}
		if line, dup := seen[k.name]; dup {
			errs = append(errs, fmt.Errorf("config: %s:%d: key %s is repeated, first set on line %d; keep one",
				path, name.Line, k.name, line))
			continue
		}
		seen[k.name] = name.Line
		v := yamlValue(node)
		var scratch Settings
		if p := k.set(&scratch, v); p != "" {
			errs = append(errs, fmt.Errorf("config: %s:%d: %s", path, node.Line, p))
			continue
		}
		values[k.name] = v
	}
	return errs
}

// yamlValue converts a YAML node to the JSON value that key.set expects:
// numbers become json.Number, other scalars strings, booleans or nil.
func yamlValue(n *yaml.Node) any {
	for n.Kind == yaml.AliasNode {
		n = n.Alias
	}
	var v any
	if n.Kind != yaml.ScalarNode {
		_ = n.Decode(&v) // only shown in an error message
		return v
	}
	switch n.ShortTag() {
	case "!!null", "!!bool", "!!int", "!!float":
		if err := n.Decode(&v); err != nil {
			return n.Value
		}
	default:
		return n.Value
	}
	switch x := v.(type) {
	case int:
		return json.Number(strconv.Itoa(x))
	case int64:
		return json.Number(strconv.FormatInt(x, 10))
	case uint64:
		return json.Number(strconv.FormatUint(x, 10))
	case float64:
		if math.IsInf(x, 0) || math.IsNaN(x) {
			return x // not JSON; refused by key.set as a non-integer
		}
		return json.Number(strconv.FormatFloat(x, 'g', -1, 64))
	}
	return v
}

// nodeKind names the kind of a YAML node for error messages.
func nodeKind(n *yaml.Node) string {
	switch n.Kind {
	case yaml.SequenceNode:
		return "a list"
	case yaml.ScalarNode:
		return fmt.Sprintf("the scalar %q", n.Value)
	default:
		return "an alias"
	}
}
