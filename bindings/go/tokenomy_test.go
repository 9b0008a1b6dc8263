package tokenomy

import (
	"encoding/json"
	"errors"
	"fmt"
	"runtime"
	"strings"
	"sync"
	"testing"
)

const convJSON = `[{"role":"system","content":"You are terse."},
{"role":"user","content":"What is the weather in Paris?","name":"ann"},
{"role":"assistant","content":null,"tool_calls":[{"id":"call_1","type":"function",
 "function":{"name":"weather","arguments":"{\"city\":\"Paris\"}"}}]},
{"role":"tool","tool_call_id":"call_1","content":"18C, cloudy"},
{"role":"assistant","content":"18C and cloudy."}]`

// ok unwraps a (value, error) pair; an error panics, which fails the test.
func ok[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}

func noerr(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func TestErrorsCarryTheStatusAndTheHandleMessage(t *testing.T) {
	_, err := ParseConv(`[{"role":"wizard","content":"x"}]`, FormatAuto)
	if !errors.Is(err, ErrSchema) || errors.Is(err, ErrParse) {
		t.Fatalf("want ErrSchema, got %v", err)
	}
	var e *Error
	if !errors.As(err, &e) || e.Code != StatusSchema || !strings.Contains(e.Message, "wizard") {
		t.Fatalf("bad error %#v", err)
	}
	if StatusParse.String() == "" {
		t.Fatal("no status text")
	}
	_, err = ParseConv(`[{"role":"user","content":"x"} x]`, FormatAuto)
	if !errors.As(err, &e) || e.Code != StatusParse || e.Offset != 31 {
		t.Fatalf("want a parse error at byte 31, got %#v", err)
	}
}

// The detail is thread-local in C: goroutines failing differently on one
// budget (moving between OS threads as they like) each get their own.
func TestGoroutinesSharingABudgetEachGetTheirOwnError(t *testing.T) {
	o := DefaultBudgetOptions()
	o.HardTokens = 10
	b, err := NewBudget(o, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	var wg sync.WaitGroup
	bad := make(chan string, 16)
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func(negative bool) {
			defer wg.Done()
			for i := 0; i < 500; i++ {
				a, want := Amount{InputTokens: 1000}, "hard token limit"
				if negative {
					a, want = Amount{InputTokens: -5}, "negative amount"
				}
				if err := b.Charge(a); err == nil || !strings.Contains(err.Error(), want) {
					select {
					case bad <- fmt.Sprint(err):
					default:
					}
					return
				}
				runtime.Gosched()
			}
		}(g%2 == 0)
	}
	wg.Wait()
	close(bad)
	for m := range bad {
		t.Errorf("a goroutine read another's error: %s", m)
	}
}

func TestConvReadsAndConverts(t *testing.T) {
	c := ok(ParseConv(convJSON, FormatAuto))
	defer c.Close()
	if c.Len() != 5 || c.Role(2) != "assistant" {
		t.Fatalf("len %d role %q", c.Len(), c.Role(2))
	}
	if name := ok(c.Name(1)); name != "ann" {
		t.Fatalf("name %q", name)
	}
	calls := ok(c.ToolCalls(2))
	if len(calls) != 1 || calls[0] != (ToolCall{"call_1", "weather", `{"city":"Paris"}`}) {
		t.Fatalf("calls %+v", calls)
	}
	if i := ok(c.FindToolResult("call_1")); i != 3 {
		t.Fatalf("tool result at %d", i)
	}
	if _, err := c.FindToolCall("nope"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("want ErrNotFound, got %v", err)
	}
	var a struct {
		System   string
		Messages []json.RawMessage
	}
	if err := json.Unmarshal([]byte(ok(c.JSON(FormatAnthropic))), &a); err != nil {
		t.Fatal(err)
	}
	if a.System != "You are terse." || len(a.Messages) != 4 {
		t.Fatalf("anthropic %+v", a)
	}
	if err := c.Append("user", "naïve 日本語"); err != nil {
		t.Fatal(err)
	}
	if s := ok(c.Text(5)); s != "naïve 日本語" {
		t.Fatalf("text %q", s)
	}
	if err := c.Append("user", "\xff"); !errors.Is(err, ErrUTF8) {
		t.Fatalf("want ErrUTF8, got %v", err)
	}
}

func TestCountConvIsItsMessagesPlusPriming(t *testing.T) {
	tok := ok(NewEstimator())
	defer tok.Close()
	c := ok(ParseConv(convJSON, FormatAuto))
	total, per, err := tok.CountConvMessages(c, nil)
	if err != nil {
		t.Fatal(err)
	}
	var sum int64
	for _, v := range per {
		sum += v
	}
	if total != sum+3 || len(per) != 5 {
		t.Fatalf("total %d sum %d", total, sum)
	}
	zero := CountOptions{}
	bare := ok(tok.CountConv(c, &zero))
	if bare != total-3-5*3-1-3 {
		t.Fatalf("bare %d total %d", bare, total)
	}
	if _, err := tok.CountConv(c, &CountOptions{PerMessage: -1}); !errors.Is(err, ErrInvalid) {
		t.Fatalf("want ErrInvalid, got %v", err)
	}
}

func TestCallbackTokenizerErrorsAndPanicsComeBackWrapped(t *testing.T) {
	boom := errors.New("boom")
	tok := ok(NewCallbackTokenizer(func(s string) (int64, error) {
		switch s {
		case "fail":
			return 0, boom
		case "panic":
			panic("oops")
		}
		return int64(len(strings.Fields(s))), nil
	}))
	defer tok.Close()
	if n := ok(tok.Count("a b c")); n != 3 {
		t.Fatalf("count %d", n)
	}
	_, err := tok.Count("fail")
	if !errors.Is(err, ErrCallback) || !errors.Is(err, boom) {
		t.Fatalf("want ErrCallback wrapping boom, got %v", err)
	}
	_, err = tok.Count("panic")
	if !errors.Is(err, ErrCallback) || !strings.Contains(err.Error(), "oops") {
		t.Fatalf("want the recovered panic, got %v", err)
	}
	c := ok(ParseConv(`[{"role":"user","content":"fail"}]`, FormatAuto))
	if _, err := tok.CountConv(c, nil); !errors.Is(err, boom) || !strings.Contains(err.Error(), "messages[0]") {
		t.Fatalf("want boom with the message, got %v", err)
	}
}

func TestOneTokenizerIsSharedByManyGoroutines(t *testing.T) {
	tok := ok(NewCallbackTokenizer(func(s string) (int64, error) { return int64(len(s)), nil }))
	est := ok(NewEstimator())
	text := strings.Repeat("The quick brown fox jumps over the lazy dog. ", 20)
	want := ok(est.Count(text))
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 200; i++ {
				n, err := est.Count(text)
				m, err2 := tok.Count(text)
				if err != nil || err2 != nil || n != want || m != int64(len(text)) {
					errs <- errors.New("wrong count under concurrency")
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
}

func TestEstimatorForAnEncoding(t *testing.T) {
	for _, e := range []string{"cl100k_base", "o200k_base"} {
		tok := ok(NewEstimatorFor(e))
		if n := ok(tok.Count("The quick brown fox jumps over the lazy dog.")); n <= 0 {
			t.Fatalf("%s: %d", e, n)
		}
	}
	if _, err := NewEstimatorFor("no_such_encoding"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("want ErrNotFound, got %v", err)
	}
}

func TestCloseTwiceIsANoOp(t *testing.T) {
	tok := ok(NewEstimator())
	tok.Close()
	tok.Close()
	c := ok(NewConv())
	c.Close()
	c.Close()
}

func TestPricesAndMeter(t *testing.T) {
	prices := ok(DefaultPrices())
	defer prices.Close()
	p := ok(prices.Lookup("gpt-4o"))
	u := Usage{InputTokens: 1000, OutputTokens: 100}
	cost := ok(prices.Cost("gpt-4o", u))
	if cost.Total != (1000*p.InputPerMtok()+100*p.OutputPerMtok()+500000)/1000000 || p.Name != "gpt-4o" {
		t.Fatalf("cost %+v", cost)
	}
	if c2 := ok(p.Compute(u)); c2 != cost {
		t.Fatalf("compute %+v != %+v", c2, cost)
	}
	if v := ok(ParseUSD(FormatUSD(cost.Total))); v != cost.Total {
		t.Fatalf("usd round trip %d", v)
	}
	if _, err := prices.Lookup("no-such-model"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("want ErrNotFound, got %v", err)
	}
	pu := ok(ParseUsage(`{"input_tokens":10,"cache_read_input_tokens":90,"output_tokens":5}`, UsageAuto))
	if pu.InputTokens != 100 || pu.CacheReadTokens != 90 {
		t.Fatalf("usage %+v", pu)
	}
	m := ok(NewMeter(prices, MeterOptions{}))
	defer m.Close()
	var wg sync.WaitGroup
	for g := 0; g < 4; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 25; i++ {
				if err := m.Record(Call{Workflow: "triage", Model: "gpt-4o", Usage: u, Cost: CostCompute}); err != nil {
					t.Error(err)
				}
			}
		}()
	}
	wg.Wait()
	st := ok(m.Stats(DimWorkflow, "triage"))
	if st.Calls != 100 || st.Cost != 100*cost.Total {
		t.Fatalf("stats %+v", st)
	}
	if out := ok(m.Export(ExportPrometheus)); !strings.Contains(out, "gen_ai_client_token_usage") {
		t.Fatal("no histogram in the export")
	}
}

const routerJSON = `{"tiers":[{"name":"small","models":["mini"],"threshold":0.7},
 {"name":"large","models":["big","backup"]}],
 "rules":[{"when":{"attr":"kind","eq":"chat"},"tier":"small","reason":"chit-chat","shadow_rate":1}],
 "default_tier":"large"}`

func TestRouterDecidesWithAGoClock(t *testing.T) {
	now := int64(1000)
	var mu sync.Mutex
	r := ok(NewRouter(routerJSON, &RouterOptions{NowMS: func() int64 { mu.Lock(); defer mu.Unlock(); return now }}))
	defer r.Close()
	task := ok(NewTask(map[string]interface{}{"kind": "chat", "n": 3, "tags": []string{"a"}, "hot": true}))
	d := ok(r.Decide(task))
	if d.Rule != 0 || d.Model != "mini" || d.Reason != "chit-chat" {
		t.Fatalf("decision %+v", d)
	}
	other := ok(TaskFromJSON(`{"kind":"code"}`))
	for i := 0; i < 10; i++ {
		if _, err := r.ReportFailure("big", FailServer); err != nil {
			t.Fatal(err)
		}
	}
	if until := ok(r.ModelCooldown("big")); until <= now {
		t.Fatalf("cooldown until %d", until)
	}
	if d := ok(r.Decide(other)); d.Model != "backup" {
		t.Fatalf("failover %+v", d)
	}
	if _, err := NewRouter(`{"tiers":[]`, nil); !errors.Is(err, ErrParse) {
		t.Fatalf("want ErrParse, got %v", err)
	}
}

func TestRouterCallbacksReturnTheirErrors(t *testing.T) {
	r := ok(NewRouter(routerJSON, nil))
	boom := errors.New("judge down")
	if _, err := r.ShadowCompare(0, "a", "b", func(a, b string) (bool, error) { return false, boom }); !errors.Is(err, boom) {
		t.Fatalf("want boom, got %v", err)
	}
	if ok := ok(r.ShadowCompare(0, "a", "a", func(a, b string) (bool, error) { return a == b, nil })); !ok {
		t.Fatal("comparator verdict lost")
	}
	c := ok(r.NewCascade(0, func(s string) (float64, error) {
		if s == "meh" {
			return 0.2, nil
		}
		return 0, boom
	}))
	defer c.Close()
	if _, m, _ := c.Next(); m != "mini" {
		t.Fatalf("first model %q", m)
	}
	if st, conf, err := c.Report("meh", true, 5); err != nil || st != CascadeEscalate || conf != 0.2 {
		t.Fatalf("report %d %v %v", st, conf, err)
	}
	c.Next()
	if _, _, err := c.Report("x", true, 1); !errors.Is(err, boom) || c.Attempts() != 1 {
		t.Fatalf("want boom and nothing counted, got %v, %d", err, c.Attempts())
	}
}

func TestSchemaValidatesAndCaps(t *testing.T) {
	s := ok(CompileSchema(`{"type":"object","properties":{"name":{"type":"string","maxLength":5}},
	  "required":["name"],"additionalProperties":false}`))
	defer s.Close()
	if v := ok(s.Validate(`{"name":"bob"}`)); !v.Valid {
		t.Fatalf("valid doc refused: %+v", v)
	}
	v := ok(s.Validate(`{"name":"bobbybob","x":1}`))
	if v.Valid || len(v.Errors) != 2 || v.Reask == "" {
		t.Fatalf("validation %+v", v)
	}
	tok := ok(NewEstimator())
	if n, bounded, err := s.OutputCap(tok, 1); err != nil || !bounded || n <= 5 {
		t.Fatalf("cap %d %v %v", n, bounded, err)
	}
	if _, err := CompileSchema(`{"$dynamicRef":"#x"}`); !errors.Is(err, ErrUnsupported) {
		t.Fatalf("want ErrUnsupported, got %v", err)
	}
	if st := ok(RetryNext(4, 1)); st.Action != 3 {
		t.Fatalf("retry %+v", st)
	}
}

func TestBudgetReserveCommitAndLimitCallback(t *testing.T) {
	o := DefaultBudgetOptions()
	o.HardTokens = 1000
	var seen []string
	o.OnLimit = func(level, dim string) { seen = append(seen, level+"/"+dim) }
	b := ok(NewBudget(o, nil))
	defer b.Close()
	r := ok(b.Reserve(Amount{InputTokens: 300, OutputTokens: 100}))
	if err := r.Commit(Amount{InputTokens: 300, OutputTokens: 50}); err != nil {
		t.Fatal(err)
	}
	if st := ok(b.Status()); st.TokensCommitted != 350 || st.TokensReserved != 0 {
		t.Fatalf("state %+v", st)
	}
	if _, err := b.Reserve(Amount{InputTokens: 900}); !errors.Is(err, ErrBudget) {
		t.Fatalf("want ErrBudget, got %v", err)
	}
	if err := b.Charge(Amount{InputTokens: 650}); err != nil {
		t.Fatal(err)
	}
	if len(seen) != 1 || seen[0] != "hard/tokens" {
		t.Fatalf("limit callback %v", seen)
	}
}

func longConv(t *testing.T) *Conv {
	c := ok(ParseConv(convJSON, FormatAuto))
	noerr(t, c.Insert(1, "user", strings.Repeat("Tell me a long story about dragons. ", 5)))
	noerr(t, c.Insert(2, "assistant", strings.Repeat("Once upon a time there was a dragon. ", 10)))
	return c
}

func TestPruneKeepsToolPairsAndUsesGoCallbacks(t *testing.T) {
	tok := ok(NewEstimator())
	pr := ok(NewPruner(tok))
	defer pr.Close()
	c := longConv(t)
	rep := ok(pr.Run(c, PruneOptions{Mode: PruneScore, MaxTokens: 80, KeepLastTurns: 1}))
	if rep.TokensAfter > 80 || len(rep.Dropped) != 2 || rep.Dropped[0] != 1 {
		t.Fatalf("report %+v", rep)
	}
	if n := ok(tok.CountConv(c, nil)); n != rep.TokensAfter {
		t.Fatalf("count %d vs report %d", n, rep.TokensAfter)
	}
	boom := errors.New("scorer down")
	c2 := longConv(t)
	before := ok(c2.JSON(FormatOpenAI))
	_, err := pr.Run(c2, PruneOptions{Mode: PruneScore, MaxTokens: 80, KeepLastTurns: -1,
		Score: func(i int) (float64, error) { return 0, boom }})
	if !errors.Is(err, ErrCallback) || !errors.Is(err, boom) {
		t.Fatalf("want boom, got %v", err)
	}
	if after := ok(c2.JSON(FormatOpenAI)); after != before {
		t.Fatal("a failed run changed the conversation")
	}
	c3 := longConv(t)
	rep = ok(pr.Run(c3, PruneOptions{Mode: PruneSummarise, MaxTokens: 100, KeepLastTurns: 1,
		SummaryMaxTokens: 30, Summarise: func(d []int, max int64) (string, error) {
			return "Asked about dragons.", nil
		}}))
	if rep.Summary != 1 || ok(c3.Text(rep.SummaryIndex)) != "Asked about dragons." {
		t.Fatalf("summary %+v", rep)
	}
	c4 := longConv(t)
	rep = ok(pr.Run(c4, PruneOptions{Mode: PruneTrim, MaxTokens: 70, StrategyFirst: true, EndOn: []string{"user"}}))
	if c4.Len() != 2 || c4.Role(1) != "user" || rep.TokensAfter > 70 || rep.Messages[len(rep.Messages)-1].Action != 1 {
		t.Fatalf("trim first: %d messages, report %+v", c4.Len(), rep)
	}
	if _, err := pr.Run(longConv(t), PruneOptions{MaxTokens: 60, StartOn: []string{"wizard"}}); !errors.Is(err, ErrInvalid) {
		t.Fatalf("want ErrInvalid for an unknown role, got %v", err)
	}
}

func TestToolCacheHitsAndExpiresOnAGoClock(t *testing.T) {
	var now int64
	tc := ok(NewToolCache(ToolCacheOptions{Clock: func() int64 { return now }}))
	defer tc.Close()
	noerr(t, tc.SetPolicy("search", true, 1000, ScopeSession))
	noerr(t, tc.Put("search", `{"q":"x","n":2.0}`, "s1", "result", 10))
	if v, ok, err := tc.Get("search", `{"n":2,"q":"x"}`, "s1"); err != nil || !ok || v != "result" {
		t.Fatalf("get %q %v %v", v, ok, err)
	}
	now = 5000
	if _, ok, _ := tc.Get("search", `{"n":2,"q":"x"}`, "s1"); ok {
		t.Fatal("expired entry served")
	}
	if err := tc.Put("mail", `{}`, "s1", "x", 1); !errors.Is(err, ErrState) {
		t.Fatalf("want ErrState, got %v", err)
	}
	if st := ok(tc.Stats()); st.Hits != 1 || st.Expirations != 1 {
		t.Fatalf("stats %+v", st)
	}
}

func TestBatchRoundTrip(t *testing.T) {
	var lines []string
	w := ok(NewBatchWriter(BatchWriterOptions{Write: func(b []byte) error { lines = append(lines, string(b)); return nil }}))
	defer w.Close()
	noerr(t, w.Add("r1", `{"model":"gpt-4o-mini","messages":[]}`))
	noerr(t, w.Add("r2", `{"model":"gpt-4o-mini","messages":[]}`))
	if err := w.Add("r1", `{"model":"gpt-4o-mini"}`); !errors.Is(err, ErrDuplicate) {
		t.Fatalf("want ErrDuplicate, got %v", err)
	}
	noerr(t, w.Finish())
	if len(lines) != 2 || !strings.Contains(lines[0], `"custom_id":"r1"`) {
		t.Fatalf("lines %q", lines)
	}
	prices := ok(DefaultPrices())
	var got []BatchResult
	r := ok(NewBatchReader(BatchOpenAI, prices, func(res BatchResult) error { got = append(got, res); return nil }))
	defer r.Close()
	noerr(t, r.ExpectWriter(w))
	noerr(t, r.Feed([]byte(`{"id":"b","custom_id":"r1","error":null,"response":{"status_code":200,`+
		`"body":{"model":"gpt-4o-mini","usage":{"prompt_tokens":12,"completion_tokens":3,"total_tokens":15}}}}`+"\n")))
	noerr(t, r.Finish())
	if len(got) != 1 || got[0].CustomID != "r1" || got[0].Usage == nil || got[0].Usage.InputTokens != 12 || got[0].Cost == nil {
		t.Fatalf("results %+v", got)
	}
	if s := ok(r.Summary()); s.Missing != 1 || s.Succeeded != 1 {
		t.Fatalf("summary %+v", s)
	}
	boom := errors.New("disk full")
	w2 := ok(NewBatchWriter(BatchWriterOptions{Write: func(b []byte) error { return boom }}))
	if err := w2.Add("a", `{"model":"m"}`); !errors.Is(err, ErrIO) || !errors.Is(err, boom) {
		t.Fatalf("want ErrIO wrapping boom, got %v", err)
	}
}

func TestPromptAssemblesAndRenders(t *testing.T) {
	tok := ok(NewEstimator())
	build := func(q string) *Prompt {
		b := ok(NewPromptBuilder(false))
		defer b.Close()
		ok(b.AddTool(`{"name":"weather","parameters":{"type":"object"}}`))
		ok(b.AddText(TextPart{Kind: SegStatic, Stability: StableStatic,
			Name: "system", Text: strings.Repeat("You are terse. ", 200)}))
		ok(b.SetHistory(ok(ParseConv(`[{"role":"user","content":"hi"}]`, FormatAuto)), StableSession))
		ok(b.AddText(TextPart{Kind: SegDynamic, Stability: StableVolatile, Name: "query", Text: q}))
		return ok(b.Assemble(tok))
	}
	p1, p2 := build("weather?"), build("rain?")
	if p1.Version() != p2.Version() || p1.Fingerprint() == p2.Fingerprint() || p1.Segments() != 4 {
		t.Fatal("fingerprints do not follow the segments")
	}
	if first, n, err := p2.Diff(p1); err != nil || first != 3 || n != 1 {
		t.Fatalf("diff %d %d %v", first, n, err)
	}
	body := ok(p1.Render(RenderOptions{Format: FormatAnthropic, Model: "claude-sonnet-4-5", MaxTokens: 100, MinCacheTokens: 100}))
	if !strings.Contains(body, "cache_control") {
		t.Fatal("no cache breakpoint")
	}
	f := ok(Lint("Today is 2026-11-28."))
	if len(f) != 1 || f[0].Kind != "date" || f[0].Offset != 9 {
		t.Fatalf("lint %+v", f)
	}
}

// mapStore is the store semantics of store.h over maps, enough for the tests.
type mapStore struct {
	mu        sync.Mutex
	committed map[string][]int64
	open      map[string]map[string][]int64
	done      map[string]bool
	values    map[string][]byte
	sums      map[string][]int64
	down      bool
}

func newMapStore() *mapStore {
	return &mapStore{committed: map[string][]int64{}, open: map[string]map[string][]int64{},
		done: map[string]bool{}, values: map[string][]byte{}, sums: map[string][]int64{}}
}

func (s *mapStore) used(k string, n int) []int64 {
	u := make([]int64, n)
	copy(u, s.committed[k])
	for _, r := range s.open[k] {
		for j := range u {
			u[j] += r[j]
		}
	}
	return u
}

func (s *mapStore) Reserve(key []byte, id string, amounts, limits []int64, lease, ttl int64) (bool, []int64, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.down {
		return false, nil, &Error{Code: StatusUnavailable, Message: "store down"}
	}
	k := string(key)
	u := s.used(k, len(amounts))
	for j := range amounts {
		if u[j]+amounts[j] > limits[j] {
			return false, u, nil
		}
	}
	if s.open[k] == nil {
		s.open[k] = map[string][]int64{}
	}
	s.open[k][id] = append([]int64(nil), amounts...)
	return true, s.used(k, len(amounts)), nil
}

func (s *mapStore) Commit(key []byte, id string, actual []int64, idTTL, ttl int64) ([]int64, bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	k := string(key)
	if s.done[k+id] {
		return s.used(k, len(actual)), true, nil
	}
	s.done[k+id] = true
	delete(s.open[k], id)
	c := s.committed[k]
	for len(c) < len(actual) {
		c = append(c, 0)
	}
	for j := range actual {
		c[j] += actual[j]
	}
	s.committed[k] = c
	return s.used(k, len(actual)), false, nil
}

func (s *mapStore) Release(key []byte, id string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.open[string(key)], id)
	return nil
}

func (s *mapStore) Usage(key []byte, n int) ([]int64, []int64, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	c := make([]int64, n)
	copy(c, s.committed[string(key)])
	u := s.used(string(key), n)
	for j := range u {
		u[j] -= c[j]
	}
	return c, u, nil
}

func (s *mapStore) Get(key []byte) ([]byte, bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	v, ok := s.values[string(key)]
	return v, ok, nil
}

func (s *mapStore) Set(key, value []byte, ttl int64) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.values[string(key)] = value
	return nil
}

func (s *mapStore) Add(key []byte, id string, deltas []int64, idTTL int64) ([]int64, bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	k := string(key)
	if id != "" && s.done[k+"#"+id] {
		return s.sums[k], true, nil
	}
	s.done[k+"#"+id] = true
	t := s.sums[k]
	for len(t) < len(deltas) {
		t = append(t, 0)
	}
	for j := range deltas {
		t[j] += deltas[j]
	}
	s.sums[k] = t
	return t, false, nil
}

func (s *mapStore) Read(key []byte, n int) ([]int64, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	v := make([]int64, n)
	copy(v, s.sums[string(key)])
	return v, nil
}

func TestGoStoreSharesBudgetsCachesAndMeters(t *testing.T) {
	s := newMapStore()
	o := DefaultBudgetOptions()
	o.HardTokens = 1000
	a := ok(NewSharedBudget(o, SharedBudgetOptions{Key: "tenant"}, s, nil))
	b := ok(NewSharedBudget(o, SharedBudgetOptions{Key: "tenant"}, s, nil))
	noerr(t, a.Charge(Amount{InputTokens: 600}))
	if _, err := b.Reserve(Amount{InputTokens: 500}); !errors.Is(err, ErrBudget) {
		t.Fatalf("want ErrBudget, got %v", err)
	}
	s.mu.Lock()
	s.down = true
	s.mu.Unlock()
	_, err := b.Reserve(Amount{InputTokens: 1})
	if !errors.Is(err, ErrUnavailable) || !strings.Contains(err.Error(), "store down") {
		t.Fatalf("want ErrUnavailable with the store's text, got %v", err)
	}
	c1, c2 := ok(NewToolCache(ToolCacheOptions{})), ok(NewToolCache(ToolCacheOptions{}))
	for _, c := range []*ToolCache{c1, c2} {
		noerr(t, c.SetPolicy("search", true, 60000, ScopeGlobal))
		noerr(t, c.SetStore(s, "tc:"))
	}
	noerr(t, c1.Put("search", `{"q":"x"}`, "", "shared", 2))
	if v, hit, err := c2.Get("search", `{"q":"x"}`, ""); err != nil || !hit || v != "shared" {
		t.Fatalf("shared get %q %v %v", v, hit, err)
	}
	m1, m2 := ok(NewMeter(nil, MeterOptions{})), ok(NewMeter(nil, MeterOptions{}))
	for _, m := range []*Meter{m1, m2} {
		noerr(t, m.SetStore(s, "m:"))
		noerr(t, m.Record(Call{Model: "gpt-4o", Usage: Usage{InputTokens: 10, OutputTokens: 2}, Cost: 5}))
	}
	if st := ok(m1.SharedStats(DimTotal, "")); st.Calls != 2 || st.Cost != 10 {
		t.Fatalf("shared stats %+v", st)
	}
}

func TestConvPartsNamesAndFilter(t *testing.T) {
	c := ok(ParseConv(`[{"role":"user","content":[{"type":"text","text":"hi"},
	  {"type":"image_url","image_url":{"url":"https://x.invalid/a.png"}}]},
	  {"role":"assistant","content":"hello"},{"role":"user","content":"bye"}]`, FormatAuto))
	defer c.Close()
	parts := ok(c.Parts(0))
	if len(parts) != 2 || parts[0] != (Part{"text", "hi"}) || parts[1].Type != "image_url" {
		t.Fatalf("parts %+v", parts)
	}
	if p := ok(c.Parts(1)); p != nil {
		t.Fatalf("string content has parts %+v", p)
	}
	noerr(t, c.SetName(1, "bot"))
	if n := ok(c.Name(1)); n != "bot" {
		t.Fatalf("name %q", n)
	}
	noerr(t, c.Filter([]bool{false, true, true}))
	if c.Len() != 2 || c.Role(0) != "assistant" || c.SourceFormat() != FormatOpenAI {
		t.Fatalf("after filter: %d %q", c.Len(), c.Role(0))
	}
	if err := c.Filter([]bool{true}); !errors.Is(err, ErrInvalid) {
		t.Fatalf("want ErrInvalid for a short mask, got %v", err)
	}
}

func TestRouterBuilderBuildsTheSameRouter(t *testing.T) {
	b := ok(NewRouterBuilder())
	defer b.Close()
	noerr(t, b.AddTier("small", []string{"mini"}, 0.7))
	noerr(t, b.AddTier("large", []string{"big"}, 0))
	noerr(t, b.AddRule(Rule{When: `{"attr":"kind","eq":"chat"}`, Tier: "small", Reason: "chit-chat"}))
	noerr(t, b.SetDefaultTier("large"))
	noerr(t, b.SetRetries(FailRateLimit, 3))
	r := ok(b.Build(nil))
	defer r.Close()
	if tiers := r.Tiers(); len(tiers) != 2 || r.RuleCount() != 1 || ok(r.TierThreshold(0)) != 0.7 {
		t.Fatalf("tiers %v rules %d", tiers, r.RuleCount())
	}
	if n := ok(r.Retries(FailRateLimit)); n != 3 {
		t.Fatalf("retries %d", n)
	}
	task := ok(NewTask(map[string]interface{}{"kind": "chat"}))
	if d := ok(r.Decide(task)); d.Reason != "chit-chat" {
		t.Fatalf("decision %+v", d)
	}
	noerr(t, task.Remove("kind"))
	if d := ok(r.Decide(task)); d.Rule != -1 {
		t.Fatalf("decision after remove %+v", d)
	}
	if err := b.AddRule(Rule{When: `{"attr":`, Tier: "small"}); !errors.Is(err, ErrParse) {
		t.Fatalf("want ErrParse, got %v", err)
	}
	if FailClassName(FailTimeout) != "timeout" || FailClassFromName("auth") != FailAuth {
		t.Fatal("failure class names")
	}
}

func TestSchemaCheckAndNearLimit(t *testing.T) {
	s := ok(CompileSchemaWithLimits(`{"type":"array","maxItems":2}`, SchemaLimits{MaxErrors: 1}))
	noerr(t, s.Check(`[1,2]`))
	if err := s.Check(`[1,2,3]`); !errors.Is(err, ErrSchema) || !strings.Contains(err.Error(), "maxItems") {
		t.Fatalf("want a maxItems ErrSchema, got %v", err)
	}
	if stopped, ratio, err := NearLimit("max_tokens", 95, 100); err != nil || !stopped || !ratio {
		t.Fatalf("near limit %v %v %v", stopped, ratio, err)
	}
}

func TestPromptDetailsAndCachePlan(t *testing.T) {
	tok := ok(NewEstimator())
	b := ok(NewPromptBuilder(false))
	idx := ok(b.AddText(TextPart{Kind: SegStatic, Stability: StableStatic,
		Name: "system", Text: "Today is 2026-11-28. " + strings.Repeat("Be terse. ", 300)}))
	noerr(t, b.SetTTL(idx, 1))
	ok(b.AddText(TextPart{Kind: SegDynamic, Stability: StableVolatile,
		Name: "query", Text: "hello"}))
	p := ok(b.Assemble(tok))
	seg := ok(p.Segment(0))
	if seg.Name != "system" || seg.Kind != "static" || seg.TTL != 1 {
		t.Fatalf("segment %+v", seg)
	}
	blocks := ok(p.Blocks())
	var sum int64
	for _, bl := range blocks {
		sum += bl.Tokens
	}
	if sum != p.Tokens() || blocks[len(blocks)-1].Fingerprint != p.Fingerprint() {
		t.Fatal("blocks do not add up to the prompt")
	}
	f := ok(p.Findings())
	if len(f) == 0 || f[0].Kind != "date" {
		t.Fatalf("findings %+v", f)
	}
	bp := ok(p.Breakpoints(100, 4))
	if len(bp) == 0 || bp[0].TTL != 1 {
		t.Fatalf("breakpoints %+v", bp)
	}
	if ok(MinCacheTokens(ProviderOpenAI, "gpt-4o")) != 1024 {
		t.Fatal("min cache tokens")
	}
	if _, err := MinCacheTokens(ProviderAnthropic, "my-claude-haiku-4-5"); err == nil ||
		!strings.Contains(err.Error(), "my-claude-haiku-4-5") {
		t.Fatalf("an unknown model: %v", err)
	}
	cp := ok(NewCachePlan(CachePlanOptions{Provider: ProviderAnthropic, Model: "claude-sonnet-4-5", PriceInput: 3000000, MinCacheTokens: 100}))
	defer cp.Close()
	for i := 0; i < 3; i++ {
		noerr(t, cp.AddPrompt(int64(i)*1000, p))
	}
	noerr(t, cp.AddBlocks(5000, []PlanBlock{{Fingerprint: 1, Tokens: 50}}))
	r := ok(cp.Result())
	if r.Requests != 4 || r.CachedTokens == 0 || r.CostWith >= r.CostWithout {
		t.Fatalf("plan %+v", r)
	}
	if a := ok(cp.Advice()); !strings.Contains(a, "hit rate") {
		t.Fatalf("advice without the hit rate: %q", a)
	}
	b.Clear()
}

func TestSmallAccessors(t *testing.T) {
	if VersionNumber() != 200 || Version() != "0.2.0" {
		t.Fatalf("version %d %q", VersionNumber(), Version())
	}
	if !strings.Contains(DefaultPricesJSON(), "gpt-4o") || OTelProvider("gemini") != "gcp.gemini" {
		t.Fatal("prices accessors")
	}
	p := ok(LoadPrices(`{"m":{"input_cost_per_token":1e-6,"output_cost_per_token":2e-6},"bad":{"input_cost_per_token":-1}}`, true, `{"alias":"m"}`))
	if key, why, err := p.SkippedAt(0); p.Skipped() != 1 || err != nil || key != "bad" || !strings.Contains(why, "input_cost_per_token") {
		t.Fatalf("skipped %d %q %q", p.Skipped(), key, why)
	}
	if m := ok(p.Lookup("alias")); m.Name != "m" {
		t.Fatalf("alias lookup %+v", m)
	}
	tc := ok(NewToolCache(ToolCacheOptions{}))
	noerr(t, tc.SetPolicy("t", true, 0, ScopeSession))
	noerr(t, tc.Put("t", `{}`, "s1", "v", 1))
	if !tc.IsCacheable("t") || tc.IsCacheable("u") {
		t.Fatal("is cacheable")
	}
	if n := ok(tc.InvalidateScope(ScopeSession, "s1")); n != 1 {
		t.Fatalf("invalidated %d", n)
	}
	ok(tc.PurgeExpired())
	noerr(t, tc.Clear())
	m := ok(NewMeter(nil, MeterOptions{}))
	noerr(t, m.Record(Call{Model: "a", Usage: Usage{InputTokens: 1}, Cost: 1}))
	if m.KeyCount(DimModel) != 1 {
		t.Fatal("key count")
	}
	w := ok(NewBatchWriter(BatchWriterOptions{Write: func([]byte) error { return nil }}))
	noerr(t, w.Add("x", `{"model":"m"}`))
	if f, r, _, err := w.Counts(); err != nil || f != 1 || r != 1 {
		t.Fatalf("counts %d %d %v", f, r, err)
	}
	rd := ok(NewBatchReader(BatchAnthropic, nil, nil))
	noerr(t, rd.Expect("x"))
	noerr(t, rd.Finish())
	if dl := ok(rd.DeadLetters()); len(dl) != 1 || dl[0].CustomID != "x" || dl[0].Reason != 1 {
		t.Fatalf("dead letters %+v", dl)
	}
	o := DefaultBudgetOptions()
	o.HardTokens = 10
	parent := ok(NewBudget(o, nil))
	child := ok(NewBudget(DefaultBudgetOptions(), nil))
	noerr(t, child.SetParent(parent))
	if _, err := child.Reserve(Amount{InputTokens: 11}); !errors.Is(err, ErrBudget) {
		t.Fatalf("parent limit not applied: %v", err)
	}
	if err := parent.SetParent(child); !errors.Is(err, ErrInvalid) {
		t.Fatalf("want ErrInvalid for a cycle, got %v", err)
	}
}

func TestFinalizersFreeForgottenObjects(t *testing.T) {
	// objects dropped without Close are freed by their finalisers, callbacks
	// and borrowed parts included, without a crash
	for i := 0; i < 200; i++ {
		tok := ok(NewCallbackTokenizer(func(s string) (int64, error) { return int64(len(s)), nil }))
		c := ok(ParseConv(convJSON, FormatAuto))
		ok(tok.CountConv(c, nil))
		pr := ok(NewPruner(tok))
		ok(pr.Run(c, PruneOptions{MaxTokens: 1000}))
		ok(NewRouter(routerJSON, &RouterOptions{NowMS: func() int64 { return 1 }}))
	}
	runtime.GC()
	runtime.GC()
}

// The zero value of a BudgetOptions field is "unset": a budget given only a
// token limit limits tokens and nothing else (it used to refuse everything,
// every other limit being 0).
func TestBudgetOptionsZeroIsUnset(t *testing.T) {
	b, err := NewBudget(BudgetOptions{HardTokens: 1000}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	if err := b.Charge(Amount{InputTokens: 400, OutputTokens: 100, Money: MustUSD("1000")}); err != nil {
		t.Fatalf("within the token limit, any money: %v", err)
	}
	if _, err := b.Reserve(Amount{InputTokens: 600}); !errors.Is(err, ErrBudget) {
		t.Fatalf("over the token limit: %v, want ErrBudget", err)
	}
	st, err := b.Status()
	if err != nil || st.TokensCommitted != 500 {
		t.Fatalf("status %+v %v", st, err)
	}
	if _, err := NewBudget(BudgetOptions{SoftMoney: -1}, nil); !errors.Is(err, ErrInvalid) {
		t.Fatalf("negative limit: %v, want ErrInvalid", err)
	}
	// a rolling period with the window left unset takes the C default (a day)
	r, err := NewBudget(BudgetOptions{Period: PeriodRolling, HardMoney: MustUSD("1")}, nil)
	if err != nil {
		t.Fatalf("rolling with default window: %v", err)
	}
	r.Close()
}
