package policy

import (
	"reflect"
	"regexp"
	"strings"
	"sync"
)

var fieldPathRe = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^[a-z_][a-z0-9_]*(\.[a-z_][a-z0-9_]*)*$`) })

// fieldIndexes caches, per struct type, the field index of each cel tag name.
var fieldIndexes sync.Map // reflect.Type -> map[string]int

func fieldIndex(t reflect.Type, name string) (int, bool) {
	m, ok := fieldIndexes.Load(t)
	if !ok {
		idx := map[string]int{}
		for i := 0; i < t.NumField(); i++ {
			if tag := strings.Split(t.Field(i).Tag.Get("cel"), ",")[0]; tag != "" && tag != "-" {
				idx[tag] = i
			}
		}
		m, _ = fieldIndexes.LoadOrStore(t, idx)
	}
	i, ok := m.(map[string]int)[name]
	return i, ok
}

// lookup follows a field path (l1.os.name) through the activation's structs by
// their cel names; ok is false when it does not lead to a string, and the CEL
// program decides.
func lookup(vars map[string]any, path []string) (string, bool) {
	v, ok := vars[path[0]]
	if !ok {
		return "", false
	}
	cur := reflect.ValueOf(v)
	for _, name := range path[1:] {
		for cur.Kind() == reflect.Pointer || cur.Kind() == reflect.Interface {
			if cur.IsNil() {
				return "", false
			}
			cur = cur.Elem()
		}
		if cur.Kind() != reflect.Struct {
			return "", false
		}
		i, ok := fieldIndex(cur.Type(), name)
		if !ok {
			return "", false
		}
		cur = cur.Field(i)
	}
	if cur.Kind() != reflect.String {
		return "", false
	}
	return cur.String(), true
}
