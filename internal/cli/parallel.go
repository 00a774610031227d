package cli

import (
	"fmt"
	"runtime"
	"strings"
	"sync"
)

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
	for i := 0; i < n; i++ {
		<-ready[i]
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
