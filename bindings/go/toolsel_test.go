package tokenomy

import (
	"encoding/json"
	"errors"
	"reflect"
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
	c, err := NewToolCatalogue(0, 0)
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
	if _, err := b.AddText(SegDynamic, StableVolatile, "q", "weather in Paris"); err != nil {
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
