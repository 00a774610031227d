package disasm

import (
	"encoding/hex"

	"github.com/kmodscope/kmodscope/elfx"
)

// JSONFunction is one block of the disassembly in kmodscope.disasm/v1.
type JSONFunction struct {
	Section      string            `json:"section"`
	Name         string            `json:"name"`  // symbol, "" when the block starts at a section start without one
	Label        string            `json:"label"` // objdump's heading text: "foo", "foo-0x10", ".text"
	Offset       uint64            `json:"offset"`
	Instructions []JSONInstruction `json:"instructions"`
}

// JSONInstruction is one line in kmodscope.disasm/v1.
type JSONInstruction struct {
	Offset      uint64   `json:"offset"` // within the section
	Bytes       string   `json:"bytes"`  // hex
	Mnemonic    string   `json:"mnemonic"`
	Operands    string   `json:"operands"`
	Known       bool     `json:"known"`           // false: bytes the decoder does not know
	Zeros       bool     `json:"zeros,omitempty"` // a run of zero bytes objdump elides as "..."
	Data        bool     `json:"data,omitempty"`  // bytes of an object symbol, not decoded
	Relocations []Reloc  `json:"relocations"`     // never null
	Sites       []string `json:"sites,omitempty"` // patch-site marks
}

type collector struct {
	out []JSONFunction
}

func (c *collector) Section(*elfx.Section) {}

func (c *collector) Function(fn *Function) {
	c.out = append(c.out, JSONFunction{Section: fn.Section, Name: fn.Name, Label: fn.Label, Offset: fn.Offset, Instructions: []JSONInstruction{}})
}

func (c *collector) Insn(in *Insn) {
	f := &c.out[len(c.out)-1]
	j := JSONInstruction{Offset: in.Offset, Bytes: hex.EncodeToString(in.Code), Mnemonic: in.Mnemonic, Operands: in.Operands,
		Known: in.Known || in.Zeros, Zeros: in.Zeros, Data: in.Data, Relocations: []Reloc{}}
	if len(in.Relocs) > 0 {
		j.Relocations = append(j.Relocations, in.Relocs...)
	}
	if len(in.Sites) > 0 {
		j.Sites = append([]string(nil), in.Sites...)
	}
	f.Instructions = append(f.Instructions, j)
}

// Functions returns the disassembly as data (all blocks, or those of funcs).
func (d *Disassembler) Functions(funcs []string) ([]JSONFunction, error) {
	c := &collector{out: []JSONFunction{}}
	if err := d.Walk(funcs, c); err != nil {
		return nil, err
	}
	return c.out, nil
}
