package tokenomy

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
)

// toolsConv: a system prompt and `uses` turns of question, tool call
// ("lookup" for the second, else "get"), a result of `words` words, answer.
func toolsConv(t *testing.T, uses, words int) *Conv {
	t.Helper()
	msgs := []map[string]any{{"role": "system", "content": "You help."}}
	for i := 0; i < uses; i++ {
		name := "get"
		if i == 1 {
			name = "lookup"
		}
		msgs = append(msgs,
			map[string]any{"role": "user", "content": fmt.Sprintf("question %d", i)},
			map[string]any{"role": "assistant", "content": nil, "tool_calls": []any{map[string]any{
				"id": fmt.Sprintf("c%d", i), "type": "function",
				"function": map[string]any{"name": name, "arguments": fmt.Sprintf(`{"id":"R%dX"}`, i)}}}},
			map[string]any{"role": "tool", "tool_call_id": fmt.Sprintf("c%d", i),
				"content": strings.TrimSpace(strings.Repeat("record field value ", words))},
			map[string]any{"role": "assistant", "content": fmt.Sprintf("answer %d", i)})
	}
	b, err := json.Marshal(msgs)
	if err != nil {
		t.Fatal(err)
	}
	return ok(ParseConv(string(b), FormatOpenAI))
}

func toolResults(c *Conv) []string {
	var out []string
	for i := 0; i < c.Len(); i++ {
		if c.Role(i) == "tool" {
			out = append(out, ok(c.Text(i)))
		}
	}
	return out
}

func TestPruneMaskClearAndPolicy(t *testing.T) {
	tok := ok(NewEstimator())
	pr := ok(NewPruner(tok))
	defer pr.Close()
	c := toolsConv(t, 5, 60)
	n := c.Len()
	rep := ok(pr.Run(c, PruneOptions{Mode: PruneMask, KeepToolUses: 2,
		ExcludeTools: []string{"lookup"}, Placeholder: "[gone]"}))
	got := toolResults(c)
	want := []bool{true, false, true, false, false}
	for i, r := range got {
		if (r == "[gone]") != want[i] {
			t.Fatalf("result %d: %q", i, r)
		}
	}
	if c.Len() != n || rep.Cleared != 2 || rep.TokensBefore-rep.TokensAfter != rep.ClearedTokens {
		t.Fatalf("mask: %d messages, report %+v", c.Len(), rep)
	}
	// the policy at gpt-4o's prices: two old results behind three recent ones
	// do not pay for the broken prefix at this call alone (the default) ...
	c2 := toolsConv(t, 5, 300)
	rep = ok(pr.Run(c2, PruneOptions{Mode: PrunePolicy,
		PriceInput: 2500000000000, PriceCacheRead: 1250000000000}))
	if rep.Decision != 1 || rep.ExpectedSaving != 0 || rep.Cleared != 0 {
		t.Fatalf("policy at once: %+v", rep)
	}
	// ... but do by the next call
	rep = ok(pr.Run(c2, PruneOptions{Mode: PrunePolicy, HorizonCalls: 1,
		PriceInput: 2500000000000, PriceCacheRead: 1250000000000}))
	if rep.Decision != 2 || rep.ExpectedSaving <= rep.ClearingCost || rep.Cleared != 2 {
		t.Fatalf("policy: %+v", rep)
	}
	// with a ledger, a clear that pays back only by the next call risks no more
	// than the conversation's clears so far saved: refused on an empty one ...
	c4 := toolsConv(t, 5, 300)
	var led PruneLedger
	pol := PruneOptions{Mode: PrunePolicy, HorizonCalls: 1, Ledger: &led,
		PriceInput: 2500000000000, PriceCacheRead: 1250000000000}
	rep = ok(pr.Run(c4, pol))
	if rep.Decision != 1 || rep.ClearingCost <= 0 || led != (PruneLedger{0, 0, 1}) {
		t.Fatalf("policy, empty ledger: %+v, %+v", rep, led)
	}
	// ... taken once enough is banked
	led.Credit = rep.ClearingCost
	rep = ok(pr.Run(c4, pol))
	if rep.Decision != 2 || rep.Cleared != 2 || led.Credit != 0 || led.Cleared <= 0 ||
		led.Calls != 2 {
		t.Fatalf("policy, ledger: %+v, %+v", rep, led)
	}
	// a count past uint32 is refused by name, not wrapped (1<<32 + 1 was horizon 1)
	for _, bad := range []struct {
		name string
		o    PruneOptions
	}{
		{"HorizonCalls", PruneOptions{Mode: PrunePolicy, HorizonCalls: 1<<32 + 1}},
		{"KeepToolUses", PruneOptions{Mode: PruneMask, KeepToolUses: 1<<32 + 3}},
		{"KeepThinkingTurns", PruneOptions{Mode: PruneMask, KeepThinkingTurns: 1 << 32}},
		{"CacheBlockTokens", PruneOptions{Mode: PrunePolicy, CacheBlockTokens: 1<<32 + 128}},
	} {
		bad.o.PriceInput = 2500000000000
		if _, err := pr.Run(c4, bad.o); err == nil || !strings.Contains(err.Error(), bad.name) {
			t.Fatalf("%s: want a range error, got %v", bad.name, err)
		}
	}
	led.Cleared = -1
	if _, err := pr.Run(c4, pol); err == nil || !strings.Contains(err.Error(), "ledger->cleared") {
		t.Fatalf("want a negative-ledger error, got %v", err)
	}
	// without prices the policy is refused, the conversation untouched
	c3 := toolsConv(t, 5, 300)
	before := ok(c3.JSON(FormatOpenAI))
	if _, err := pr.Run(c3, PruneOptions{Mode: PrunePolicy}); err == nil ||
		!strings.Contains(err.Error(), "price_input_per_mtok") {
		t.Fatalf("want a missing-price error, got %v", err)
	}
	if ok(c3.JSON(FormatOpenAI)) != before {
		t.Fatal("a refused run changed the conversation")
	}
}

func TestPruneDegradesInsteadOfFailing(t *testing.T) {
	tok := ok(NewEstimator())
	pr := ok(NewPruner(tok))
	defer pr.Close()
	// the last two turns hold results of 300 words: they alone exceed 400 tokens
	c := toolsConv(t, 4, 300)
	before := ok(c.JSON(FormatOpenAI))
	_, err := pr.Run(c, PruneOptions{Mode: PruneScore, MaxTokens: 400, NoDegrade: true})
	if !errors.Is(err, ErrBudget) || ok(c.JSON(FormatOpenAI)) != before {
		t.Fatalf("NoDegrade: want ErrBudget and the conversation untouched, got %v", err)
	}
	rep := ok(pr.Run(c, PruneOptions{Mode: PruneScore, MaxTokens: 400}))
	if rep.Decision != 4 || rep.Cleared == 0 || !strings.Contains(rep.Note, "degraded") ||
		rep.TokensAfter > 400 {
		t.Fatalf("degrade: %+v", rep)
	}
	users := 0
	for i := 0; i < c.Len(); i++ {
		if c.Role(i) == "user" {
			users++
		}
	}
	if users == 0 {
		t.Fatal("a degraded run left no turn")
	}
}
