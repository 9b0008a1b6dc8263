package tokenomy

import (
	"errors"
	"math"
	"testing"
)

// The options structs of issue 19: named fields, zero = the library default,
// values out of range an ErrInvalid (never a silent clamp).
func TestOptionStructs(t *testing.T) {
	for _, o := range []ToolCatalogueOptions{{}, {K1: 2}, {B: 1}, {K1: -1, B: -1}} {
		ok(NewToolCatalogue(o)).Close()
	}
	for _, o := range []ToolCatalogueOptions{{B: 1.5}, {K1: math.NaN()}, {K1: math.Inf(1)}} {
		if _, err := NewToolCatalogue(o); !errors.Is(err, ErrInvalid) {
			t.Fatalf("NewToolCatalogue(%+v): %v, want ErrInvalid", o, err)
		}
	}
	for _, o := range []MeterOptions{{}, {MaxKeys: 1}, {MaxKeys: 65536, BudgetMarginPct: 10000}} {
		ok(NewMeter(nil, o)).Close()
	}
	for _, o := range []MeterOptions{{MaxKeys: 65537}, {BudgetMarginPct: 10001}} {
		if _, err := NewMeter(nil, o); !errors.Is(err, ErrInvalid) {
			t.Fatalf("NewMeter(%+v): %v, want ErrInvalid", o, err)
		}
	}
	b := ok(NewPromptBuilder(false))
	defer b.Close()
	// Kind has no default: the zero TextPart is a tools segment, which is refused.
	if _, err := b.AddText(TextPart{Name: "n", Text: "t"}); !errors.Is(err, ErrInvalid) {
		t.Fatalf("AddText without a Kind: %v, want ErrInvalid", err)
	}
	if i := ok(b.AddText(TextPart{Kind: SegStatic, Name: "n", Text: "t"})); i != 0 {
		t.Fatalf("first segment index %d", i)
	}
}
