package conformance_test

import (
	"encoding/json"
	"reflect"
	"testing"
)

// TestKabiDiffExplain: `kabi diff --explain` on the pair of real 6.1 ABIs
// with the most CRC changes gives every crc_changed symbol an explanation
// (candidate causes or a note), and for vmlinux exports exactly what the
// standalone `kabi explain -E OLD -E NEW` says (one engine, two commands).
func TestKabiDiffExplain(t *testing.T) {
	if testing.Short() {
		t.Skip("decompresses four kernel images; skipped with -short")
	}
	trees := abiTrees(t)
	best, bestN := 0, -1
	for i := 0; i+1 < len(trees); i++ {
		a, b := readSymvers(t, trees[i].symvers), readSymvers(t, trees[i+1].symvers)
		n := 0
		for k, v := range a {
			if w, ok := b[k]; ok && w.crc != v.crc {
				n++
			}
		}
		if n > bestN {
			best, bestN = i, n
		}
	}
	o, n := trees[best], trees[best+1]
	out, code := runCLI(t, "kabi", "diff", "--explain", "--json", "-k", o.release, "-k", n.release, o.dir, n.dir)
	if code != 0 && code != 3 {
		t.Fatalf("kabi diff --explain: exit %d", code)
	}
	type expl struct {
		Certainty string            `json:"certainty"`
		Causes    []json.RawMessage `json:"causes"`
		Note      string            `json:"note"`
	}
	var diff struct {
		Certainty string `json:"certainty"`
		Symbols   []struct {
			Name    string   `json:"name"`
			Changes []string `json:"changes"`
			New     *struct {
				Module string `json:"module"`
			} `json:"new"`
			expl
		} `json:"symbols"`
	}
	if err := json.Unmarshal(out, &diff); err != nil {
		t.Fatal(err)
	}
	if diff.Certainty == "" {
		t.Error("no certainty caveat in the document")
	}
	crc, vm := 0, map[string]expl{}
	for _, s := range diff.Symbols {
		changed := false
		for _, c := range s.Changes {
			changed = changed || c == "crc_changed"
		}
		if !changed {
			if s.Certainty != "" {
				t.Errorf("%s: explained although its CRC did not change", s.Name)
			}
			continue
		}
		crc++
		if s.Certainty == "" || len(s.Causes) == 0 && s.Note == "" {
			t.Errorf("%s: CRC changed but no explanation: %+v", s.Name, s.expl)
		}
		if s.New != nil && s.New.Module == "vmlinux" {
			vm[s.Name] = s.expl
		}
	}
	if crc != bestN {
		t.Errorf("%d crc_changed symbols in the diff, %d by the test's own comparison of the Module.symvers", crc, bestN)
	}
	out, code = runCLI(t, "kabi", "explain", "--json", "-E", o.symvers, "-E", n.symvers, o.image, n.image)
	if code != 0 {
		t.Fatalf("kabi explain: exit %d", code)
	}
	var ex struct {
		Symbols []struct {
			Symbol string `json:"symbol"`
			Module string `json:"module"`
			expl
		} `json:"symbols"`
	}
	if err := json.Unmarshal(out, &ex); err != nil {
		t.Fatal(err)
	}
	same := 0
	for _, s := range ex.Symbols {
		d, ok := vm[s.Symbol]
		if s.Module != "vmlinux" || !ok {
			continue
		}
		if !reflect.DeepEqual(d, s.expl) {
			t.Errorf("%s: diff --explain %+v, kabi explain %+v", s.Symbol, d, s.expl)
			continue
		}
		same++
	}
	if same != len(vm) {
		t.Errorf("%d of %d vmlinux explanations compared equal", same, len(vm))
	}
	t.Logf("%s -> %s: %d CRC changes explained; %d vmlinux explanations identical to kabi explain's", o.release, n.release, crc, same)
}
