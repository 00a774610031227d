package conformance_test

// Signature conformance: every module of the complete Debian trees must
// verify against the certificate built into the tree's kernel image, the
// certificate `kmodscope certs` finds there must be the one kmod's modinfo
// names as sig_key, and tampered copies must be refused with the errno the
// kernel's mod_verify_sig() returns.

import (
	"bytes"
	"debug/elf"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"
)

const sigMagic = "~Module signature appended~\n"

// sigTree is a root-like tree with modules and the kernel image that holds
// the certificate they are signed with.
type sigTree struct {
	name, root, rel, image string
	files                  []string
}

// sigTrees lists the complete trees ($KMODSCOPE_TREES, default
// /var/cache/kmodscope/deb-*) and the shared-corpus trees that ship a
// kernel image. With KMODSCOPE_REQUIRE_TREES=1 an incomplete listed tree,
// or no tree at all, fails the test.
func sigTrees(t *testing.T) []sigTree {
	if testing.Short() {
		t.Skip("-short: complete trees skipped")
	}
	require := os.Getenv("KMODSCOPE_REQUIRE_TREES") == "1"
	var roots []string
	if env := os.Getenv("KMODSCOPE_TREES"); env != "" {
		roots = strings.Split(env, ":")
	} else {
		roots, _ = filepath.Glob("/var/cache/kmodscope/deb-*")
	}
	var out []sigTree
	for _, root := range roots {
		tr, why := loadSigTree(root, filepath.Base(root))
		if why != "" {
			if require {
				t.Fatalf("complete tree %s: %s (run scripts/fetch-debian-kernel.sh)", root, why)
			}
			t.Logf("tree %s: %s: skipped", root, why)
			continue
		}
		out = append(out, tr)
	}
	corpus := os.Getenv("KMODSCOPE_CORPUS")
	if corpus == "" {
		corpus = filepath.Join(repoRoot(t), "..", "shared", "corpus", "debian")
	}
	dirs, _ := filepath.Glob(filepath.Join(corpus, "*"))
	for _, d := range dirs {
		if tr, why := loadSigTree(d, "corpus-"+filepath.Base(d)); why == "" {
			out = append(out, tr)
		}
	}
	if len(out) == 0 {
		if require {
			t.Fatalf("KMODSCOPE_REQUIRE_TREES=1 but no complete tree found (%v)", roots)
		}
		t.Skip("no complete tree (modules and kernel image) available")
	}
	return out
}

func loadSigTree(root, name string) (sigTree, string) {
	rels, _ := filepath.Glob(filepath.Join(root, "lib", "modules", "*"))
	if len(rels) != 1 {
		return sigTree{}, fmt.Sprintf("%d releases under lib/modules", len(rels))
	}
	rel := filepath.Base(rels[0])
	tr := sigTree{name: name, root: root, rel: rel}
	for _, n := range []string{"vmlinuz-", "vmlinux-", "Image-"} {
		if p := filepath.Join(root, "boot", n+rel); fileExists(p) {
			tr.image = p
			break
		}
	}
	if tr.image == "" {
		return tr, "no boot/vmlinuz-" + rel
	}
	tr.files = findModules(nil, rels[0])
	if len(tr.files) == 0 {
		return tr, "no modules"
	}
	return tr, ""
}

func fileExists(p string) bool {
	st, err := os.Stat(p)
	return err == nil && st.Mode().IsRegular()
}

type sigVerifyJSON struct {
	Schema string `json:"schema"`
	Certs  []struct {
		Subject string `json:"subject"`
		Serial  string `json:"serial"`
	} `json:"trusted_certificates"`
	Results []struct {
		File   string  `json:"file"`
		Error  *string `json:"error"`
		Status string  `json:"status"`
		Errno  *string `json:"errno"`
		Detail string  `json:"detail"`
	} `json:"results"`
}

type certsJSON struct {
	Results []struct {
		File         string  `json:"file"`
		Error        *string `json:"error"`
		Certificates []struct {
			Subject string `json:"subject"`
			Serial  string `json:"serial"`
			SigKey  string `json:"sig_key"`
		} `json:"certificates"`
	} `json:"results"`
}

// normHex normalizes "66:F5:4E..." or "00f54e..." to lower-case hex
// without separators or leading zero bytes (a DER INTEGER may carry one).
func normHex(s string) string {
	s = strings.ToLower(strings.NewReplacer(":", "", " ", "", "\n", "").Replace(s))
	for strings.HasPrefix(s, "00") && len(s) > 2 {
		s = s[2:]
	}
	return s
}

// verifyJSON runs `sig verify --json -b ROOT -k REL` over files in chunks
// and returns the merged results.
func verifyJSON(t *testing.T, tr sigTree, files []string) (sigVerifyJSON, []int) {
	var all sigVerifyJSON
	var codes []int
	for _, c := range chunks(files) {
		args := append([]string{"sig", "verify", "--json", "-b", tr.root, "-k", tr.rel}, c...)
		res, stderr := runOurs(args...)
		codes = append(codes, res.code)
		var doc sigVerifyJSON
		if err := json.Unmarshal(res.stdout, &doc); err != nil {
			t.Fatalf("%s: sig verify --json over %d files: exit %d, bad JSON: %v\nstderr: %s", tr.name, len(c), res.code, err, stderr)
		}
		if doc.Schema != "kmodscope.sigverify/v1" {
			t.Errorf("schema %q", doc.Schema)
		}
		if len(doc.Results) != len(c) {
			t.Fatalf("%s: %d results for %d modules", tr.name, len(doc.Results), len(c))
		}
		all.Certs = doc.Certs
		all.Results = append(all.Results, doc.Results...)
	}
	return all, codes
}

func TestSigVerifyTrees(t *testing.T) {
	modinfo := need(t, "modinfo")
	total := 0
	for _, tr := range sigTrees(t) {
		t.Run(tr.name, func(t *testing.T) {
			doc, codes := verifyJSON(t, tr, tr.files)
			if len(doc.Certs) == 0 {
				t.Fatalf("no trusted certificate found in %s", tr.image)
			}
			valid, bad := 0, 0
			for i, r := range doc.Results {
				if r.File != tr.files[i] {
					t.Fatalf("result %d is for %s, want %s (order)", i, r.File, tr.files[i])
				}
				if r.Status == "valid" && r.Error == nil && r.Errno == nil {
					valid++
					continue
				}
				if bad++; bad <= 10 {
					t.Errorf("%s: status %q errno %v error %v: %s", r.File, r.Status, deref(r.Errno), deref(r.Error), r.Detail)
				}
			}
			for _, c := range codes {
				if c != 0 && bad == 0 {
					t.Errorf("all modules valid but exit status %d", c)
				}
			}
			t.Logf("sig verify: %d modules valid against the certificate in %s (%d not)", valid, filepath.Base(tr.image), bad)
			total += valid

			// The certificate in the image is the one modinfo names.
			res, stderr := runOurs("certs", "--json", tr.image)
			if res.code != 0 {
				t.Fatalf("certs %s: exit %d: %s", tr.image, res.code, stderr)
			}
			var cd certsJSON
			if err := json.Unmarshal(res.stdout, &cd); err != nil || len(cd.Results) != 1 {
				t.Fatalf("certs --json: %v (%d results)", err, len(cd.Results))
			}
			sample := []string{tr.files[0], tr.files[len(tr.files)/2], tr.files[len(tr.files)-1]}
			for _, m := range sample {
				out, err := exec.Command(modinfo, "-F", "sig_key", m).Output()
				if err != nil {
					t.Fatalf("modinfo -F sig_key %s: %v", m, err)
				}
				key := normHex(string(out))
				if key == "" {
					t.Fatalf("modinfo prints no sig_key for %s", m)
				}
				found := false
				for _, c := range cd.Results[0].Certificates {
					if normHex(c.Serial) == key {
						found = true
						if normHex(c.SigKey) != key {
							t.Errorf("certificate %s: sig_key %s != serial %s", c.Subject, c.SigKey, c.Serial)
						}
					}
				}
				if !found {
					t.Errorf("%s: modinfo sig_key %s not among the %d certificates of %s", m, key, len(cd.Results[0].Certificates), tr.image)
				}
			}
			t.Logf("certs: %d certificate(s) in %s, serial matches modinfo sig_key %s", len(cd.Results[0].Certificates), filepath.Base(tr.image), strings.TrimSpace(mustOut(exec.Command(modinfo, "-F", "sig_key", tr.files[0]))))
		})
	}
	t.Logf("sig verify: %d modules valid in total", total)
}

func deref(p *string) string {
	if p == nil {
		return "<nil>"
	}
	return *p
}

func mustOut(c *exec.Cmd) string {
	b, _ := c.Output()
	return string(b)
}

// moduleBytes reads a module, decompressing .ko.xz with xz -dc.
func moduleBytes(t *testing.T, p string) []byte {
	if strings.HasSuffix(p, ".xz") {
		out, err := exec.Command("xz", "-dc", p).Output()
		if err != nil {
			t.Fatalf("xz -dc %s: %v", p, err)
		}
		return out
	}
	if strings.HasSuffix(p, ".zst") {
		out, err := exec.Command("zstd", "-dc", p).Output()
		if err != nil {
			t.Fatalf("zstd -dc %s: %v", p, err)
		}
		return out
	}
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// textOffset finds a byte inside the module's executable code: .text, or
// else the largest other executable PROGBITS section.
func textOffset(data []byte) (int64, error) {
	f, err := elf.NewFile(bytes.NewReader(data))
	if err != nil {
		return 0, err
	}
	var best *elf.Section
	for _, s := range f.Sections {
		if s.Type != elf.SHT_PROGBITS || s.Flags&elf.SHF_EXECINSTR == 0 || s.Size == 0 {
			continue
		}
		if s.Name == ".text" {
			best = s
			break
		}
		if best == nil || s.Size > best.Size {
			best = s
		}
	}
	if best == nil {
		return 0, fmt.Errorf("no executable section")
	}
	return int64(best.Offset + best.Size/2), nil
}

type tamperCase struct {
	kind     string
	statuses []string // acceptable status[:errno]
}

var tamperCases = []tamperCase{
	{"orig", []string{"valid:"}},
	{"text", []string{"bad_signature:EKEYREJECTED"}},
	{"sigval", []string{"bad_signature:EKEYREJECTED", "malformed:EBADMSG"}},
	{"siglen-large", []string{"malformed:EBADMSG"}},
	{"siglen-small", []string{"malformed:EBADMSG", "bad_signature:EKEYREJECTED"}},
	{"siglen-zero", []string{"malformed:EBADMSG"}},
	{"garbage", []string{"unsigned:ENODATA"}},
}

func tamper(t *testing.T, data []byte, kind string, n int) []byte {
	d := append([]byte(nil), data...)
	l := len(d)
	sigLenOff := l - len(sigMagic) - 4
	sigLen := int(binary.BigEndian.Uint32(d[sigLenOff:]))
	switch kind {
	case "orig":
	case "text":
		off, err := textOffset(d)
		if err != nil {
			t.Fatalf("%v", err)
		}
		d[off] ^= 0x01
	case "sigval":
		// One of the last 100 bytes of the PKCS#7 blob: inside the
		// signature value for RSA; for ECDSA the DER of (r, s).
		d[l-40-1-(n*37)%min(100, sigLen)] ^= 0x40
	case "siglen-large":
		binary.BigEndian.PutUint32(d[sigLenOff:], uint32(l+1000))
	case "siglen-small":
		binary.BigEndian.PutUint32(d[sigLenOff:], uint32(sigLen/2))
	case "siglen-zero":
		binary.BigEndian.PutUint32(d[sigLenOff:], 0)
	case "garbage":
		d = append(d, "garbage after the magic\n"...)
	}
	return d
}

func TestSigVerifyTampered(t *testing.T) {
	for _, tr := range sigTrees(t) {
		t.Run(tr.name, func(t *testing.T) {
			dir := t.TempDir()
			var files []string
			want := map[string]tamperCase{}
			const per = 20
			step := max(1, len(tr.files)/per)
			sampled := 0
			for i := 0; i < len(tr.files) && sampled < per; i += step {
				src := tr.files[i]
				data := moduleBytes(t, src)
				if !bytes.HasSuffix(data, []byte(sigMagic)) {
					t.Fatalf("%s is not signed", src)
				}
				sampled++
				base := strings.TrimSuffix(strings.TrimSuffix(filepath.Base(src), ".xz"), ".zst")
				base = strings.TrimSuffix(base, ".ko")
				for _, c := range tamperCases {
					p := filepath.Join(dir, fmt.Sprintf("%03d-%s-%s.ko", i/step, base, c.kind))
					if err := os.WriteFile(p, tamper(t, data, c.kind, i), 0o644); err != nil {
						t.Fatal(err)
					}
					files = append(files, p)
					want[p] = c
				}
			}
			doc, codes := verifyJSON(t, tr, files)
			for _, c := range codes {
				if c != 3 {
					t.Errorf("exit status %d, want 3 (some module refused)", c)
				}
			}
			counts := map[string]int{}
			for _, r := range doc.Results {
				c := want[r.File]
				got := r.Status + ":" + deref(r.Errno)
				if r.Errno == nil {
					got = r.Status + ":"
				}
				counts[c.kind+"="+got]++
				ok := false
				for _, s := range c.statuses {
					ok = ok || s == got
				}
				if !ok {
					t.Errorf("%s (%s): got %s, want one of %v: %s", filepath.Base(r.File), c.kind, got, c.statuses, r.Detail)
				}
				if c.kind != "orig" && r.Status == "valid" {
					t.Errorf("%s: tampered module reported valid", r.File)
				}
			}
			var keys []string
			for k, v := range counts {
				keys = append(keys, fmt.Sprintf("%s×%d", k, v))
			}
			sort.Strings(keys)
			t.Logf("tampered: %d modules × %d variants: %s", sampled, len(tamperCases), strings.Join(keys, " "))
		})
	}
}
