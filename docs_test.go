package ganvk_test

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// TestDocLinks checks every relative link and image in README.md and
// docs/: the file it names exists, and so does the heading its #anchor
// names (GitHub's slug of the heading's text).
func TestDocLinks(t *testing.T) {
	pages, err := filepath.Glob("docs/*.md")
	if err != nil {
		t.Fatal(err)
	}
	pages = append(pages, "README.md")
	link := regexp.MustCompile(`!?\[[^\]]*\]\(([^)\s]+)\)|<img src="([^"]+)"`)
	checked := 0
	for _, page := range pages {
		text := readPage(t, page)
		for _, m := range link.FindAllStringSubmatch(withoutCode(text), -1) {
			target := m[1] + m[2]
			if strings.Contains(target, "://") || strings.HasPrefix(target, "mailto:") {
				continue
			}
			file, anchor, _ := strings.Cut(target, "#")
			path := page
			if file != "" {
				path = filepath.Join(filepath.Dir(page), file)
				if _, err := os.Stat(path); err != nil {
					t.Errorf("%s: %s: %v", page, target, err)
					continue
				}
			}
			if anchor != "" && !anchors(t, path)[anchor] {
				t.Errorf("%s: %s: %s has no heading #%s", page, target, path, anchor)
			}
			checked++
		}
	}
	if checked < 20 {
		t.Errorf("checked %d links; the pattern must have missed some", checked)
	}
}

func readPage(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// withoutCode drops fenced code blocks, whose brackets are not links.
func withoutCode(text string) string {
	var out []string
	fenced := false
	for _, l := range strings.Split(text, "\n") {
		if strings.HasPrefix(l, "```") {
			fenced = !fenced
			continue
		}
		if !fenced {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}

// anchors are the slugs of a Markdown file's headings, as GitHub makes
// them: lower case, punctuation but hyphens and underscores dropped,
// spaces as hyphens.
func anchors(t *testing.T, path string) map[string]bool {
	out := map[string]bool{}
	if !strings.HasSuffix(path, ".md") {
		return out
	}
	drop := regexp.MustCompile(`[^\p{L}\p{N}_\- ]`)
	for _, l := range strings.Split(withoutCode(readPage(t, path)), "\n") {
		if h, ok := strings.CutPrefix(strings.TrimLeft(l, "#"), " "); ok && strings.HasPrefix(l, "#") {
			out[strings.ReplaceAll(drop.ReplaceAllString(strings.ToLower(strings.TrimSpace(h)), ""), " ", "-")] = true
		}
	}
	return out
}

// TestPackageFileLists holds the file list a package's doc.go gives ("The
// files:", one per line) to the package's files: each one named exists and
// each non-test file but doc.go and generated code is named.
func TestPackageFileLists(t *testing.T) {
	docs, err := filepath.Glob("*/doc.go")
	if err != nil {
		t.Fatal(err)
	}
	more, _ := filepath.Glob("*/*/doc.go")
	entry := regexp.MustCompile(`^//\t([a-z0-9_]+\.go)\s`)
	lists := 0
	for _, doc := range append(docs, more...) {
		named := map[string]bool{}
		for _, l := range strings.Split(readPage(t, doc), "\n") {
			if m := entry.FindStringSubmatch(l); m != nil {
				named[m[1]] = true
			}
		}
		if len(named) == 0 {
			continue
		}
		lists++
		dir := filepath.Dir(doc)
		files, _ := filepath.Glob(filepath.Join(dir, "*.go"))
		have := map[string]bool{}
		for _, f := range files {
			name := filepath.Base(f)
			if strings.HasSuffix(name, "_test.go") || name == "doc.go" || strings.Contains(readPage(t, f), "// Code generated") {
				continue
			}
			have[name] = true
			if !named[name] {
				t.Errorf("%s does not list %s", doc, name)
			}
		}
		for name := range named {
			if !have[name] {
				t.Errorf("%s lists %s, which %s does not hold", doc, name, dir)
			}
		}
	}
	if lists == 0 {
		t.Error("no package lists its files: the pattern must have missed them")
	}
}
