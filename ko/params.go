package ko

import (
	"debug/elf"
	"errors"
	"fmt"
	"strings"

	"github.com/kmodscope/kmodscope/elfx"
)

// Param is one entry of the module's __param section: a struct
// kernel_param (include/linux/moduleparam.h, the same in 6.1 and 6.12):
//
//	struct kernel_param {
//		const char *name;                    // 0
//		struct module *mod;                  // 1 word
//		const struct kernel_param_ops *ops;  // 2 words
//		const u16 perm;                      // 3 words
//		s8 level;                            // +2
//		u8 flags;                            // +3 (KERNEL_PARAM_FL_UNSAFE 1, _HWPARAM 2)
//		union { void *arg; const struct kparam_string *str;
//		        const struct kparam_array *arr; };   // 4 words
//	};
//
// In a .ko every pointer is 0 in the section bytes and filled in by a
// relocation, so the name, the ops and the argument are found through the
// relocations of __param (and, for arrays and strings, of the section the
// argument lies in).
type Param struct {
	Name string `json:"name"`
	// Ops is the symbol the ops pointer is relocated to when it is not
	// defined in the module ("param_ops_int", "param_array_ops", ...), or
	// "" for ops the module defines itself (OpsLocal).
	Ops      string `json:"ops"`
	OpsLocal bool   `json:"ops_local,omitempty"`
	// OpsFlags is struct kernel_param_ops.flags of module-defined ops
	// (KERNEL_PARAM_OPS_FL_NOARG = 1); OpsFlagsKnown says whether it could
	// be read.
	OpsFlags      uint32 `json:"ops_flags,omitempty"`
	OpsFlagsKnown bool   `json:"ops_flags_known,omitempty"`
	Perm          uint16 `json:"perm"`
	Level         int8   `json:"level"`
	Flags         uint8  `json:"flags"`
	// MaxLen is struct kparam_string.maxlen (param_ops_string).
	MaxLen uint32 `json:"maxlen,omitempty"`
	// Array describes struct kparam_array (param_array_ops).
	Array *ParamArray `json:"array,omitempty"`
	// Initial is the initial value of the variable the parameter sets,
	// when it lies in the module's data (the first byte for bools); nil
	// when unknown (.bss reads as zeros and is reported as such).
	Initial []byte `json:"initial,omitempty"`
	// Index is the entry's position in __param.
	Index int `json:"index"`
}

// ParamArray is struct kparam_array { unsigned int max, elemsize;
// unsigned int *num; const struct kernel_param_ops *ops; void *elem; }.
type ParamArray struct {
	Max      uint32 `json:"max"`
	ElemSize uint32 `json:"elemsize"`
	Ops      string `json:"ops"` // element ops symbol, "" when module-defined
	OpsLocal bool   `json:"ops_local,omitempty"`
	HasNum   bool   `json:"has_num"`
}

// Kernel parameter flags (struct kernel_param.flags).
const (
	ParamFlagUnsafe  = 1 << 0 // KERNEL_PARAM_FL_UNSAFE: setting it taints the kernel (U)
	ParamFlagHWParam = 1 << 1 // KERNEL_PARAM_FL_HWPARAM: refused under lockdown
)

// paramOpsTypes maps the kernel's exported ops to the type names modinfo
// uses in parmtype= (include/linux/moduleparam.h).
var paramOpsTypes = map[string]string{
	"param_ops_byte": "byte", "param_ops_short": "short", "param_ops_ushort": "ushort",
	"param_ops_int": "int", "param_ops_uint": "uint", "param_ops_long": "long",
	"param_ops_ulong": "ulong", "param_ops_ullong": "ullong", "param_ops_hexint": "hexint",
	"param_ops_charp": "charp", "param_ops_bool": "bool", "param_ops_bool_enable_only": "bool_enable_only",
	"param_ops_invbool": "invbool", "param_ops_bint": "bint", "param_ops_string": "string",
}

// OpsType returns the parameter type an ops symbol stands for ("int",
// "charp", ...), "" for other symbols.
func OpsType(sym string) string { return paramOpsTypes[sym] }

// Type describes the parameter's type: "int", "array of int", "string",
// "custom" (module-defined ops) or "ops SYMBOL" (another kernel ops).
func (p *Param) Type() string {
	if p.Array != nil {
		return "array of " + opsDesc(p.Array.Ops, p.Array.OpsLocal)
	}
	if p.Ops == "param_array_ops" {
		return "array"
	}
	return opsDesc(p.Ops, p.OpsLocal)
}

func opsDesc(sym string, local bool) string {
	if local || sym == "" {
		return "custom"
	}
	if t := paramOpsTypes[sym]; t != "" {
		return t
	}
	return "ops " + sym
}

// ErrNoParams is returned by Params for a module without __param.
var ErrNoParams = errors.New("no __param section")

// relocTarget is where a relocated pointer points: a section and offset
// for symbols the module defines, or an undefined symbol's name.
type relocTarget struct {
	sym    string // undefined (or absolute) symbol
	sec    *elfx.Section
	off    uint64
	hasSec bool
}

// relocIndex maps the relocated offsets of one section to their targets.
type relocIndex map[uint64]relocTarget

func (m *Module) relocIndex(sec *elfx.Section, syms []elfx.Symbol, cache map[int]relocIndex) (relocIndex, error) {
	if ri, ok := cache[sec.Index]; ok {
		return ri, nil
	}
	ri := relocIndex{}
	data, _ := m.ELF.SectionData(sec)
	for _, rs := range m.ELF.RelocSections(sec.Index) {
		rr, err := m.ELF.Relocs(rs)
		if err != nil {
			return nil, err
		}
		for _, r := range rr {
			if int(r.Sym) >= len(syms) || r.Sym == 0 {
				continue
			}
			s := &syms[r.Sym]
			addend := r.Addend
			if !r.HasAddend {
				// REL: the addend is the word in place.
				v, ok := m.ELF.Uint(data, r.Offset, m.ELF.WordSize())
				if !ok {
					continue
				}
				if m.ELF.WordSize() == 4 {
					addend = int64(int32(uint32(v)))
				} else {
					addend = int64(v)
				}
			}
			t := relocTarget{sym: s.Name}
			if !s.IsUndef() && s.Shndx < uint32(elf.SHN_LORESERVE) {
				if ts := m.ELF.SectionByIndex(int(s.Shndx)); ts != nil {
					t.sec, t.off, t.hasSec = ts, s.Value+uint64(addend), true
				}
			}
			ri[r.Offset] = t
		}
	}
	cache[sec.Index] = ri
	return ri, nil
}

// Params decodes the __param section (see Param). Entries whose name
// cannot be resolved are an error: the kernel would compare through that
// pointer.
func (m *Module) Params() ([]Param, error) {
	sec := m.ELF.Section("__param")
	if sec == nil {
		return nil, ErrNoParams
	}
	w := uint64(m.ELF.WordSize())
	entSize := 5 * w // 40 on 64-bit, 20 on 32-bit
	if sec.Size%entSize != 0 {
		return nil, &elfx.FormatError{Section: sec.Name, Off: int64(sec.Offset), Msg: fmt.Sprintf("size %#x is not a multiple of the %d-byte struct kernel_param", sec.Size, entSize)}
	}
	if sec.Type == elf.SHT_NOBITS {
		return nil, &elfx.FormatError{Section: sec.Name, Off: int64(sec.HdrOff), Msg: "__param has no contents (SHT_NOBITS)"}
	}
	data, err := m.ELF.SectionData(sec)
	if err != nil {
		return nil, err
	}
	syms, err := m.ELF.Symbols()
	if err != nil {
		return nil, err
	}
	cache := map[int]relocIndex{}
	ri, err := m.relocIndex(sec, syms, cache)
	if err != nil {
		return nil, err
	}
	n := sec.Size / entSize
	out := make([]Param, 0, n)
	for i := uint64(0); i < n; i++ {
		base := i * entSize
		p := Param{Index: int(i)}
		nt, ok := ri[base]
		if !ok || !nt.hasSec {
			return nil, &elfx.FormatError{Section: sec.Name, Off: int64(sec.Offset + base), Msg: fmt.Sprintf("parameter %d: name pointer has no relocation into the module", i)}
		}
		nd, _ := m.ELF.SectionData(nt.sec)
		name, ok := elfx.CString(nd, nt.off)
		if !ok {
			return nil, &elfx.FormatError{Section: sec.Name, Off: int64(sec.Offset + base), Msg: fmt.Sprintf("parameter %d: name at %s+%#x is not a NUL-terminated string", i, nt.sec.Name, nt.off)}
		}
		p.Name = string(name)
		perm, _ := m.ELF.Uint(data, base+3*w, 2)
		p.Perm = uint16(perm)
		p.Level = int8(data[base+3*w+2])
		p.Flags = data[base+3*w+3]
		if ot, ok := ri[base+2*w]; ok {
			if ot.hasSec {
				p.OpsLocal = true
				od, _ := m.ELF.SectionData(ot.sec)
				if f, ok := m.ELF.Uint(od, ot.off, 4); ok {
					p.OpsFlags, p.OpsFlagsKnown = uint32(f), true
				} else if ot.sec.Type == elf.SHT_NOBITS {
					p.OpsFlagsKnown = true
				}
			} else {
				p.Ops = ot.sym
			}
		}
		at, hasArg := ri[base+4*w]
		switch {
		case p.Ops == "param_array_ops" && hasArg && at.hasSec:
			p.Array, err = m.paramArray(at, syms, cache, w)
			if err != nil {
				return nil, fmt.Errorf("parameter %s: %w", p.Name, err)
			}
		case p.Ops == "param_ops_string" && hasArg && at.hasSec:
			ad, _ := m.ELF.SectionData(at.sec)
			if v, ok := m.ELF.Uint(ad, at.off, 4); ok {
				p.MaxLen = uint32(v)
			} else {
				return nil, &elfx.FormatError{Section: at.sec.Name, Off: int64(at.sec.Offset + at.off), Msg: fmt.Sprintf("parameter %s: struct kparam_string lies outside the section", p.Name)}
			}
		case hasArg && at.hasSec:
			if at.sec.Type == elf.SHT_NOBITS {
				p.Initial = make([]byte, 8)
			} else {
				ad, _ := m.ELF.SectionData(at.sec)
				if at.off < uint64(len(ad)) {
					end := min(at.off+8, uint64(len(ad)))
					p.Initial = append([]byte(nil), ad[at.off:end]...)
				}
			}
		}
		out = append(out, p)
	}
	return out, nil
}

func (m *Module) paramArray(at relocTarget, syms []elfx.Symbol, cache map[int]relocIndex, w uint64) (*ParamArray, error) {
	ad, _ := m.ELF.SectionData(at.sec)
	size := 3*w + 8 // max, elemsize, num, ops, elem
	if at.sec.Type == elf.SHT_NOBITS || at.off > uint64(len(ad)) || uint64(len(ad))-at.off < size {
		return nil, &elfx.FormatError{Section: at.sec.Name, Off: int64(at.sec.Offset + at.off), Msg: "struct kparam_array lies outside the section"}
	}
	a := &ParamArray{}
	v, _ := m.ELF.Uint(ad, at.off, 4)
	a.Max = uint32(v)
	v, _ = m.ELF.Uint(ad, at.off+4, 4)
	a.ElemSize = uint32(v)
	ri, err := m.relocIndex(at.sec, syms, cache)
	if err != nil {
		return nil, err
	}
	if _, ok := ri[at.off+8]; ok {
		a.HasNum = true
	}
	if ot, ok := ri[at.off+8+w]; ok {
		if ot.hasSec {
			a.OpsLocal = true
		} else {
			a.Ops = ot.sym
		}
	}
	return a, nil
}

// ParmTypes returns the parmtype= entries of .modinfo by parameter name
// ("int", "array of charp", ...), which modpost copies from the source.
func ParmTypes(kvs []KV) map[string]string {
	out := map[string]string{}
	for _, kv := range kvs {
		if kv.Key != "parmtype" {
			continue
		}
		name, typ, ok := strings.Cut(kv.Value, ":")
		if ok {
			out[name] = typ
		}
	}
	return out
}
