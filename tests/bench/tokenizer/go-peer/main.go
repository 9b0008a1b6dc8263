// The Go side of the tokenizer benchmark: ours through the Go binding and
// tiktoken-go (github.com/pkoukk/tiktoken-go, from the Go module proxy,
// pinned by go.sum) counting every kind of text of one corpus
// (bench_native_corpus.mjs), side by side in one process and one run.
//
// tiktoken-go downloads its rank files from openaipublic at run time; here a
// BpeLoader hands it the project's own rank files instead (the ones the
// build embeds, checked against tiktoken's sha256), so nothing is fetched.
// tiktoken-go has no count call: its count is the length of EncodeOrdinary,
// as its users count.  Each side warms up on a kind, then goes over it REPS
// times; the figure is MB of text per second of process CPU time (robust on
// a busy machine), best of 3 runs.  Token totals are compared per kind.
//
// usage: go-peer WORK_DIR RANKS_DIR
package main

import (
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"

	tiktoken "github.com/pkoukk/tiktoken-go"
	tokenomy "github.com/tokenomy/tokenomy/bindings/go"
)

const targetBytes = 1e6 // text per timed run: each kind repeated up to this

type kind struct {
	Name  string `json:"name"`
	First int    `json:"first"`
	End   int    `json:"end"`
	Bytes int    `json:"bytes"`
}

// localRanks is a tiktoken-go BpeLoader reading RANKS_DIR/<name>.tiktoken
// for the URL tiktoken-go asks for.
type localRanks struct{ dir string }

func (l localRanks) LoadTiktokenBpe(url string) (map[string]int, error) {
	data, err := os.ReadFile(filepath.Join(l.dir, filepath.Base(url)))
	if err != nil {
		return nil, err
	}
	ranks := make(map[string]int)
	for _, line := range strings.Split(string(data), "\n") {
		if line == "" {
			continue
		}
		f := strings.SplitN(line, " ", 2)
		tok, err := base64.StdEncoding.DecodeString(f[0])
		if err != nil {
			return nil, err
		}
		r, err := strconv.Atoi(strings.TrimSpace(f[1]))
		if err != nil {
			return nil, err
		}
		ranks[string(tok)] = r
	}
	return ranks, nil
}

func cpuSeconds() float64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		panic(err)
	}
	tv := func(t syscall.Timeval) float64 { return float64(t.Sec) + float64(t.Usec)/1e6 }
	return tv(ru.Utime) + tv(ru.Stime)
}

func die(err error) {
	fmt.Fprintln(os.Stderr, "go-peer:", err)
	os.Exit(2)
}

// measure runs count over docs reps times after a warm-up pass: the best
// MB per CPU-second of 3 runs, and the tokens of one pass.
func measure(docs []string, bytes, reps int, count func(string) int64) (float64, int64) {
	var tokens int64
	for _, d := range docs {
		tokens += count(d)
	}
	best := 0.0
	for run := 0; run < 3; run++ {
		t0 := cpuSeconds()
		for r := 0; r < reps; r++ {
			for _, d := range docs {
				count(d)
			}
		}
		if dt := cpuSeconds() - t0; dt > 0 {
			if v := float64(bytes*reps) / 1e6 / dt; v > best {
				best = v
			}
		}
	}
	return best, tokens
}

func main() {
	if len(os.Args) != 3 {
		die(fmt.Errorf("usage: go-peer WORK_DIR RANKS_DIR"))
	}
	work, ranks := os.Args[1], os.Args[2]
	raw, err := os.ReadFile(filepath.Join(work, "corpus.bin"))
	if err != nil {
		die(err)
	}
	var docs []string
	for o := 0; o < len(raw); {
		n := int(binary.LittleEndian.Uint32(raw[o:]))
		docs = append(docs, string(raw[o+4:o+4+n]))
		o += 4 + n
	}
	var kinds []kind
	kj, err := os.ReadFile(filepath.Join(work, "kinds.json"))
	if err == nil {
		err = json.Unmarshal(kj, &kinds)
	}
	if err != nil {
		die(err)
	}
	tiktoken.SetBpeLoader(localRanks{ranks})
	fmt.Println("figures: MB of text per CPU-second (process CPU time), best of 3 runs " +
		"of about 1 MB per kind after a warm-up; ratio: ours over tiktoken-go; " +
		"same: equal token totals")
	disagree := 0
	for _, enc := range []string{"cl100k_base", "o200k_base"} {
		ours, err := tokenomy.NewEncoding(enc)
		if err != nil {
			die(err)
		}
		peer, err := tiktoken.GetEncoding(enc)
		if err != nil {
			die(err)
		}
		fmt.Printf("\n%s, count, one goroutine\n", enc)
		fmt.Println("| kind | ours (Go binding) | tiktoken-go | ratio | same |")
		fmt.Println("|---|---|---|---|---|")
		for _, k := range kinds {
			reps := int(targetBytes/float64(k.Bytes) + 0.5)
			if reps < 1 {
				reps = 1
			}
			d := docs[k.First:k.End]
			var failure error
			o, ot := measure(d, k.Bytes, reps, func(s string) int64 {
				n, err := ours.Count(s)
				if err != nil && failure == nil {
					failure = err
				}
				return n
			})
			if failure != nil {
				die(fmt.Errorf("%s %s: %v", enc, k.Name, failure))
			}
			p, pt := measure(d, k.Bytes, reps, func(s string) int64 {
				return int64(len(peer.EncodeOrdinary(s)))
			})
			same := "yes"
			if ot != pt {
				same = fmt.Sprintf("NO (%d vs %d)", ot, pt)
				disagree++
			}
			fmt.Printf("| %s | %.2f | %.2f | %.1fx | %s |\n", k.Name, o, p, o/p, same)
		}
		ours.Close()
	}
	if disagree > 0 {
		fmt.Printf("\n%d kinds where the token totals differ\n", disagree)
	}
}
