package audit

import (
	"fmt"
	"math"
	"reflect"
	"slices"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/pmeter/pmeter/nn"
)

// Upper bounds on the sizes a config may ask for. They lie far above any audit that fits on one
// machine (the plan's estimate, see Estimate, refuses what does not fit long before), and low enough
// that no product of them overflows an int.
const (
	maxModels  = 100_000   // run.num_experiments, audit.num_ref_models
	maxEpochs  = 1_000_000 // train.epochs
	maxBatch   = 1 << 24   // train.batch_size, audit.batch_size
	maxWorkers = 4096      // run.workers
)

var (
	yamlNodeType  = reflect.TypeOf(yaml.Node{})
	layerSpecType = reflect.TypeOf([]nn.LayerSpec(nil))
)

// checkNumbers walks the parsed YAML of a config alongside the Go type it decodes into and refuses
// what yaml.v3 would otherwise coerce without a word: a number with a fraction or an exponent where
// an integer is wanted (yaml.v3 truncates data_size: 400.5 to 400), and a NaN or infinite number
// (which would travel as far as the JSON of the run's metadata). train.model, which is decoded later
// into layer specs without yaml.v3's strict key check, is checked here for unknown keys too. Errors
// name the line and the field.
func checkNumbers(n *yaml.Node, t reflect.Type, path string, strict bool) error {
	for n.Kind == yaml.AliasNode && n.Alias != nil {
		n = n.Alias
	}
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if n.Kind == yaml.ScalarNode && n.Tag == "!!null" {
		return nil
	}
	if t == yamlNodeType {
		if path != "train.model" {
			return nil // free-form (train.peft)
		}
		t, strict = layerSpecType, true
	}
	switch t.Kind() {
	case reflect.Struct:
		if n.Kind != yaml.MappingNode {
			return nil // yaml.v3 has reported the wrong type
		}
		for i := 0; i+1 < len(n.Content); i += 2 {
			key, val := n.Content[i].Value, n.Content[i+1]
			f, ok := yamlField(t, key)
			if !ok {
				if strict {
					return fmt.Errorf("line %d: %s: unknown field %q (known: %s)", n.Content[i].Line, path, key, strings.Join(yamlFields(t), ", "))
				}
				continue
			}
			if err := checkNumbers(val, f.Type, joinPath(path, key), strict); err != nil {
				return err
			}
		}
	case reflect.Slice, reflect.Array:
		if n.Kind != yaml.SequenceNode {
			return nil
		}
		for i, e := range n.Content {
			if err := checkNumbers(e, t.Elem(), fmt.Sprintf("%s[%d]", path, i), strict); err != nil {
				return err
			}
		}
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		if n.Kind == yaml.ScalarNode && n.Tag == "!!float" {
			return fmt.Errorf("line %d: %s: want a whole number, got %s", n.Line, path, n.Value)
		}
	case reflect.Float32, reflect.Float64:
		var f float64
		if n.Kind == yaml.ScalarNode && n.Decode(&f) == nil && (math.IsNaN(f) || math.IsInf(f, 0)) {
			return fmt.Errorf("line %d: %s: want a finite number, got %s", n.Line, path, n.Value)
		}
	}
	return nil
}

func joinPath(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

// yamlField returns the field of struct type t that YAML key decodes into.
func yamlField(t reflect.Type, key string) (reflect.StructField, bool) {
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		if f.IsExported() && yamlName(f) == key {
			return f, true
		}
	}
	return reflect.StructField{}, false
}

// yamlFields lists the YAML keys of struct type t, sorted.
func yamlFields(t reflect.Type) []string {
	var names []string
	for i := 0; i < t.NumField(); i++ {
		if f := t.Field(i); f.IsExported() && yamlName(f) != "-" {
			names = append(names, yamlName(f))
		}
	}
	slices.Sort(names)
	return names
}

// yamlName is the key of a struct field as yaml.v3 names it: its tag, or its lower-cased name.
func yamlName(f reflect.StructField) string {
	name, _, _ := strings.Cut(f.Tag.Get("yaml"), ",")
	if name == "" {
		name = strings.ToLower(f.Name)
	}
	return name
}
