package guard

import (
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/nestvirt/nestvirt/internal/domxml"
	"github.com/nestvirt/nestvirt/internal/policy"
	"github.com/nestvirt/nestvirt/internal/probe"
	"github.com/nestvirt/nestvirt/internal/rootexec"
)

// Call is one run of the hook as libvirt makes it, with what the hook decides
// with: the domain XML on Stdin, the policy (PolicyFile, "" for the embedded
// one, loaded by Load) and the facts of the host at Root ("/" for this machine,
// read by Facts).
type Call struct {
	Input      // libvirt's arguments, the mode; XML and Facts are filled here
	Stdin      io.Reader
	Root       string
	PolicyFile string
	Load       func() (*policy.Policy, error)
	// Facts reads the host at root; its error, when the facts are still of
	// use (a host.yaml that is not valid), is said in the decision.
	Facts func(root string) (probe.Facts, error)
}

// Hook decides a call within DecisionBudget, or fails open (closed with
// FailClosed). Run as root it decides nothing with a policy file or a facts
// tree another user could change.
func Hook(c Call) Decision {
	in := c.Input
	return Within(DecisionBudget, in, func() Decision {
		xml, err := io.ReadAll(io.LimitReader(c.Stdin, domxml.MaxSize+1))
		if err == nil {
			in.XML, in.XMLTooLarge = xml, len(xml) > domxml.MaxSize
		}
		if os.Geteuid() == 0 {
			if err := Untrusted(c.PolicyFile, c.Root); err != nil {
				return Decision{Allow: !in.FailClosed, Judged: true, Message: "nestvirt guard cannot trust what it would judge with: " + err.Error(), Log: "nestvirt-guard: " + err.Error()}
			}
		}
		// A host.yaml that cannot be used costs only the stated facts: what was
		// probed still decides, and the decision says what was wrong.
		f, err := c.Facts(c.Root)
		in.Facts = f
		if err != nil {
			in.FactsErr = oneLine(err)
		}
		p, err := c.Load()
		if err != nil {
			return Decision{Allow: !in.FailClosed, Judged: true, Message: "nestvirt guard cannot load its policy: " + err.Error(), Log: "nestvirt-guard: policy: " + err.Error()}
		}
		return Decide(p, in)
	})
}

// Untrusted says why root must not decide with the policy file or the facts
// tree given: another user could change them. (Whether they could vanish is
// install's and status's concern; the hook reads them as they are now.)
func Untrusted(policyFile, root string) error {
	if policyFile != "" {
		abs, err := filepath.Abs(policyFile)
		if err == nil {
			err = rootexec.Trusted(abs, "every VM start is judged by")
		}
		if err != nil {
			return fmt.Errorf("the policy: %w", err)
		}
	}
	if root != "/" {
		abs, err := filepath.Abs(root)
		if err == nil {
			err = rootexec.TrustedTree(abs, "every VM start is judged by")
		}
		if err != nil {
			return fmt.Errorf("the facts tree: %w", err)
		}
	}
	return nil
}
