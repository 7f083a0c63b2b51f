package schemagen

import (
	"reflect"

	"github.com/nestvirt/nestvirt/internal/actions"
	"github.com/nestvirt/nestvirt/internal/doc"
	"github.com/nestvirt/nestvirt/internal/plan"
	"github.com/nestvirt/nestvirt/internal/policy"
	"github.com/nestvirt/nestvirt/internal/probe"
	"github.com/nestvirt/nestvirt/schema"
)

// Nestvirt is what schema/ holds: the four documents and the parts they share.
func Nestvirt() Spec {
	return Spec{
		Documents: []Document{
			{"check", "nestvirt check --format json", reflect.TypeFor[doc.CheckDoc]()},
			{"vms", "nestvirt vms --format json", reflect.TypeFor[doc.VMsDoc]()},
			{"plan", "nestvirt plan --format json", reflect.TypeFor[doc.PlanDoc]()},
			{"matrix", "nestvirt matrix --format json", reflect.TypeFor[doc.MatrixDoc]()},
		},
		Defs: []Def{
			{"level", reflect.TypeFor[policy.Level]()},
			{"error", reflect.TypeFor[doc.Error]()},
			{"finding", reflect.TypeFor[policy.Finding]()},
			{"chain", reflect.TypeFor[policy.ChainResult]()},
			{"host", reflect.TypeFor[probe.Facts]()},
			{"windows", reflect.TypeFor[probe.WindowsFacts]()},
			{"vm", reflect.TypeFor[doc.VMEntry]()},
			{"topology", reflect.TypeFor[plan.TopologyResult]()},
			{"action", reflect.TypeFor[actions.Action]()},
		},
		ID:      schema.ID,
		Sources: []string{"internal/doc", "internal/actions", "internal/policy", "internal/probe", "internal/plan"},
	}
}
