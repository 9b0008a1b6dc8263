package tokenomy

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
)

func usageJSON(req *LLMRequest, out int64) string {
	return fmt.Sprintf(`{"prompt_tokens":%d,"completion_tokens":%d,"total_tokens":%d}`,
		req.InputTokens, out, req.InputTokens+out)
}

func userConv(t *testing.T) *Conv {
	return ok(ParseConv(`[{"role":"user","content":"Where is my order 1234?"}]`, FormatAuto))
}

func TestAgentTurnCallsGo(t *testing.T) {
	var seen []*LLMRequest
	a := ok(NewAgent(AgentOptions{Model: "gpt-4o-mini", Workflow: "support",
		Complete: func(req *LLMRequest, resp *LLMResponse) error {
			seen = append(seen, req)
			if err := resp.SetContent("It ships today."); err != nil {
				return err
			}
			return resp.SetUsageJSON(UsageAuto, usageJSON(req, 5))
		}}))
	defer a.Close()
	noerr(t, a.AddText(TextPart{Kind: SegStatic, Stability: StableStatic,
		Name: "system", Text: "You are a support agent."}))
	c := userConv(t)
	r := ok(a.Turn(c, &TurnOptions{TaskType: "order"}))
	if r.FinishReason != "stop" || r.Content != "It ships today." || r.Model != "gpt-4o-mini" {
		t.Fatalf("result %+v", r)
	}
	var body struct {
		Model    string
		Messages []struct{ Role string }
	}
	noerr(t, json.Unmarshal([]byte(seen[0].Body), &body))
	if body.Model != "gpt-4o-mini" || body.Messages[0].Role != "system" || seen[0].TaskType != "order" {
		t.Fatalf("request %+v", seen[0])
	}
	if c.Len() != 2 || r.Stats.Calls != 1 || r.Stats.Cost <= 0 || !strings.Contains(r.Trace, `"step":"call"`) {
		t.Fatalf("after the turn: %d messages, stats %+v", c.Len(), r.Stats)
	}
}

func TestAgentModelErrorsAndHostErrors(t *testing.T) {
	a := ok(NewAgent(AgentOptions{Model: "m", Complete: func(req *LLMRequest, resp *LLMResponse) error {
		return &ModelError{Class: FailServer, Message: "HTTP 503"}
	}}))
	r := ok(a.Turn(userConv(t), nil))
	if r.FinishReason != "error" || r.Stats.FailedCalls < 1 {
		t.Fatalf("result %+v", r)
	}
	boom := errors.New("host bug")
	b := ok(NewAgent(AgentOptions{Model: "m", Complete: func(req *LLMRequest, resp *LLMResponse) error { return boom }}))
	if _, err := b.Turn(userConv(t), nil); !errors.Is(err, boom) || !errors.Is(err, ErrCallback) {
		t.Fatalf("want the host's error, got %v", err)
	}
	p := ok(NewAgent(AgentOptions{Model: "m", Complete: func(req *LLMRequest, resp *LLMResponse) error { panic("oops") }}))
	if _, err := p.Turn(userConv(t), nil); err == nil || !strings.Contains(err.Error(), "oops") {
		t.Fatalf("want the recovered panic, got %v", err)
	}
}

func TestAgentPrunesALongHistory(t *testing.T) {
	var seen []*LLMRequest
	a := ok(NewAgent(AgentOptions{Model: "m", MaxContextTokens: 80,
		Prune: &PruneOptions{Mode: PruneScore, KeepLastTurns: 1},
		Complete: func(req *LLMRequest, resp *LLMResponse) error {
			seen = append(seen, req)
			noerr(t, resp.SetContent("ok"))
			return resp.SetUsageJSON(UsageAuto, usageJSON(req, 1))
		}}))
	r := ok(a.Turn(longConv(t), nil))
	if r.FinishReason != "stop" || r.Stats.PrunedMessages == 0 || r.Stats.ContextTokensAfter > 80 {
		t.Fatalf("stats %+v", r.Stats)
	}
}

func TestAgentRetriesAnInvalidAnswer(t *testing.T) {
	answers := []string{`{"ok":"no"}`, `{"ok":true}`}
	var slept []int64
	a := ok(NewAgent(AgentOptions{Model: "m", RetrySeed: 7, Sleep: func(ms int64) { slept = append(slept, ms) },
		Complete: func(req *LLMRequest, resp *LLMResponse) error {
			if req.ResponseSchema == "" {
				return errors.New("no schema in the request")
			}
			noerr(t, resp.SetContent(answers[0]))
			answers = answers[1:]
			return resp.SetUsageJSON(UsageAuto, usageJSON(req, 4))
		}}))
	s := ok(CompileSchema(`{"type":"object","properties":{"ok":{"type":"boolean"}},"required":["ok"]}`))
	r := ok(a.Turn(userConv(t), &TurnOptions{Schema: s}))
	if r.FinishReason != "stop" || r.Content != `{"ok":true}` || r.Stats.Retries != 1 || !r.Stats.Validated || len(slept) != 1 {
		t.Fatalf("result %+v slept %v", r, slept)
	}
}

func TestAgentToolThroughTheCache(t *testing.T) {
	tc := ok(NewToolCache(ToolCacheOptions{}))
	noerr(t, tc.SetPolicy("lookup", true, 60000, ScopeGlobal))
	a := ok(NewAgent(AgentOptions{Model: "m", ToolCache: tc, Complete: func(*LLMRequest, *LLMResponse) error { return nil }}))
	runs := 0
	for i := 0; i < 2; i++ {
		v, hit, err := a.Tool("lookup", `{"id":1}`, "", func(tool, args string) (string, error) { runs++; return "found", nil })
		if err != nil || v != "found" || hit != (i == 1) {
			t.Fatalf("call %d: %q %v %v", i, v, hit, err)
		}
	}
	boom := errors.New("tool down")
	if _, _, err := a.Tool("lookup", `{"id":2}`, "", func(string, string) (string, error) { return "", boom }); !errors.Is(err, boom) {
		t.Fatalf("want boom, got %v", err)
	}
	if runs != 1 {
		t.Fatalf("runs %d", runs)
	}
}

func TestLLMResponseAndExactEncodings(t *testing.T) {
	r := ok(NewLLMResponse())
	defer r.Close()
	noerr(t, r.SetContent("hi"))
	noerr(t, r.SetUsageJSON(UsageAuto, `{"input_tokens":3,"output_tokens":1}`))
	noerr(t, r.SetError(FailRateLimit, "slow down"))
	if u, have := r.Usage(); !have || u.InputTokens != 3 || r.Content() != "hi" {
		t.Fatalf("usage %+v", u)
	}
	if cls, msg := r.Error(); cls != FailRateLimit || msg != "slow down" || FailName(cls) != "rate_limit" {
		t.Fatalf("error %d %q", cls, msg)
	}
	if !strings.Contains(r.UsageJSON(), `"input_tokens":3`) {
		t.Fatalf("usage json %q", r.UsageJSON())
	}
	r.Clear()
	if r.Content() != "" || r.UsageJSON() != "" {
		t.Fatal("clear left content")
	}
	if err := r.SetContent("\xff"); !errors.Is(err, ErrUTF8) {
		t.Fatalf("want ErrUTF8, got %v", err)
	}
	tok, err := NewEncoding("cl100k_base")
	if errors.Is(err, ErrUnavailable) {
		t.Skip("library built without embedded ranks")
	}
	noerr(t, err)
	ids := ok(tok.Encode("hello world", SpecialRefuse))
	if len(ids) != 2 || ids[0] != 15339 || ids[1] != 1917 {
		t.Fatalf("ids %v", ids)
	}
	if s := ok(tok.Decode(ok(tok.Encode("naïve 日本語", SpecialRefuse)))); s != "naïve 日本語" {
		t.Fatalf("round trip %q", s)
	}
	if _, err := tok.Encode("<|endoftext|>", SpecialRefuse); !errors.Is(err, ErrSpecialToken) {
		t.Fatalf("want ErrSpecialToken, got %v", err)
	}
	if ids := ok(tok.Encode("<|endoftext|>", SpecialAllow)); len(ids) != 1 || ids[0] != 100257 {
		t.Fatalf("special ids %v", ids)
	}
	if EncodingForModel("gpt-4o") != "o200k_base" || ok(NewTokenizerForModel("gpt-4")).Name() != "cl100k_base" {
		t.Fatal("encodings by model")
	}
	if n := ok(tok.CountLimit(strings.Repeat("hello world ", 100), 5, SpecialRefuse)); n != 6 {
		t.Fatalf("count limit %d", n)
	}
	if _, err := LoadRanks("cl100k_base", "", []byte("not a rank file\n"), SpecialRefuse); !errors.Is(err, ErrParse) {
		t.Fatalf("want ErrParse, got %v", err)
	}
}
