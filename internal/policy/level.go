package policy

import (
	"encoding/json"
	"fmt"
	"reflect"
	"strconv"
	"strings"
)

// Level is how Red Hat's text places a deployment, best first. A chain's verdict is
// the worst level among its findings; a file's verdict is the worst of its chains.
type Level int

// The levels, best to worst. Their strings are part of the output contract.
const (
	Supported Level = iota
	TechPreview
	Unsupported
	Untested
	NotExpectedToWork
	DoesNotWork
)

var levelNames = [...]string{"supported", "tech-preview", "unsupported", "untested", "not-expected-to-work", "does-not-work"}

// Levels lists every level, best first.
func Levels() []Level {
	return []Level{Supported, TechPreview, Unsupported, Untested, NotExpectedToWork, DoesNotWork}
}

// LevelNames lists the level strings, best first.
func LevelNames() []string { return levelNames[:] }

func (l Level) String() string {
	if l < 0 || int(l) >= len(levelNames) {
		return fmt.Sprintf("level(%d)", int(l))
	}
	return levelNames[l]
}

// ParseLevel reads a level string.
func ParseLevel(s string) (Level, error) {
	for i, n := range levelNames {
		if n == s {
			return Level(i), nil
		}
	}
	return 0, fmt.Errorf("unknown level %q (one of: %s)", s, strings.Join(levelNames[:], ", "))
}

// Enum lists the levels' names, best to worst, as JSON writes them.
func (Level) Enum() []string { return LevelNames() }

// MarshalJSON writes the level's string.
func (l Level) MarshalJSON() ([]byte, error) { return json.Marshal(l.String()) }

// UnmarshalJSON reads a level string. Anything else is a
// *json.UnmarshalTypeError, which encoding/json gives the member's path.
func (l *Level) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return err
	}
	v, err := ParseLevel(s)
	if err != nil {
		return &json.UnmarshalTypeError{Value: "string " + strconv.Quote(s), Type: reflect.TypeFor[Level]()}
	}
	*l = v
	return nil
}

// Worst returns the worse of two levels.
func Worst(a, b Level) Level { return max(a, b) }
