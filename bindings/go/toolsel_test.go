package tokenomy

import (
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"
)

var catalogueTools = []string{
	`{"type":"function","function":{"name":"search_flights","description":"Search flights between two cities.","parameters":{"type":"object","properties":{"origin":{"type":"string"}}}}}`,
	`{"name":"cancel_reservation","description":"Cancel a reservation.","input_schema":{"type":"object","properties":{"reservation_id":{"type":"string"}}}}`,
	`{"name":"get_weather","description":"Current weather for a city."}`,
	`{"name":"think","description":"Think about something."}`,
}

func newCatalogue(t *testing.T) *ToolCatalogue {
	t.Helper()
	c, err := NewToolCatalogue(ToolCatalogueOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for i, js := range catalogueTools {
		idx, err := c.Add(js)
		if err != nil || idx != i {
			t.Fatalf("Add %d: %d, %v", i, idx, err)
		}
	}
	return c
}

func TestToolCatalogueSelectsInCatalogueOrder(t *testing.T) {
	c := newCatalogue(t)
	defer c.Close()
	if c.Len() != 4 {
		t.Fatalf("Len %d", c.Len())
	}
	q := "cancel my reservation, and flights to Paris?"
	s, err := c.Scores(q)
	if err != nil || len(s) != 4 || !(s[1] > s[0] && s[0] > 0 && s[2] == 0) {
		t.Fatalf("Scores %v %v", s, err)
	}
	think, err := c.Find("think")
	if err != nil || think != 3 {
		t.Fatalf("Find %d %v", think, err)
	}
	sel, err := c.Select(q, 2, []int{think})
	if err != nil || !reflect.DeepEqual(sel, []int{0, 1, 3}) {
		t.Fatalf("Select %v %v", sel, err)
	}
	if _, err := c.Find("nope"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("Find nope: %v", err)
	}
	if _, err := c.Select(q, 1, []int{99}); !errors.Is(err, ErrInvalid) {
		t.Fatalf("Select with an index out of range: %v", err)
	}
	if _, err := c.Add(`{"name":"think"}`); !errors.Is(err, ErrDuplicate) {
		t.Fatalf("Add a duplicate: %v", err)
	}
}

func TestToolCatalogueDefersTheRest(t *testing.T) {
	c := newCatalogue(t)
	defer c.Close()
	sel, err := c.Select("weather in Paris", 1, nil)
	if err != nil || !reflect.DeepEqual(sel, []int{2}) {
		t.Fatalf("Select %v %v", sel, err)
	}
	b, err := NewPromptBuilder(false)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	if err := c.AddToBuilder(b, sel, true); err != nil {
		t.Fatal(err)
	}
	if _, err := b.AddText(TextPart{Kind: SegDynamic, Stability: StableVolatile,
		Name: "q", Text: "weather in Paris"}); err != nil {
		t.Fatal(err)
	}
	tok, err := NewTokenizerForModel("gpt-4o")
	if err != nil {
		t.Fatal(err)
	}
	defer tok.Close()
	p, err := b.Assemble(tok)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	body, err := p.Render(RenderOptions{Format: FormatOpenAI, Model: "gpt-4o"})
	if err != nil {
		t.Fatal(err)
	}
	var req struct {
		Tools []struct {
			Function struct{ Name string } `json:"function"`
		} `json:"tools"`
	}
	if err := json.Unmarshal([]byte(body), &req); err != nil || len(req.Tools) != 1 ||
		req.Tools[0].Function.Name != "get_weather" {
		t.Fatalf("OpenAI gets only the selected tool: %s %v", body, err)
	}
	if err := c.AddToBuilder(b, []int{2, 1}, true); !errors.Is(err, ErrInvalid) {
		t.Fatalf("indices out of order: %v", err)
	}
}

func TestAgentSendsTheToolsSelectedForTheLastUserMessage(t *testing.T) {
	c := newCatalogue(t)
	defer c.Close()
	var bodies []string
	complete := func(req *LLMRequest, resp *LLMResponse) error {
		bodies = append(bodies, req.Body)
		return resp.SetContent("ok")
	}
	a := ok(NewAgent(AgentOptions{Model: "gpt-4o", Complete: complete, Tools: c, ToolsK: 1,
		ToolsAlways: []int{3}}))
	defer a.Close()
	cv := ok(ParseConv(`[{"role":"user","content":"Cancel my reservation ABC123"}]`, FormatAuto))
	defer cv.Close()
	r := ok(a.Turn(cv, nil))
	var body struct {
		Tools []struct {
			Function struct{ Name string }
		}
	}
	noerr(t, json.Unmarshal([]byte(bodies[0]), &body))
	if len(body.Tools) != 2 || body.Tools[0].Function.Name != "cancel_reservation" ||
		body.Tools[1].Function.Name != "think" {
		t.Fatalf("tools sent: %s", bodies[0])
	}
	if !strings.Contains(r.Trace, `"selected":["cancel_reservation","think"]`) {
		t.Fatalf("trace %s", r.Trace)
	}
	b := ok(NewAgent(AgentOptions{Model: "claude-sonnet-4-5", Format: FormatAnthropic,
		Complete: complete, Tools: c, ToolsK: 1}))
	defer b.Close()
	ok(b.Turn(cv, nil))
	var ab struct {
		Tools []struct {
			Name  string
			Defer bool `json:"defer_loading"`
		}
	}
	noerr(t, json.Unmarshal([]byte(bodies[1]), &ab))
	sent := 0
	for _, tl := range ab.Tools {
		if !tl.Defer {
			sent++
			if tl.Name != "cancel_reservation" && tl.Name != "tool_search_tool_bm25" {
				t.Fatalf("sent undeferred: %s", tl.Name)
			}
		}
	}
	if len(ab.Tools) != 5 || sent != 2 {
		t.Fatalf("anthropic tools: %s", bodies[1])
	}
	if _, err := NewAgent(AgentOptions{Model: "gpt-4o", Complete: complete, Tools: c}); !errors.Is(err, ErrInvalid) {
		t.Fatalf("ToolsK 0: %v", err)
	}
	if _, err := NewAgent(AgentOptions{Model: "gpt-4o", Complete: complete, Tools: c, ToolsK: 1,
		ToolsAlways: []int{-1}}); !errors.Is(err, ErrInvalid) {
		t.Fatalf("ToolsAlways -1: %v", err)
	}
}
