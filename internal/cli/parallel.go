package cli

import (
	"fmt"
	"os"
	"runtime"
	"strings"
	"sync"
	"time"

	"golang.org/x/term"
)

// progressFunc returns a function that shows "[done/total]" on stderr when
// stderr is a terminal, stdout is not, and the run is long (tree-wide work);
// otherwise a no-op. The line is cleared at the end.
func progressFunc(s *IO, cmd string, total int) func(done int) {
	f, ok := s.Err.(*os.File)
	if !ok || total < 100 || !term.IsTerminal(int(f.Fd())) {
		return func(int) {}
	}
	// Results going to the same terminal would mix with the counter.
	if o, ok := s.outRaw.(*os.File); !ok || term.IsTerminal(int(o.Fd())) {
		return func(int) {}
	}
	last := time.Now()
	return func(done int) {
		if done < total && time.Since(last) < 100*time.Millisecond {
			return
		}
		last = time.Now()
		s.Out.Flush()
		if done == total {
			fmt.Fprintf(f, "\r\033[K")
			return
		}
		fmt.Fprintf(f, "\rkmodscope %s: [%d/%d]", cmd, done, total)
	}
}

// jobOut collects what one unit of work prints, so that units can run in
// parallel and still print in command-line order. Segments keep the
// relative order of stdout and stderr output within the unit.
type jobOut struct {
	cmd    string
	sb     strings.Builder // pending stdout
	segs   []segment
	ok     bool
	result any
}

type segment struct {
	stderr bool
	text   string
}

// flush moves pending stdout text into a segment.
func (o *jobOut) flush() {
	if o.sb.Len() > 0 {
		o.segs = append(o.segs, segment{text: o.sb.String()})
		o.sb.Reset()
	}
}

func (o *jobOut) errorf(format string, a ...any) {
	o.flush()
	o.segs = append(o.segs, segment{stderr: true, text: fmt.Sprintf("kmodscope %s: ERROR: %s\n", o.cmd, fmt.Sprintf(format, a...))})
}

func (o *jobOut) warnf(format string, a ...any) {
	o.flush()
	o.segs = append(o.segs, segment{stderr: true, text: fmt.Sprintf("kmodscope %s: WARNING: %s\n", o.cmd, fmt.Sprintf(format, a...))})
}

// runOrdered runs work for every argument on up to GOMAXPROCS goroutines
// and hands the results to done, and their output to s, in argument order.
func runOrdered(s *IO, cmd string, args []string, work func(arg string, o *jobOut), done func(o *jobOut)) {
	n := len(args)
	workers := min(runtime.GOMAXPROCS(0), n)
	outs := make([]*jobOut, n)
	ready := make([]chan struct{}, n)
	for i := range ready {
		ready[i] = make(chan struct{})
	}
	next := make(chan int, n)
	for i := 0; i < n; i++ {
		next <- i
	}
	close(next)
	// A window bounds how far workers run ahead of the printer, and with it
	// the memory held by finished but unprinted units.
	window := make(chan struct{}, 4*workers+16)
	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				// Take the slot before the index, so every index taken
				// holds a slot and the printer's next index always progresses.
				window <- struct{}{}
				i, ok := <-next
				if !ok {
					<-window
					return
				}
				o := &jobOut{cmd: cmd}
				work(args[i], o)
				o.flush()
				outs[i] = o
				close(ready[i])
			}
		}()
	}
	progress := progressFunc(s, cmd, n)
	for i := 0; i < n; i++ {
		<-ready[i]
		progress(i + 1)
		o := outs[i]
		for _, seg := range o.segs {
			if seg.stderr {
				s.Out.Flush()
				fmt.Fprint(s.Err, seg.text)
			} else {
				s.Out.WriteString(seg.text)
			}
		}
		outs[i] = nil
		done(o)
		<-window
	}
	wg.Wait()
}
