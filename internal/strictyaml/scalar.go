package strictyaml

// longestScalar bounds the longest scalar of a YAML document in one pass, before
// goccy's parser copies each scalar into its tokens (a 16 MiB one costs it half a
// gigabyte). It follows YAML's lexical rules as far as a scalar's extent needs:
// a value starts after a mapping colon, a sequence entry or a flow delimiter; a
// quoted scalar runs to its closing quote whatever it holds; a block scalar (|
// or >) runs over every line indented deeper than its owner; a plain scalar
// runs over line breaks until structure starts a new value. Flow delimiters
// (, [ ] { }) end values only inside a flow collection: in block context
// "a, b" is one scalar. Comments count for nothing. The count may be higher
// than the parser's scalar (indentation and line breaks are counted), never
// lower, and line is where the longest stretch starts.
func longestScalar(data []byte) (longest, line int) {
	line = 1
	run, runLine, cur := 0, 1, 1
	add := func(n int) {
		run += n
		if run > longest {
			longest, line = run, runLine
		}
	}
	flow := 0
	valueStart := true // nothing of the current value seen yet
	lineStart, lineAt := true, 0
	tokenCol, ownerCol := 0, 0 // where the current scalar, and the node owning a block scalar, start
	afterQuote := false        // the last token was a quoted scalar (a JSON key, before its colon)
	reset := func() { run, runLine, valueStart, afterQuote = 0, cur, true, false }
	space := func(i int) bool {
		return i >= len(data) || data[i] == ' ' || data[i] == '\t' || data[i] == '\n' || data[i] == '\r'
	}
	for i := 0; i < len(data); i++ {
		c := data[i]
		col := i - lineAt
		switch {
		case c == '\n':
			cur++
			lineStart, lineAt = true, i+1
			if !valueStart {
				add(1)
			}
			continue
		case c == ' ' || c == '\t' || c == '\r':
			if !valueStart && !lineStart {
				add(1)
			}
			continue
		case c == '#' && (i == 0 || space(i-1)):
			for i+1 < len(data) && data[i+1] != '\n' {
				i++
			}
			continue
		}
		wasLineStart := lineStart
		lineStart = false
		switch {
		case (c == '"' || c == '\'') && valueStart:
			tokenCol = col
			n := 0
			for i++; i < len(data); i++ {
				n++
				if data[i] == '\n' {
					cur++
					lineAt = i + 1
				}
				if c == '"' && data[i] == '\\' {
					i++
					n++
					continue
				}
				if data[i] == c {
					if c == '\'' && i+1 < len(data) && data[i+1] == '\'' {
						i++
						n++
						continue
					}
					break
				}
			}
			valueStart = false
			add(n + 1)
			afterQuote = true
			continue
		case (c == '|' || c == '>') && valueStart && flow == 0:
			// The indicator line holds only chomping and indentation indicators
			// and a comment; the content is every line after it indented deeper
			// than the owner (blank lines included).
			for i+1 < len(data) && data[i+1] != '\n' {
				i++
			}
			parent := ownerCol
			for i+1 < len(data) {
				j := i + 2 // the next line starts at i+2 (data[i+1] is its '\n')
				k := j
				for k < len(data) && data[k] == ' ' {
					k++
				}
				end := k
				for end < len(data) && data[end] != '\n' {
					end++
				}
				blank := k == end
				if !blank && k-j <= parent {
					break
				}
				cur++
				add(end - j + 1)
				i = end - 1
				if end >= len(data) {
					i = len(data)
					break
				}
			}
			// The next line (if any) starts at i+1 with its '\n' not yet seen.
			run, valueStart = 0, true
			continue
		case (c == '[' || c == '{') && (valueStart || flow > 0):
			flow++
			reset()
			continue
		case flow > 0 && (c == ']' || c == '}'):
			flow--
			reset()
			continue
		case flow > 0 && c == ',':
			reset()
			continue
		case c == ':' && (space(i+1) || afterQuote || (flow > 0 && i+1 < len(data) && (data[i+1] == ',' || data[i+1] == ']' || data[i+1] == '}'))):
			ownerCol = tokenCol
			reset()
			continue
		case (c == '-' || c == '?') && wasLineStart && space(i+1) && flow == 0:
			ownerCol = col
			reset()
			lineStart = true // "- - a", "- key: v": what follows starts on this line too
			continue
		}
		if valueStart || (wasLineStart && flow == 0) {
			tokenCol = col // a new scalar, or a key on a new line
			valueStart = false
		}
		afterQuote = false
		add(1)
	}
	return longest, line
}
