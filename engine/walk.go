package engine

import (
	"context"
	"fmt"
	"strings"
	"sync"
)

// UnstartedError is a walk that ended with steps it never started although none failed and
// nothing interrupted it: their dependencies can never all finish (a cycle). Reporting success
// then would claim changes that were never made.
type UnstartedError struct {
	Steps []Addr
}

func (e *UnstartedError) Error() string {
	names := make([]string, len(e.Steps))
	for i, a := range e.Steps {
		names[i] = string(a)
	}
	return fmt.Sprintf("engine: %d step(s) never started because their dependencies never finished: %s",
		len(e.Steps), strings.Join(names, ", "))
}

// acyclic checks that the dependencies among order (those outside it are ignored) form no
// cycle, so that a walk can start every step; a cycle is a Diagnostic naming every position.
func acyclic(order []Resource) error {
	g := NewGraph()
	for _, r := range order {
		g.Add(r)
	}
	if cyc := g.cycle(); cyc != nil {
		return Diagnostics{cycleDiagnostic(cyc)}
	}
	return nil
}

// walk calls fn for every resource once all its dependencies have finished successfully, with
// at most n calls in flight. After the first failure no new call starts and the calls in flight
// finish; resources that were not started are skipped. It returns every error, in the order they
// happened; a cycle is an error before any call, and a step left unstarted without a failure or
// an interruption is an *UnstartedError.
func walk(ctx context.Context, order []Resource, n int, fn func(context.Context, Resource) error) []error {
	if err := acyclic(order); err != nil {
		return []error{err}
	}
	if n < 1 {
		n = 1
	}
	index := make(map[Addr]int, len(order))
	for i, r := range order {
		index[r.Addr()] = i
	}
	waiting := make([]int, len(order))      // unfinished dependencies
	dependents := make([][]int, len(order)) // who waits on whom
	for i, r := range order {
		for _, d := range r.Deps() {
			if j, ok := index[d]; ok {
				waiting[i]++
				dependents[j] = append(dependents[j], i)
			}
		}
	}

	var (
		mu      sync.Mutex
		errs    []error
		ready   []int
		running int
		started = make([]bool, len(order))
		wake    = make(chan struct{}, 1)
	)
	for i := range order {
		if waiting[i] == 0 {
			ready = append(ready, i)
		}
	}
	signal := func() {
		select {
		case wake <- struct{}{}:
		default:
		}
	}
	var wg sync.WaitGroup
	for {
		mu.Lock()
		stop := len(errs) > 0 || ctx.Err() != nil
		for !stop && running < n && len(ready) > 0 {
			i := ready[0]
			ready = ready[1:]
			running++
			started[i] = true
			wg.Add(1)
			go func(i int) {
				defer wg.Done()
				err := fn(ctx, order[i])
				mu.Lock()
				running--
				if err != nil {
					errs = append(errs, err)
				} else {
					for _, k := range dependents[i] {
						waiting[k]--
						if waiting[k] == 0 {
							ready = append(ready, k)
						}
					}
				}
				mu.Unlock()
				signal()
			}(i)
		}
		finished := running == 0 && (stop || len(ready) == 0)
		mu.Unlock()
		if finished {
			break
		}
		<-wake
	}
	wg.Wait()
	if len(errs) == 0 && ctx.Err() != nil {
		errs = append(errs, ctx.Err())
	}
	if len(errs) == 0 {
		var unstarted []Addr
		for i, s := range started {
			if !s {
				unstarted = append(unstarted, order[i].Addr())
			}
		}
		if len(unstarted) > 0 {
			errs = append(errs, &UnstartedError{Steps: unstarted})
		}
	}
	return errs
}
