package disasm

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"time"

	"github.com/kmodscope/kmodscope/elfx"
)

// ErrNoObjdump reports that no objdump on PATH understands the machine.
var ErrNoObjdump = errors.New("no objdump on PATH supports this machine (install binutils-multiarch)")

// ObjdumpFor returns the path of an objdump that supports f's BFD target
// (binutils-multiarch's objdump does for every Debian architecture).
func ObjdumpFor(f *elfx.File) (string, error) {
	target := BFDTarget(f)
	for _, name := range []string{"objdump", "multiarch-objdump"} {
		p, err := exec.LookPath(name)
		if err != nil {
			continue
		}
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		out, _ := exec.CommandContext(ctx, p, "--help").Output()
		cancel()
		for _, l := range strings.Split(string(out), "\n") {
			if strings.Contains(l, "supported targets:") && strings.Contains(" "+l+" ", " "+target+" ") {
				return p, nil
			}
		}
	}
	return "", ErrNoObjdump
}

// External runs objdump -d -r on the (decompressed) image through a
// temporary file, for machines without a Go decoder, and returns its output
// with the temporary name replaced by name.
func External(f *elfx.File, name string, funcs []string) ([]byte, error) {
	tool, err := ObjdumpFor(f)
	if err != nil {
		return nil, err
	}
	img, err := f.Bytes()
	if err != nil {
		return nil, err
	}
	tmp, err := os.CreateTemp("", "kmodscope-disasm-*.ko")
	if err != nil {
		return nil, err
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(img); err != nil {
		tmp.Close()
		return nil, err
	}
	if err := tmp.Close(); err != nil {
		return nil, err
	}
	// objdump takes one --disassemble=SYM (the last wins): one run per symbol.
	runs := [][]string{{"-d", "-r", tmp.Name()}}
	if len(funcs) > 0 {
		runs = runs[:0]
		for _, fn := range funcs {
			runs = append(runs, []string{"-d", "-r", "--disassemble=" + fn, tmp.Name()})
		}
	}
	var all []byte
	for i, args := range runs {
		var out, errb bytes.Buffer
		cmd := exec.Command(tool, args...)
		cmd.Stdout, cmd.Stderr = &out, &errb
		if err := cmd.Run(); err != nil {
			return nil, fmt.Errorf("%s: %v: %s", tool, err, strings.TrimSpace(errb.String()))
		}
		b := out.Bytes()
		if i > 0 {
			// Keep the file header once.
			if j := bytes.Index(b, []byte("\nDisassembly of section ")); j >= 0 {
				b = b[j:]
			}
		}
		all = append(all, b...)
	}
	return bytes.ReplaceAll(all, []byte(tmp.Name()), []byte(name)), nil
}
