package kimage

import (
	"bytes"
	"debug/elf"
	"encoding/binary"
	"errors"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/kmodscope/kmodscope/internal/kotest"
)

type fakeExport struct {
	name, ns string
	gpl      bool
	crc      uint32
	nullNS   bool // namespace_offset 0, as assembler exports have
}

var fakeExports = []fakeExport{
	{name: "phys_base", crc: 0x4c9d28b0},
	{name: "init_uts_ns", gpl: true, crc: 0x039823de},
	{name: "copy_user_generic", crc: 0x11111111, nullNS: true},
	{name: "usb_stor_probe1", ns: "USB_STORAGE", gpl: true, crc: 0xdeadbeef},
	{name: "Zeta", crc: 0x22222222},
	{name: "alpha", crc: 0x33333333},
	{name: "beta", gpl: true, crc: 0x44444444},
	{name: "_underscore", crc: 0x55555555},
	{name: "gamma", gpl: true, crc: 0x66666666},
	{name: "delta", ns: "CXL", crc: 0x77777777},
	{name: "epsilon", crc: 0x88888888},
	{name: "zeta2", gpl: true, crc: 0x99999999},
	{name: "eta", gpl: true, crc: 0xaaaaaaaa},
	{name: "theta", crc: 0xbbbbbbbb},
}

// fakeTables lays out the export tables the way vmlinux.lds.h does, after
// head bytes of pseudo-random "code", and returns the image with the
// offset and size of each section.
func fakeTables(exps []fakeExport, withCRC bool, head int) ([]byte, map[string][2]int) {
	seed := uint32(12345)
	rnd := func(n int) []byte {
		b := make([]byte, n)
		for i := range b {
			seed = seed*1103515245 + 12345
			b[i] = byte(seed >> 16)
		}
		return b
	}
	data := rnd(head)
	var plain, gpl []int
	for i, e := range exps {
		if e.gpl {
			gpl = append(gpl, i)
		} else {
			plain = append(plain, i)
		}
	}
	byName := func(ix []int) { sort.Slice(ix, func(a, b int) bool { return exps[ix[a]].name < exps[ix[b]].name }) }
	byName(plain)
	byName(gpl)
	ksym := len(data)
	nEnt := len(exps)
	crcOff := ksym + 12*nEnt
	strOff := crcOff
	if withCRC {
		strOff += 4 * nEnt
	}
	// Strings in input (link) order: name, then namespace.
	var strs []byte
	nameAt, nsAt := map[int]int{}, map[int]int{}
	for i, e := range exps {
		nameAt[i] = strOff + len(strs)
		strs = append(append(strs, e.name...), 0)
		nsAt[i] = strOff + len(strs)
		strs = append(append(strs, e.ns...), 0)
	}
	data = append(data, make([]byte, strOff-ksym)...)
	le := binary.LittleEndian
	for slot, i := range append(append([]int{}, plain...), gpl...) {
		p := ksym + 12*slot
		le.PutUint32(data[p:], uint32(int32(0x100+16*i-p)))
		le.PutUint32(data[p+4:], uint32(int32(nameAt[i]-(p+4))))
		if !exps[i].nullNS {
			le.PutUint32(data[p+8:], uint32(int32(nsAt[i]-(p+8))))
		}
		if withCRC {
			le.PutUint32(data[crcOff+4*slot:], exps[i].crc)
		}
	}
	data = append(data, strs...)
	data = append(data, rnd(0x300)...)
	secs := map[string][2]int{
		"__ksymtab":         {ksym, 12 * len(plain)},
		"__ksymtab_gpl":     {ksym + 12*len(plain), 12 * len(gpl)},
		"__ksymtab_strings": {strOff, len(strs)},
	}
	if withCRC {
		secs["__kcrctab"] = [2]int{crcOff, 4 * len(plain)}
		secs["__kcrctab_gpl"] = [2]int{crcOff + 4*len(plain), 4 * len(gpl)}
	}
	return data, secs
}

// fakeVmlinux wraps the tables in an ELF vmlinux whose sections sit at
// kernel addresses.
func fakeVmlinux(t testing.TB, data []byte, secs map[string][2]int) []byte {
	b := kotest.New(elf.ELFCLASS64, binary.LittleEndian, elf.EM_X86_64)
	const base = 0xffffffff81000000
	b.AddSection(kotest.Section{Name: ".text", Type: elf.SHT_PROGBITS, Flags: elf.SHF_ALLOC | elf.SHF_EXECINSTR, Addr: base, Data: data[:0x200], Addralign: 16})
	for _, n := range []string{"__ksymtab", "__ksymtab_gpl", "__kcrctab", "__kcrctab_gpl", "__ksymtab_strings"} {
		s, ok := secs[n]
		if !ok {
			continue
		}
		b.AddSection(kotest.Section{Name: n, Type: elf.SHT_PROGBITS, Flags: elf.SHF_ALLOC, Addr: base + uint64(s[0]), Data: data[s[0] : s[0]+s[1]], Addralign: 1})
	}
	return b.Bytes()
}

func checkFake(t *testing.T, kt *Ksymtab, exps []fakeExport, withCRC bool) {
	t.Helper()
	if len(kt.Symbols) != len(exps) {
		t.Fatalf("%d symbols, want %d", len(kt.Symbols), len(exps))
	}
	got := map[string]KSym{}
	for i, s := range kt.Symbols {
		got[s.Name] = s
		if i > 0 && kt.Symbols[i-1].GPLOnly == s.GPLOnly && kt.Symbols[i-1].Name >= s.Name {
			t.Errorf("table order: %s after %s", s.Name, kt.Symbols[i-1].Name)
		}
	}
	prev := int64(-1)
	for _, e := range exps {
		s, ok := got[e.name]
		if !ok {
			t.Fatalf("%s missing", e.name)
		}
		if s.GPLOnly != e.gpl || s.Namespace != e.ns || s.HasCRC != withCRC || (withCRC && s.CRC != e.crc) {
			t.Errorf("%s = %+v, want %+v (crc %v)", e.name, s, e, withCRC)
		}
		if s.NameOffset <= prev {
			t.Errorf("%s: name offset %d not after %d: link order lost", e.name, s.NameOffset, prev)
		}
		prev = s.NameOffset
	}
}

func TestKsymtabSynthetic(t *testing.T) {
	for _, withCRC := range []bool{true, false} {
		for _, head := range []int{0x1000, 0x1004, 0x2008} {
			data, secs := fakeTables(fakeExports, withCRC, head)
			raw, err := ReadKsymtab(fakeARM64(data))
			if err != nil {
				t.Fatalf("scan (crc %v, head %#x): %v", withCRC, head, err)
			}
			if raw.Method != "scan" {
				t.Errorf("method %q", raw.Method)
			}
			checkFake(t, raw, fakeExports, withCRC)
			e, err := ReadKsymtab(fakeVmlinux(t, data, secs))
			if err != nil {
				t.Fatalf("ELF (crc %v): %v", withCRC, err)
			}
			if e.Method != "ELF sections" {
				t.Errorf("method %q", e.Method)
			}
			checkFake(t, e, fakeExports, withCRC)
		}
	}
}

func TestKsymtabSharedName(t *testing.T) {
	exps := []fakeExport{{name: "kvm_gfn_to_hva", crc: 1}, {name: "aaa", crc: 2}, {name: "bbb", crc: 3}, {name: "ccc", crc: 4}, {name: "ddd", crc: 5}}
	// "ccc" becomes "hva", then its entry is pointed into the tail of
	// "kvm_gfn_to_hva", as the linker does when it merges a suffix.
	exps[3].name = "hva"
	data2, _ := fakeTables(exps, true, 0x1000)
	kt, err := ReadKsymtab(fakeARM64(data2))
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range kt.Symbols {
		if s.NameShared {
			t.Errorf("%s reported shared in a table without merged strings", s.Name)
		}
		if s.HolderOffset != s.NameOffset {
			t.Errorf("%s: holder %d != name %d", s.Name, s.HolderOffset, s.NameOffset)
		}
	}
	// Now rewrite the entry of "hva" to point into "kvm_gfn_to_hva".
	var hvaEnt, kvmName int64 = -1, -1
	for p := 0x1000; p < 0x1000+12*len(exps); p += 12 {
		tgt := int64(p+4) + int64(int32(binary.LittleEndian.Uint32(data2[p+4:])))
		switch cstr(data2, tgt) {
		case "hva":
			hvaEnt = int64(p)
		case "kvm_gfn_to_hva":
			kvmName = tgt
		}
	}
	if hvaEnt < 0 || kvmName < 0 {
		t.Fatal("fixture broken")
	}
	binary.LittleEndian.PutUint32(data2[hvaEnt+4:], uint32(int32(kvmName+11-(hvaEnt+4))))
	kt, err = ReadKsymtab(fakeARM64(data2))
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, s := range kt.Symbols {
		if s.Name == "hva" {
			n++
			if !s.NameShared || s.HolderOffset >= s.NameOffset {
				t.Errorf("hva: %+v, want shared with the holder before it", s)
			}
		}
	}
	if n != 1 {
		t.Fatalf("hva found %d times", n)
	}
}

func TestKsymtabBadInput(t *testing.T) {
	data, secs := fakeTables(fakeExports, true, 0x1000)
	vml := fakeVmlinux(t, data, secs)
	cases := map[string][]byte{
		"empty":      nil,
		"garbage":    bytes.Repeat([]byte{0xa5, 0x17, 0x00, 0x42}, 4096),
		"elf header": vml[:64],
		"truncated":  vml[:len(vml)/2],
		"no strings": func() []byte {
			s := map[string][2]int{}
			for k, v := range secs {
				if k != "__ksymtab_strings" {
					s[k] = v
				}
			}
			return fakeVmlinux(t, data, s)
		}(),
	}
	// A raw image whose string table does not follow the CRC table is
	// refused rather than misread.
	moved := append(bytes.Clone(data[:secs["__kcrctab"][0]]), make([]byte, 64)...)
	cases["tables not adjacent"] = append(moved, data[secs["__kcrctab"][0]:]...)
	for name, c := range cases {
		kt, err := ReadKsymtab(c)
		if err == nil {
			t.Errorf("%s: no error, %d symbols", name, len(kt.Symbols))
			continue
		}
		if name == "garbage" || name == "empty" {
			if !errors.Is(err, ErrNoKsymtab) {
				t.Errorf("%s: %v is not ErrNoKsymtab", name, err)
			}
		}
		if !strings.HasPrefix(err.Error(), "ksymtab: ") {
			t.Errorf("%s: error %q does not say where", name, err)
		}
	}
}

// TestKsymtabRealScan reads each real x86 image both ways: through its
// section headers and by the raw scan used for arm64, which must agree
// symbol for symbol. (The exports themselves are checked against the
// kernel's Module.symvers in conformance/kabi_test.go.)
func TestKsymtabRealScan(t *testing.T) {
	if testing.Short() {
		t.Skip("-short")
	}
	found := 0
	for _, tree := range realTrees {
		imgs, _ := filepath.Glob(tree + "/boot/vmlinuz-*")
		for _, p := range imgs {
			if !strings.HasSuffix(p, "amd64") {
				continue
			}
			found++
			k, err := OpenKernel(p, nil)
			if err != nil {
				t.Fatal(err)
			}
			e, err := k.Ksymtab()
			if err != nil {
				t.Fatalf("%s: %v", p, err)
			}
			s, err := scanKsymtab(k.Data, binary.LittleEndian)
			if err != nil {
				t.Fatalf("%s: scan: %v", p, err)
			}
			if e.Method != "ELF sections" || len(e.Symbols) < 5000 || len(e.Symbols) != len(s.Symbols) {
				t.Fatalf("%s: %s %d symbols, scan %d", p, e.Method, len(e.Symbols), len(s.Symbols))
			}
			for i := range e.Symbols {
				a, b := e.Symbols[i], s.Symbols[i]
				if a.Name != b.Name || a.CRC != b.CRC || a.GPLOnly != b.GPLOnly || a.Namespace != b.Namespace || a.NameOffset != b.NameOffset || a.NameShared != b.NameShared {
					t.Fatalf("%s entry %d: ELF %+v, scan %+v", p, i, a, b)
				}
			}
			t.Logf("%s: %d exports, ELF sections and scan agree", p, len(e.Symbols))
		}
	}
	if found == 0 {
		if os.Getenv("KMODSCOPE_REQUIRE_TREES") == "1" {
			t.Fatal("no amd64 kernel image found")
		}
		t.Skip("no amd64 kernel image")
	}
}

func FuzzReadKsymtab(f *testing.F) {
	for _, crc := range []bool{true, false} {
		data, secs := fakeTables(fakeExports, crc, 0x100)
		f.Add(fakeARM64(data))
		f.Add(fakeVmlinux(f, data, secs))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		kt, err := ReadKsymtab(data)
		if err != nil {
			if kt != nil {
				t.Fatal("table with error")
			}
			return
		}
		if len(kt.Symbols)*12 > len(data) {
			t.Fatalf("%d symbols from %d bytes", len(kt.Symbols), len(data))
		}
		for _, s := range kt.Symbols {
			if s.Name == "" || s.NameOffset < 0 || s.HolderOffset > s.NameOffset {
				t.Fatalf("bad symbol %+v", s)
			}
		}
	})
}
