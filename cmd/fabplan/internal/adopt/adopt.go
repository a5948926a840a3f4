// Package adopt implements `fabplan adopt PLAN`: record the existing objects a plan declares as
// fabplan's own, so that prune and rollback act on an estate fabplan did not create.
package adopt

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/spf13/cobra"

	"github.com/fabplan/fabplan/builtins"
	"github.com/fabplan/fabplan/cmd/fabplan/internal/cli"
	"github.com/fabplan/fabplan/cmd/fabplan/internal/run"
	"github.com/fabplan/fabplan/engine"
	"github.com/fabplan/fabplan/engine/journal"
)

// Options are the flags of `fabplan adopt`.
type Options struct {
	F           *cli.Factory
	PlanFile    string
	Input       cli.PlanInput
	Parallelism int
	Yes         bool
}

// NewCmd builds the command.
func NewCmd(f *cli.Factory) *cobra.Command {
	opts := &Options{F: f}
	cmd := &cobra.Command{
		Use:   "adopt PLAN",
		Short: "Record existing objects the plan declares as managed by fabplan",
		Long: `Reads live state for the plan and records each object the plan declares that already exists
(made in the portal, by fabric-cicd or by another tool) as fabplan's own, in a journal of the state like
the runs that create objects. From then on prune deletes such an item when the plan stops declaring it
(with prune = True on its workspace), and rollback undoes that delete, exactly as for objects fabplan
created. Nothing in Fabric changes; lookups (fabric.lookup.*), capacities and principals are reads and
are never adopted.

It shows what it will adopt, what fabplan already manages and what does not exist (and so cannot be
adopted: fabplan run creates it), then asks for confirmation unless --yes is given; in CI (no terminal)
--yes is required. Adopting again adopts nothing new.

Exit codes: 0 adopted (or nothing to adopt), 1 error, 2 bad arguments, a plan that does not evaluate, or
no confirmation.`,
		Example: `  fabplan adopt plans/sales/estate.star --env prod
  fabplan adopt --emulator --yes plans/demo.star`,
		Args: cobra.ArbitraryArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) != 1 {
				return cli.Usagef(fmt.Errorf("adopt takes one plan file, got %d arguments", len(args)))
			}
			if opts.Parallelism < 1 {
				return cli.Usagef(fmt.Errorf("--parallelism must be at least 1"))
			}
			opts.PlanFile = args[0]
			return Run(cmd.Context(), opts)
		},
	}
	f.BindConnectionFlags(cmd.Flags())
	f.BindStateFlags(cmd.Flags())
	f.BindLockFlags(cmd.Flags())
	opts.Input.Bind(cmd.Flags())
	cmd.Flags().IntVar(&opts.Parallelism, "parallelism", engine.DefaultParallelism,
		"at most how many reads are in flight at once (the throttle paces requests below this cap)")
	cmd.Flags().BoolVarP(&opts.Yes, "yes", "y", false, "do not ask for confirmation")
	return cmd
}

// Sorting is what adopt found for the plan's resources.
type Sorting struct {
	Adopt   []engine.Change // exist, not yet fabplan's
	Owned   []engine.Change // already fabplan's
	Missing []engine.Change // do not exist
}

// Sort sorts a refreshed plan's changes: reads (lookups) and prune deletes are none of
// adopt's business.
func Sort(p *engine.Plan, owned map[string]bool) Sorting {
	var s Sorting
	for _, c := range p.Changes {
		switch {
		case c.Action == engine.Read || c.Action == engine.Delete:
		case c.ID == "":
			s.Missing = append(s.Missing, c)
		case owned[c.ID]:
			s.Owned = append(s.Owned, c)
		default:
			s.Adopt = append(s.Adopt, c)
		}
	}
	return s
}

// Run carries out `fabplan adopt`.
func Run(ctx context.Context, opts *Options) error {
	f := opts.F
	f.UsePlan(opts.PlanFile)
	eo, err := opts.Input.EvalOptions(opts.PlanFile, os.Environ())
	if err != nil {
		return err
	}
	if err := f.Lookups(&eo); err != nil {
		return err
	}
	g, err := builtins.Evaluate(ctx, eo)
	if err != nil {
		return err
	}
	client, err := f.Client()
	if err != nil {
		return err
	}
	defer f.Close()
	target, err := f.Target(ctx, client)
	if err != nil {
		return err
	}
	store, err := f.Store()
	if err != nil {
		return err
	}
	// The estate's lock keeps a run from creating, and so owning, what adopt is about to record.
	runID := run.NewRunID(time.Now())
	ctx, unlock, err := f.LockEstate(ctx, cli.EstateKey(opts.PlanFile, eo.Env, target), runID, target)
	if err != nil {
		return err
	}
	defer unlock()
	rt, err := f.Runtime(ctx, client)
	if err != nil {
		return err
	}
	p, err := engine.Refresh(ctx, g, rt, opts.Parallelism)
	if err != nil {
		return err
	}
	s := Sort(p, rt.Owned)
	show(f.IO.Out, s)
	if len(s.Adopt) == 0 {
		fmt.Fprintf(f.IO.Out, "Nothing to adopt: %d already managed by fabplan, %d do not exist.\n", len(s.Owned), len(s.Missing))
		return nil
	}
	if err := f.Confirm(fmt.Sprintf("Adopt %d %s?", len(s.Adopt), objects(len(s.Adopt))),
		fmt.Sprintf("adopting %d %s needs confirmation", len(s.Adopt), objects(len(s.Adopt))), opts.Yes); err != nil {
		return err
	}
	j, err := journal.Start(ctx, store, runID, run.BeginRecord(ctx, opts.PlanFile, f.Version, eo, g, target))
	if err != nil {
		return err
	}
	defer j.Close()
	var errs []error
	for _, c := range s.Adopt {
		errs = append(errs, j.Append(journal.Record{Type: journal.Done, Step: string(c.Addr), Action: journal.ActionAdopt,
			Pos: c.Pos.String(), ID: c.ID}))
	}
	errs = append(errs, j.Append(journal.Record{Type: journal.Commit}))
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("adopt %s (journal %s): %w", runID, j.Path(), err)
	}
	fmt.Fprintf(f.IO.ErrOut, "adopt %s: journal %s\n", runID, j.Path())
	fmt.Fprintf(f.IO.Out, "Adopted %d %s.\n", len(s.Adopt), objects(len(s.Adopt)))
	return nil
}

func objects(n int) string {
	if n == 1 {
		return "object"
	}
	return "objects"
}

// show lists what adopt found.
func show(w io.Writer, s Sorting) {
	if len(s.Adopt) > 0 {
		fmt.Fprintln(w, "Adopt (exists; recorded as managed by fabplan, so that prune and rollback act on it):")
		for _, c := range s.Adopt {
			note := ""
			if c.Action.Mutates() {
				note = fmt.Sprintf(" # differs from the plan: fabplan run will %s it", c.Action)
			}
			fmt.Fprintf(w, "  + %s (%s %s, %s)%s\n", c.Addr, c.Kind, c.ID, c.Pos, note)
		}
	}
	if len(s.Owned) > 0 {
		fmt.Fprintln(w, "Already managed by fabplan:")
		for _, c := range s.Owned {
			fmt.Fprintf(w, "    %s\n", c.Addr)
		}
	}
	if len(s.Missing) > 0 {
		fmt.Fprintln(w, "Not adopted (does not exist; fabplan run creates it):")
		for _, c := range s.Missing {
			fmt.Fprintf(w, "    %s\n", c.Addr)
		}
	}
}
