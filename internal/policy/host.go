package policy

// hostSamples are the host facts lint evaluates host rules against.
func hostSamples() []map[string]any { return []map[string]any{{"host": map[string]any{}}} }
