package ko_test

import (
	"debug/elf"
	"encoding/binary"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"

	"github.com/kmodscope/kmodscope/internal/kotest"
	"github.com/kmodscope/kmodscope/ko"
)

// paramModule builds a synthetic module with a __param table of three
// entries (an int, a string with maxlen 16, an array of 5 bools) laid out
// for the given class and byte order, with REL or RELA relocations as the
// machine uses.
func paramModule(t testing.TB, class elf.Class, order binary.ByteOrder, machine elf.Machine) []byte {
	b := kotest.Minimal(class, order, machine)
	w := 8
	if class == elf.ELFCLASS32 {
		w = 4
	}
	put := func(buf []byte, off int, size int, v uint64) {
		switch size {
		case 2:
			order.PutUint16(buf[off:], uint16(v))
		case 4:
			order.PutUint32(buf[off:], uint32(v))
		case 8:
			order.PutUint64(buf[off:], v)
		}
	}
	rodata := []byte("p_int\x00p_str\x00p_arr\x00")
	// kparam_string {maxlen; string*} at 24, kparam_array at 24+2w.
	strOff := 24
	arrOff := strOff + 2*w
	ro := make([]byte, arrOff+3*w+8)
	copy(ro, rodata)
	put(ro, strOff, 4, 16)
	put(ro, arrOff, 4, 5) // max
	put(ro, arrOff+4, 4, 1)
	roIdx := b.AddSection(kotest.Section{Name: ".rodata", Type: elf.SHT_PROGBITS, Flags: elf.SHF_ALLOC, Data: ro, Addralign: 8})
	data := []byte{0, 0, 0, 0, 7, 0, 0, 0}
	dataIdx := b.AddSection(kotest.Section{Name: ".data", Type: elf.SHT_PROGBITS, Flags: elf.SHF_ALLOC | elf.SHF_WRITE, Data: data, Addralign: 8})
	ent := 5 * w
	param := make([]byte, 3*ent)
	for i, perm := range []uint64{0444, 0644, 0400} {
		put(param, i*ent+3*w, 2, perm)
	}
	param[1*ent+3*w+3] = ko.ParamFlagUnsafe
	paramIdx := b.AddSection(kotest.Section{Name: "__param", Type: elf.SHT_PROGBITS, Flags: elf.SHF_ALLOC, Data: param, Addralign: uint64(w)})
	roSym := b.AddSymbol(kotest.Symbol{Type: elf.STT_SECTION, Bind: elf.STB_LOCAL, Section: roIdx})
	dataSym := b.AddSymbol(kotest.Symbol{Type: elf.STT_SECTION, Bind: elf.STB_LOCAL, Section: dataIdx})
	opsInt := b.AddSymbol(kotest.Symbol{Name: "param_ops_int", Bind: elf.STB_GLOBAL, Section: int(elf.SHN_UNDEF)})
	opsStr := b.AddSymbol(kotest.Symbol{Name: "param_ops_string", Bind: elf.STB_GLOBAL, Section: int(elf.SHN_UNDEF)})
	opsArr := b.AddSymbol(kotest.Symbol{Name: "param_array_ops", Bind: elf.STB_GLOBAL, Section: int(elf.SHN_UNDEF)})
	opsBool := b.AddSymbol(kotest.Symbol{Name: "param_ops_bool", Bind: elf.STB_GLOBAL, Section: int(elf.SHN_UNDEF)})
	typ, rela, ok := kotest.AbsReloc(class, machine)
	if !ok {
		t.Fatalf("no absolute relocation for %v", machine)
	}
	type rl struct {
		off    int
		sym    int
		addend int64
	}
	pr := []rl{
		{0, roSym, 0}, {2 * w, opsInt, 0}, {4 * w, dataSym, 4},
		{ent, roSym, 6}, {ent + 2*w, opsStr, 0}, {ent + 4*w, roSym, int64(strOff)},
		{2 * ent, roSym, 12}, {2*ent + 2*w, opsArr, 0}, {2*ent + 4*w, roSym, int64(arrOff)},
	}
	ar := []rl{{arrOff + 8 + w, opsBool, 0}}
	emit := func(target int, sec []byte, rs []rl) {
		var out []kotest.Rela
		for _, r := range rs {
			out = append(out, kotest.Rela{Offset: uint64(r.off), Sym: uint32(r.sym), Type: typ, Addend: r.addend})
			if !rela {
				put(sec, r.off, w, uint64(r.addend))
			}
		}
		if rela {
			b.AddRela(target, out)
		} else {
			b.AddRel(target, out)
		}
	}
	emit(paramIdx, param, pr)
	emit(roIdx, ro, ar)
	return b.Bytes()
}

func TestParamsLayouts(t *testing.T) {
	for _, tc := range []struct {
		class   elf.Class
		order   binary.ByteOrder
		machine elf.Machine
	}{
		{elf.ELFCLASS64, binary.LittleEndian, elf.EM_X86_64},
		{elf.ELFCLASS64, binary.BigEndian, elf.EM_S390},
		{elf.ELFCLASS32, binary.LittleEndian, elf.EM_386},
		{elf.ELFCLASS32, binary.BigEndian, elf.EM_PPC},
		{elf.ELFCLASS32, binary.LittleEndian, elf.EM_ARM},
	} {
		t.Run(tc.machine.String(), func(t *testing.T) {
			m, err := ko.New(paramModule(t, tc.class, tc.order, tc.machine))
			if err != nil {
				t.Fatal(err)
			}
			ps, err := m.Params()
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, p := range ps {
				got = append(got, p.Name+":"+p.Type())
			}
			if strings.Join(got, " ") != "p_int:int p_str:string p_arr:array of bool" {
				t.Fatalf("params %q", got)
			}
			if ps[0].Perm != 0444 || ps[1].Perm != 0644 || ps[1].Flags != ko.ParamFlagUnsafe {
				t.Errorf("perm/flags %+v", ps)
			}
			if len(ps[0].Initial) == 0 || ps[0].Initial[0] != 7 {
				t.Errorf("initial value %v, want 7...", ps[0].Initial)
			}
			if ps[1].MaxLen != 16 {
				t.Errorf("maxlen %d", ps[1].MaxLen)
			}
			if a := ps[2].Array; a == nil || a.Max != 5 || a.ElemSize != 1 || a.Ops != "param_ops_bool" || a.HasNum {
				t.Errorf("array %+v", a)
			}
		})
	}
}

func TestParamsMalformed(t *testing.T) {
	img := paramModule(t, elf.ELFCLASS64, binary.LittleEndian, elf.EM_X86_64)
	m, _ := ko.New(img)
	sec := m.ELF.Section("__param")
	// A size that is not a whole number of entries.
	bad := append([]byte(nil), img...)
	binary.LittleEndian.PutUint64(bad[sec.HdrOff+32:], sec.Size-1)
	if m2, err := ko.New(bad); err == nil {
		if _, err := m2.Params(); err == nil || !strings.Contains(err.Error(), "not a multiple") {
			t.Errorf("odd size: %v", err)
		}
	}
	// No __param at all.
	b := kotest.Minimal(elf.ELFCLASS64, binary.LittleEndian, elf.EM_X86_64)
	plain := b.Bytes()
	m3, err := ko.New(plain)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := m3.Params(); !errors.Is(err, ko.ErrNoParams) {
		t.Errorf("no __param: %v", err)
	}
}

// TestParamsMatchModinfo reads every module's parameter table and
// compares it with the parmtype= entries of the module's .modinfo as the
// real modinfo(8) prints them (modinfo -F parmtype): same parameters and,
// for the kernel's own ops, the same type.
func TestParamsMatchModinfo(t *testing.T) {
	modinfo, err := exec.LookPath("modinfo")
	if err != nil {
		if os.Getenv("KMODSCOPE_REQUIRE_TREES") == "1" {
			t.Fatal("modinfo (kmod) not installed")
		}
		t.Skip("modinfo not installed")
	}
	files, _ := filepath.Glob("../testdata/modules/amd64/*.ko")
	more, _ := filepath.Glob("../testdata/modules/amd64/built/*.ko")
	files = append(files, more...)
	if !testing.Short() {
		tree, _ := filepath.Glob("/var/cache/kmodscope/deb-6.1-amd64/lib/modules/*/kernel/drivers/*/*.ko")
		files = append(files, tree...)
	}
	re := regexp.MustCompile(`^([^:]+):(.*)$`)
	compared := 0
	for _, f := range files {
		out, err := exec.Command(modinfo, "-F", "parmtype", f).Output()
		if err != nil {
			t.Fatalf("modinfo %s: %v", f, err)
		}
		want := map[string]string{}
		for _, l := range strings.Split(strings.TrimSpace(string(out)), "\n") {
			if mm := re.FindStringSubmatch(l); mm != nil {
				want[mm[1]] = mm[2]
			}
		}
		m, err := ko.Open(f, nil)
		if err != nil {
			t.Fatal(err)
		}
		ps, err := m.Params()
		m.Close()
		if errors.Is(err, ko.ErrNoParams) {
			ps = nil
		} else if err != nil {
			t.Errorf("%s: %v", f, err)
			continue
		}
		var names []string
		for _, p := range ps {
			names = append(names, p.Name)
			typ, ok := want[p.Name]
			if !ok {
				// module_param_cb without MODULE_PARM_DESC type: no parmtype.
				if !p.OpsLocal && ko.OpsType(p.Ops) != "" && p.Ops != "param_ops_string" {
					t.Errorf("%s: %s (%s) has no parmtype", f, p.Name, p.Type())
				}
				continue
			}
			compared++
			if p.OpsLocal {
				continue // the declared type of a custom setter is free text
			}
			got := p.Type()
			if typ == "string" && got == "string" || got == typ || p.Array != nil && typ == "array of "+ko.OpsType(p.Array.Ops) {
				continue
			}
			t.Errorf("%s: %s is %q by __param, parmtype %q", f, p.Name, got, typ)
		}
		for n := range want {
			if !contains(names, n) {
				t.Errorf("%s: parmtype %s has no __param entry", f, n)
			}
		}
	}
	sort.Strings(files)
	t.Logf("%d modules, %d parameters compared with modinfo -F parmtype", len(files), compared)
	if compared < 20 {
		t.Errorf("only %d parameters compared", compared)
	}
}

func contains(s []string, x string) bool {
	for _, v := range s {
		if v == x {
			return true
		}
	}
	return false
}

func FuzzParams(f *testing.F) {
	for _, p := range []string{"../testdata/modules/amd64/built/kmsparam.ko", "../testdata/modules/amd64/loop.ko"} {
		if data, err := os.ReadFile(p); err == nil {
			f.Add(data)
		}
	}
	f.Add(paramModule(f, elf.ELFCLASS32, binary.BigEndian, elf.EM_PPC))
	f.Fuzz(func(t *testing.T, data []byte) {
		m, err := ko.NewBytes(data, &ko.Options{MaxSize: 4 << 20})
		if err != nil {
			return
		}
		ps, err := m.Params()
		if err != nil {
			return
		}
		sec := m.ELF.Section("__param")
		if uint64(len(ps))*uint64(5*m.ELF.WordSize()) != sec.Size {
			t.Fatalf("%d params from a %d-byte __param", len(ps), sec.Size)
		}
		for _, p := range ps {
			_ = p.Type()
		}
	})
}
