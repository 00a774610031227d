package kostrip

import (
	"fmt"
	"reflect"

	"github.com/kmodscope/kmodscope/ko"
)

// Verify checks that after, a stripped copy of before, still means the same
// to the kernel and to kmod: the same .modinfo, __versions (and extended
// modversions), exports (as kmod lists them and as the export tables say),
// struct module descriptor and, for StripDebug, the same imports; for
// StripUnneeded the imports may only lose undefined symbols no relocation
// used. Strip calls it on every result.
func Verify(before, after []byte, mode Mode) error {
	a, err := ko.New(before)
	if err != nil {
		return err
	}
	b, err := ko.New(after)
	if err != nil {
		return fmt.Errorf("the stripped image does not read as a module: %w", err)
	}
	type view struct {
		what string
		get  func(m *ko.Module) (any, error)
	}
	views := []view{
		{".modinfo", func(m *ko.Module) (any, error) { return m.Modinfo() }},
		{"__versions", func(m *ko.Module) (any, error) { return m.Versions() }},
		{"the exports kmod lists", func(m *ko.Module) (any, error) { return m.KmodExports() }},
		{"the export tables", func(m *ko.Module) (any, error) { return m.Exports() }},
		{".gnu.linkonce.this_module", func(m *ko.Module) (any, error) {
			tm, err := m.ThisModule()
			if err == nil && mode != StripDebug {
				// Init and Exit name a local alias of init_module when
				// there is one; --strip-unneeded may remove the alias.
				tm.Init, tm.Exit = "", ""
			}
			return tm, err
		}},
		{"the build ID", func(m *ko.Module) (any, error) { return m.BuildID() }},
	}
	if mode == StripDebug {
		views = append(views, view{"the imported symbols", func(m *ko.Module) (any, error) { return m.Imports() }})
	}
	for _, v := range views {
		x, errA := v.get(a)
		y, errB := v.get(b)
		if (errA == nil) != (errB == nil) || (errA != nil && errA.Error() != errB.Error()) {
			return fmt.Errorf("internal error: stripping changed %s (before: %v, after: %v)", v.what, errA, errB)
		}
		if errA == nil && !reflect.DeepEqual(x, y) {
			return fmt.Errorf("internal error: stripping changed %s", v.what)
		}
	}
	if mode != StripDebug {
		ia, errA := a.Imports()
		ib, errB := b.Imports()
		if errA == nil {
			if errB != nil {
				return fmt.Errorf("internal error: stripping broke the imported symbols: %w", errB)
			}
			type key struct {
				name   string
				crc    uint64
				hasCRC bool
			}
			have := map[key]bool{}
			for _, im := range ia {
				have[key{im.Name, im.CRC, im.HasCRC}] = true
			}
			for _, im := range ib {
				if !have[key{im.Name, im.CRC, im.HasCRC}] {
					return fmt.Errorf("internal error: stripping changed the import of %s", im.Name)
				}
			}
		}
	}
	return nil
}
