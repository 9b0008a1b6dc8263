package tokenomy

/*
#include <stdlib.h>
#include "tokenomy.h"
*/
import "C"

import (
	"runtime"
	"unsafe"
)

// ToolCatalogue is a deferred tool catalogue (toolsel.h): tool definitions in
// the order added, ranked for a query by BM25 over their names, descriptions
// and parameter names.  Select returns catalogue indices in catalogue order, so
// the same chosen set always gives the same cached prompt prefix.  Adding is
// one goroutine at a time; once the tools are added, any number of goroutines
// may select at once.  (A host search callback is C and Python only.)
type ToolCatalogue struct {
	ref ref
}

// ToolCatalogueOptions configures NewToolCatalogue: BM25's constants.  A zero
// field means the library default (ToolCatalogueOptions{} is both defaults);
// a negative one asks for exactly 0.
type ToolCatalogueOptions struct {
	// K1 is the term-frequency saturation; 0: 1.2; < 0: 0.
	K1 float64
	// B is the length normalisation, at most 1; 0: 0.75; < 0: 0.
	B float64
}

// NewToolCatalogue makes an empty catalogue.  Errors: ErrInvalid for B > 1
// or a NaN or infinite constant, ErrNoMem.
func NewToolCatalogue(opts ToolCatalogueOptions) (*ToolCatalogue, error) {
	defer pin()()
	var o C.tkn_toolsel_options
	C.tkn_toolsel_options_init(&o, C.TKN_TOOLSEL_OPTIONS_VERSION)
	if opts.K1 < 0 {
		o.k1 = 0
	} else if opts.K1 != 0 {
		o.k1 = C.double(opts.K1)
	}
	if opts.B < 0 {
		o.b = 0
	} else if opts.B != 0 {
		o.b = C.double(opts.B)
	}
	c := &ToolCatalogue{}
	var p *C.tkn_toolsel
	if rc := C.tkn_toolsel_new(&p, &o); rc != 0 {
		return nil, mkerr(rc, "", nil)
	}
	c.own(p)
	runtime.SetFinalizer(c, (*ToolCatalogue).Close)
	return c, nil
}

// Close frees the catalogue.
func (c *ToolCatalogue) Close() {
	if c != nil && c.ref.Close() {
		runtime.SetFinalizer(c, nil)
	}
}

// Add adds one tool definition (neutral, OpenAI or Anthropic JSON); its index.
func (c *ToolCatalogue) Add(js string) (int, error) {
	defer pin()()
	self, done := c.use()
	defer done()
	if self == nil {
		return 0, c.closedErr()
	}
	p, n := cstr(js)
	var idx C.uint32_t
	rc := C.tkn_toolsel_add(self, p, n, &idx)
	runtime.KeepAlive(js)
	defer runtime.KeepAlive(c)
	return int(idx), mkerr(rc, "", nil)
}

// Len is the number of tools.
func (c *ToolCatalogue) Len() int {
	self, done := c.use()
	defer done()
	defer runtime.KeepAlive(c)
	return int(C.tkn_toolsel_count(self))
}

// Find is the index of the tool named name.
func (c *ToolCatalogue) Find(name string) (int, error) {
	defer pin()()
	self, done := c.use()
	defer done()
	if self == nil {
		return 0, c.closedErr()
	}
	p, n := cstr(name)
	var idx C.uint32_t
	rc := C.tkn_toolsel_find(self, p, n, &idx)
	runtime.KeepAlive(name)
	defer runtime.KeepAlive(c)
	return int(idx), mkerr(rc, "", nil)
}

// Scores are the BM25 scores of every tool for query, in catalogue order.
func (c *ToolCatalogue) Scores(query string) ([]float64, error) {
	defer pin()()
	self, done := c.use()
	defer done()
	if self == nil {
		return nil, c.closedErr()
	}
	n := int(C.tkn_toolsel_count(self))
	out := make([]float64, n+1)
	p, l := cstr(query)
	rc := C.tkn_toolsel_scores(self, p, l, (*C.double)(unsafe.Pointer(&out[0])), C.size_t(n))
	runtime.KeepAlive(query)
	runtime.KeepAlive(out)
	defer runtime.KeepAlive(c)
	if rc != 0 {
		return nil, mkerr(rc, "", nil)
	}
	return out[:n], nil
}

// Select returns the k best tools matching query plus the always indices, as
// catalogue indices in catalogue order.
func (c *ToolCatalogue) Select(query string, k int, always []int) ([]int, error) {
	defer pin()()
	self, done := c.use()
	defer done()
	if self == nil {
		return nil, c.closedErr()
	}
	if k < 0 {
		k = 0
	}
	n := int(C.tkn_toolsel_count(self))
	al := make([]C.uint32_t, len(always)+1)
	for i, a := range always {
		if a < 0 || a >= n {
			a = n // out of range: the library refuses it with its message
		}
		al[i] = C.uint32_t(a)
	}
	out := make([]C.uint32_t, n+1)
	var got C.size_t
	p, l := cstr(query)
	rc := C.tkn_toolsel_select(self, p, l, C.uint32_t(k), &al[0], C.size_t(len(always)), &out[0],
		C.size_t(n), &got)
	runtime.KeepAlive(query)
	runtime.KeepAlive(al)
	runtime.KeepAlive(out)
	defer runtime.KeepAlive(c)
	if rc != 0 {
		return nil, mkerr(rc, "", nil)
	}
	sel := make([]int, int(got))
	for i := range sel {
		sel[i] = int(out[i])
	}
	return sel, nil
}

// AddToBuilder adds the catalogue's tools to b in catalogue order: selected
// (ascending indices, as Select gives them) as they are, the others deferred
// (deferRest: Anthropic's defer_loading and tool search; OpenAI leaves them
// out) or not at all.
func (c *ToolCatalogue) AddToBuilder(b *PromptBuilder, selected []int, deferRest bool) error {
	defer pin()()
	self, done := c.use()
	defer done()
	if self == nil {
		return c.closedErr()
	}
	bp, bdone, err := b.borrow()
	if err != nil {
		return err
	}
	defer bdone()
	if bp == nil {
		return errNil("PromptBuilder")
	}
	sel := make([]C.uint32_t, len(selected)+1)
	for i, s := range selected {
		if s < 0 {
			s = int(^uint32(0) >> 1)
		}
		sel[i] = C.uint32_t(s)
	}
	mode := C.uint32_t(C.TKN_TOOLSEL_DEFER_REST)
	if !deferRest {
		mode = C.TKN_TOOLSEL_ONLY_SELECTED
	}
	rc := C.tkn_toolsel_add_to_builder(bp, self, &sel[0], C.size_t(len(selected)), mode)
	runtime.KeepAlive(sel)
	defer runtime.KeepAlive(c)
	defer runtime.KeepAlive(b)
	return mkerr(rc, "", nil)
}
