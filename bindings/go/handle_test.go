package tokenomy

import (
	"errors"
	"os/exec"
	"sync"
	"testing"
)

// The generated handle layer matches the headers (gen_handles.py --check).
func TestHandlesGenerated(t *testing.T) {
	py, err := exec.LookPath("python3")
	if err != nil {
		t.Skip("no python3 to run gen_handles.py")
	}
	out, err := exec.Command(py, "gen_handles.py", "--check").CombinedOutput()
	if err != nil {
		t.Fatalf("handles_gen.go is not what gen_handles.py makes from the headers: %s", out)
	}
}

// failed reports whether err is the error of a call on a closed value.
func failed(err error) bool {
	return errors.Is(err, ErrInvalid) || errors.Is(err, ErrClosed)
}

const misuseRouterJSON = `{"tiers":[{"name":"small","models":["gpt-4o-mini"]},` +
	`{"name":"large","models":["gpt-4o"]}],"rules":[],"cascade":{"max_escalations":1}}`

// Every method of a closed value returns an error (or a zero value where it
// returns none), never touches freed memory; Close twice, and methods on nil
// pointers, are harmless.
func TestMisuseClosedValues(t *testing.T) {
	conv := ok(ParseConv(`[{"role":"user","content":"hi"}]`, FormatAuto))
	conv.Close()
	conv.Close()
	if conv.Len() != 0 || !conv.Closed() {
		t.Fatal("closed conv has messages")
	}
	if _, err := conv.Text(0); !failed(err) {
		t.Fatalf("Text on a closed conv: %v", err)
	}
	if err := conv.Append("user", "x"); !failed(err) {
		t.Fatalf("Append on a closed conv: %v", err)
	}
	if _, err := conv.JSON(FormatOpenAI); !failed(err) {
		t.Fatalf("JSON on a closed conv: %v", err)
	}
	if _, err := conv.Clone(); !failed(err) {
		t.Fatalf("Clone of a closed conv: %v", err)
	}

	tok := ok(NewEstimator())
	tok.Close()
	if _, err := tok.Count("hello"); !failed(err) {
		t.Fatalf("Count on a closed tokenizer: %v", err)
	}
	live := ok(ParseConv(`[{"role":"user","content":"hi"}]`, FormatAuto))
	defer live.Close()
	if _, err := tok.CountConv(live, nil); !failed(err) {
		t.Fatalf("CountConv on a closed tokenizer: %v", err)
	}
	tok2 := ok(NewEstimator())
	defer tok2.Close()
	if _, err := tok2.CountConv(conv, nil); !failed(err) {
		t.Fatalf("CountConv of a closed conv: %v", err)
	}
	if _, err := NewPruner(tok); !errors.Is(err, ErrClosed) {
		t.Fatalf("NewPruner on a closed tokenizer: %v", err)
	}

	b := ok(NewBudget(BudgetOptions{HardTokens: 100}, nil))
	b.Close()
	if err := b.Charge(Amount{InputTokens: 1}); !failed(err) {
		t.Fatalf("Charge on a closed budget: %v", err)
	}
	if _, err := b.Reserve(Amount{InputTokens: 1}); !failed(err) {
		t.Fatalf("Reserve on a closed budget: %v", err)
	}
	if _, err := NewBudget(BudgetOptions{}, b); !errors.Is(err, ErrClosed) {
		t.Fatalf("a child of a closed budget: %v", err)
	}

	prices := ok(DefaultPrices())
	prices.Close()
	if prices.Len() != 0 {
		t.Fatal("closed prices have models")
	}
	if _, err := prices.Lookup("gpt-4o"); !failed(err) {
		t.Fatalf("Lookup on closed prices: %v", err)
	}
	if _, err := NewMeter(prices, MeterOptions{}); !errors.Is(err, ErrClosed) {
		t.Fatalf("NewMeter on closed prices: %v", err)
	}

	m := ok(NewMeter(nil, MeterOptions{}))
	m.Close()
	if err := m.Record(Call{Model: "gpt-4o"}); !failed(err) {
		t.Fatalf("Record on a closed meter: %v", err)
	}

	r := ok(NewRouter(misuseRouterJSON, nil))
	r.Close()
	task := ok(NewTask(map[string]interface{}{"kind": "chat"}))
	defer task.Close()
	if _, err := r.Decide(task); !failed(err) {
		t.Fatalf("Decide on a closed router: %v", err)
	}
	if _, err := r.NewCascade(0, nil); !failed(err) {
		t.Fatalf("NewCascade on a closed router: %v", err)
	}

	s := ok(CompileSchema(`{"type":"object"}`))
	s.Close()
	if err := s.Check(`{}`); !failed(err) {
		t.Fatalf("Check on a closed schema: %v", err)
	}

	a := ok(NewAgent(AgentOptions{Model: "m", Complete: func(*LLMRequest, *LLMResponse) error { return nil }}))
	a.Close()
	if _, err := a.Turn(live, nil); !failed(err) {
		t.Fatalf("Turn on a closed agent: %v", err)
	}
	if err := a.AddText(TextPart{Kind: SegStatic, Stability: StableStatic,
		Name: "s", Text: "x"}); !failed(err) {
		t.Fatalf("AddText on a closed agent: %v", err)
	}

	var nilConv *Conv
	var nilTok *Tokenizer
	var nilBudget *Budget
	if nilConv.Len() != 0 || !nilConv.Closed() {
		t.Fatal("nil conv")
	}
	if _, err := nilTok.Count("x"); !failed(err) {
		t.Fatalf("Count on a nil tokenizer: %v", err)
	}
	if err := nilBudget.Charge(Amount{}); !failed(err) {
		t.Fatalf("Charge on a nil budget: %v", err)
	}
	nilConv.Close()
	nilTok.Close()
	nilBudget.Close()
	var nilRes *Reservation
	if err := nilRes.Commit(Amount{}); err == nil {
		t.Fatal("Commit on a nil reservation")
	}
	nilRes.Release()
}

// Closing the parts an Agent, a Pruner, a Meter and a ToolCache borrow does
// not free them under the borrower: each keeps working, and the parts are
// freed with it (the C side used to read freed memory here).
func TestMisuseBorrowedPartsOutliveClose(t *testing.T) {
	tok := ok(NewEstimator())
	budget := ok(NewBudget(BudgetOptions{HardTokens: 1_000_000}, nil))
	prices := ok(DefaultPrices())
	meter := ok(NewMeter(prices, MeterOptions{}))
	cache := ok(NewToolCache(ToolCacheOptions{Tokenizer: tok}))
	router := ok(NewRouter(misuseRouterJSON, nil))
	a := ok(NewAgent(AgentOptions{Model: "gpt-4o-mini", Tokenizer: tok, Budget: budget,
		Prices: prices, Meter: meter, ToolCache: cache, Router: router,
		Complete: func(req *LLMRequest, resp *LLMResponse) error {
			if err := resp.SetContent("ok"); err != nil {
				return err
			}
			return resp.SetUsageJSON(UsageAuto, usageJSON(req, 2))
		}}))
	pr := ok(NewPruner(tok))
	// the owners let go of every part
	tok.Close()
	budget.Close()
	prices.Close()
	meter.Close()
	cache.Close()
	router.Close()
	for i := 0; i < 3; i++ {
		c := userConv(t)
		res, err := a.Turn(c, nil)
		if err != nil || res.FinishReason != "stop" {
			t.Fatalf("turn %d after its parts were closed: %+v %v", i, res, err)
		}
		c.Close()
	}
	long := userConv(t)
	for i := 0; i < 20; i++ {
		noerr(t, long.Append("user", "one more message about the order"))
	}
	if _, err := pr.Run(long, PruneOptions{MaxTokens: 30}); err != nil {
		t.Fatalf("prune after its tokenizer was closed: %v", err)
	}
	long.Close()
	// but the closed values themselves refuse calls
	if err := budget.Charge(Amount{InputTokens: 1}); !failed(err) {
		t.Fatalf("Charge on the closed budget: %v", err)
	}
	a.Close()
	pr.Close()
}

// Close while other goroutines are inside C on the same value: the value
// is freed only when the last call leaves (run under -race and cgocheck2 by
// run-tests.sh).
func TestMisuseCloseDuringCalls(t *testing.T) {
	for round := 0; round < 20; round++ {
		tok := ok(NewEstimator())
		b := ok(NewBudget(BudgetOptions{}, nil))
		conv := ok(ParseConv(`[{"role":"user","content":"a b c d e f"}]`, FormatAuto))
		var wg sync.WaitGroup
		start := make(chan struct{})
		for g := 0; g < 4; g++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-start
				for i := 0; i < 200; i++ {
					if _, err := tok.Count("some text to count"); err != nil && !failed(err) {
						t.Errorf("Count: %v", err)
						return
					}
					if _, err := tok.CountConv(conv, nil); err != nil && !failed(err) {
						t.Errorf("CountConv: %v", err)
						return
					}
					if err := b.Charge(Amount{InputTokens: 1}); err != nil && !failed(err) {
						t.Errorf("Charge: %v", err)
						return
					}
				}
			}()
		}
		close(start)
		tok.Close()
		conv.Close()
		b.Close()
		wg.Wait()
	}
}

// Integers a C parameter cannot hold are refused, not wrapped around; text
// crosses with its length, so an embedded NUL is kept (or refused where C
// takes a NUL-terminated path), never silently cut.
func TestMisuseRangesAndNUL(t *testing.T) {
	b := ok(NewRouterBuilder())
	defer b.Close()
	if err := b.SetFailures(1<<40+3, 60, 5); !errors.Is(err, ErrInvalid) {
		t.Fatalf("allowedFails 2^40+3: %v, want ErrInvalid", err)
	}
	if err := b.SetRetries(FailTimeout, -1<<33); !errors.Is(err, ErrInvalid) {
		t.Fatalf("retries -2^33: %v, want ErrInvalid", err)
	}
	if err := b.SetCascade(1<<32+1, ""); !errors.Is(err, ErrInvalid) {
		t.Fatalf("maxEscalations 2^32+1: %v, want ErrInvalid", err)
	}
	r := ok(NewRouter(misuseRouterJSON, nil))
	defer r.Close()
	if _, err := r.NewCascade(1<<32, nil); !errors.Is(err, ErrInvalid) {
		t.Fatalf("startTier 2^32 (0 once wrapped): %v, want ErrInvalid", err)
	}
	if _, _, _, err := r.ShadowStats(-1 << 32); !errors.Is(err, ErrInvalid) {
		t.Fatalf("rule -2^32: %v, want ErrInvalid", err)
	}
	pb := ok(NewPromptBuilder(false))
	defer pb.Close()
	ok(pb.AddText(TextPart{Kind: SegStatic, Stability: StableStatic, Name: "s", Text: "x"}))
	if err := pb.SetTTL(1<<32, 0); !errors.Is(err, ErrInvalid) {
		t.Fatalf("segment 2^32 (0 once wrapped): %v, want ErrInvalid", err)
	}
	c := ok(ParseConv(`[{"role":"user","content":"hi"}]`, FormatAuto))
	defer c.Close()
	if _, err := c.Text(-1); err == nil {
		t.Fatal("Text(-1) did not fail")
	}
	noerr(t, c.Append("user", "before\x00after"))
	if got := ok(c.Text(1)); got != "before\x00after" {
		t.Fatalf("text with a NUL came back as %q", got)
	}
	tok := ok(NewEstimator())
	defer tok.Close()
	if ok(tok.Count("word word\x00word word")) <= ok(tok.Count("word word")) {
		t.Fatal("the text after a NUL was not counted")
	}
	if _, err := LoadRanks("cl100k_base", "ranks\x00.tiktoken", nil, SpecialRefuse); !errors.Is(err, ErrInvalid) {
		t.Fatalf("a path with a NUL: %v, want ErrInvalid", err)
	}
}
