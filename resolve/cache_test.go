package resolve

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/kmodscope/kmodscope/compression"
	"github.com/kmodscope/kmodscope/depmod"
)

// analyzeAll runs the analysis with or without depmod's cache, completes
// every edge and returns it with the graph of the whole tree as JSON.
func analyzeAll(t *testing.T, root, rel, version string) (*Analysis, string) {
	t.Helper()
	dir := filepath.Join(root, "lib", "modules", rel)
	a, err := Analyze(AnalyzeOptions{BaseDir: root, Release: rel, CacheVersion: version})
	if err != nil || a.Failed != nil {
		t.Fatalf("Analyze: %v %v\n%s", err, a.Failed, a.Log)
	}
	r, err := Open(dir, LoadConfig(dir, []string{"/dev/null"}, nil))
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for n := range a.Paths {
		names = append(names, n)
	}
	early := [2]*Graph{BuildGraph(r, a, nil, true, false), BuildGraph(r, a, nil, true, false)}
	if err := a.Complete(names, r.SymbolOwner, 0, 2); err != nil {
		t.Fatal(err)
	}
	// Recount after Complete is BuildGraph after Complete.
	for i, reduce := range []bool{false, true} {
		early[i].Recount(a, reduce)
		x, _ := json.Marshal(early[i])
		y, _ := json.Marshal(BuildGraph(r, a, nil, true, reduce))
		if string(x) != string(y) {
			t.Errorf("reduce=%v: Recount gives\n%s\nBuildGraph\n%s", reduce, x, y)
		}
	}
	doc, _ := json.Marshal(struct {
		E []*Edge
		G *Graph
		W []*Edge
	}{a.Edges, BuildGraph(r, a, nil, true, false), a.Why("top", "base")})
	return a, string(doc)
}

// TestAnalyzeCache: --why and --graph answers are the same with depmod's
// cache as without it, when it is fresh (every module's facts from the
// cache, no file read), stale (a changed module is read again, and its new
// facts count), written by another version (ignored) or absent.
func TestAnalyzeCache(t *testing.T) {
	files := unitFiles(t)
	root, rel, dir := synthTree(t, files)
	// The cache as `kmodscope depmod` writes it (its --max-size default).
	index := func() {
		var errb bytes.Buffer
		if _, err := depmod.Run(&depmod.Options{BaseDir: root, Release: rel, Cache: true, Version: "v1", MaxSize: compression.DefaultLimit, Stderr: &errb}); err != nil {
			t.Fatalf("depmod: %v\n%s", err, errb.String())
		}
	}
	index()
	cold, want := analyzeAll(t, root, rel, "")
	if cold.Modules != 7 || cold.Read != cold.Modules || cold.Cached != 0 || cold.CompleteCached != 0 || cold.CompleteRead == 0 {
		t.Fatalf("without the cache: read %d+%d, cached %d+%d", cold.Read, cold.CompleteRead, cold.Cached, cold.CompleteCached)
	}
	if !strings.Contains(want, `{"from":"mid","to":"base","symbols":["base_fn","shared_fn"]}`) {
		t.Fatalf("unexpected analysis: %s", want)
	}
	warm, got := analyzeAll(t, root, rel, "v1")
	if got != want {
		t.Errorf("with the cache:\n%s\nwithout:\n%s", got, want)
	}
	if warm.Read != 0 || warm.Cached != cold.Modules || warm.CompleteRead != 0 || warm.CompleteCached != cold.CompleteRead {
		t.Errorf("fresh cache: read %d+%d, cached %d+%d", warm.Read, warm.CompleteRead, warm.Cached, warm.CompleteCached)
	}
	other, got := analyzeAll(t, root, rel, "v2")
	if got != want || other.Cached != 0 || other.CompleteCached != 0 {
		t.Errorf("another version's cache used: cached %d+%d, same answers %v", other.Cached, other.CompleteCached, got == want)
	}

	// Stale: top now needs only base, and mid exports one more symbol;
	// the cache still describes the old files.
	time.Sleep(10 * time.Millisecond)
	write(t, filepath.Join(dir, "kernel/fs/top.ko"), synthModule("top", nil, []string{"base_fn", "shared_fn"}, "alias=pci:v1234d*", "softdep=pre: pre1 post: post1"))
	write(t, filepath.Join(dir, "kernel/fs/mid.ko"), synthModule("mid", []string{"mid_fn", "extra_fn"}, []string{"base_fn", "shared_fn"}))
	cold2, want2 := analyzeAll(t, root, rel, "")
	if want2 == want {
		t.Fatalf("the changed modules changed nothing")
	}
	stale, got := analyzeAll(t, root, rel, "v1")
	if got != want2 {
		t.Errorf("stale cache:\n%s\nwithout:\n%s", got, want2)
	}
	if stale.Read != 2 || stale.Cached != cold2.Modules-2 {
		t.Errorf("stale cache: %d modules read, %d cached; want 2 read", stale.Read, stale.Cached)
	}
	if e := stale.Edge("top", "base"); e == nil || strings.Join(e.Symbols, " ") != "base_fn shared_fn" {
		t.Errorf("top -> base after the change: %+v", e)
	}
	// Absent, then rewritten by depmod: fresh again.
	os.Remove(filepath.Join(dir, depmod.CacheName))
	if none, got := analyzeAll(t, root, rel, "v1"); got != want2 || none.Cached != 0 || none.CompleteCached != 0 {
		t.Errorf("no cache: cached %d+%d, same answers %v", none.Cached, none.CompleteCached, got == want2)
	}
	index()
	if fresh, got := analyzeAll(t, root, rel, "v1"); got != want2 || fresh.Read != 0 || fresh.CompleteRead != 0 {
		t.Errorf("rewritten cache: read %d+%d, same answers %v", fresh.Read, fresh.CompleteRead, got == want2)
	}
	os.WriteFile(filepath.Join(dir, depmod.CacheName), []byte("KMSDEPC4 truncated"), 0o644)
	if bad, got := analyzeAll(t, root, rel, "v1"); got != want2 || bad.Cached != 0 {
		t.Errorf("garbage cache: cached %d, same answers %v", bad.Cached, got == want2)
	}
}
