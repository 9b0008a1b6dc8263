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

// SegKind is the kind of a prompt segment; Stability how often it changes.
// They are distinct types, so a TextPart with the two swapped does not compile.
type (
	SegKind   uint32
	Stability uint32
)

// TextPart is one text segment for (*PromptBuilder).AddText and
// (*Agent).AddText.  Its fields are named at the call site, so a name and a
// text cannot be swapped silently:
//
//	b.AddText(tokenomy.TextPart{Kind: tokenomy.SegStatic,
//		Stability: tokenomy.StableStatic, Name: "system", Text: prompt})
//
// Kind has no default (its zero value is SegTools, which AddText rejects);
// Stability's zero value is StableStatic.  Name labels the segment in reports.
type TextPart struct {
	Kind      SegKind   // SegStatic, SegReference or SegDynamic
	Stability Stability // how often the text changes
	Name      string    // the segment's label
	Text      string    // the segment's text
}

// Segment kinds and stability classes of prompt.h.
const (
	SegTools       SegKind   = C.TKN_SEG_TOOLS
	SegStatic      SegKind   = C.TKN_SEG_STATIC
	SegReference   SegKind   = C.TKN_SEG_REFERENCE
	SegHistory     SegKind   = C.TKN_SEG_HISTORY
	SegDynamic     SegKind   = C.TKN_SEG_DYNAMIC
	StableStatic   Stability = C.TKN_STABILITY_STATIC
	StableSession  Stability = C.TKN_STABILITY_SESSION
	StableVolatile Stability = C.TKN_STABILITY_VOLATILE
)

// PromptBuilder collects prompt segments.  One goroutine at a time.
type PromptBuilder struct {
	ref     ref
	history *Conv
}

// NewPromptBuilder makes a builder (strict: fail assembly on lint findings).
func NewPromptBuilder(strict bool) (*PromptBuilder, error) {
	defer pin()()
	var o C.tkn_prompt_options
	C.tkn_prompt_options_init(&o, C.TKN_PROMPT_OPTIONS_VERSION)
	if strict {
		o.strict = 1
	}
	b := &PromptBuilder{}
	var p *C.tkn_prompt_builder
	if rc := C.tkn_prompt_builder_new(&p, &o); rc != 0 {
		return nil, mkerr(rc, "", nil)
	}
	b.own(p)
	runtime.SetFinalizer(b, (*PromptBuilder).Close)
	return b, nil
}

// Close frees the builder.
func (b *PromptBuilder) Close() {
	if b != nil && b.ref.Close() {
		runtime.SetFinalizer(b, nil)
	}
}

func (b *PromptBuilder) err(rc C.int) error {
	if rc == 0 {
		return nil
	}
	return lastError(rc, nil)
}

// AddText adds a text segment; it returns the segment's index.  Errors:
// ErrInvalid for a kind that is not a text kind or a bad stability, ErrClosed
// on a closed builder, ErrNoMem.
func (b *PromptBuilder) AddText(part TextPart) (int, error) {
	defer pin()()
	self, done := b.use()
	defer done()
	if self == nil {
		return 0, b.closedErr()
	}
	np, nn := cstr(part.Name)
	tp, tn := cstr(part.Text)
	var idx C.uint32_t
	rc := C.tkn_prompt_builder_add_text(self, C.uint32_t(part.Kind), C.uint32_t(part.Stability),
		np, nn, tp, tn, &idx)
	runtime.KeepAlive(part.Name)
	runtime.KeepAlive(part.Text)
	defer runtime.KeepAlive(b)
	return int(idx), b.err(rc)
}

// AddTool adds one tool definition (neutral, OpenAI or Anthropic JSON).
func (b *PromptBuilder) AddTool(js string) (int, error) {
	defer pin()()
	self, done := b.use()
	defer done()
	if self == nil {
		return 0, b.closedErr()
	}
	p, n := cstr(js)
	var idx C.uint32_t
	rc := C.tkn_prompt_builder_add_tool(self, p, n, &idx)
	runtime.KeepAlive(js)
	defer runtime.KeepAlive(b)
	return int(idx), b.err(rc)
}

// SetHistory borrows conv as the history segment (kept alive by the builder).
func (b *PromptBuilder) SetHistory(conv *Conv, stability Stability) (int, error) {
	defer pin()()
	self, done := b.use()
	defer done()
	if self == nil {
		return 0, b.closedErr()
	}
	var idx C.uint32_t
	cp, cdone, err := conv.borrow() // the builder keeps it: held while the builder lives
	if err != nil {
		return 0, err
	}
	b.ref.Keep(cdone)
	b.history = conv
	defer runtime.KeepAlive(b)
	return int(idx), b.err(C.tkn_prompt_builder_set_history(self, cp, C.uint32_t(stability), &idx))
}

// Assemble orders, lints, serialises and fingerprints the segments.
func (b *PromptBuilder) Assemble(tok *Tokenizer) (*Prompt, error) {
	defer pin()()
	self, done := b.use()
	defer done()
	if self == nil {
		return nil, b.closedErr()
	}
	tp, tdone, err := tok.borrow()
	if err != nil {
		return nil, err
	}
	defer tdone()
	var pp *C.tkn_prompt
	rc := C.tkn_prompt_assemble(&pp, self, tp)
	runtime.KeepAlive(tok)
	runtime.KeepAlive(b.history)
	defer runtime.KeepAlive(b)
	if rc != 0 {
		e := b.err(rc).(*Error)
		e.Err = tok.cause(rc)
		return nil, e
	}
	p := &Prompt{}
	p.own(pp)
	runtime.SetFinalizer(p, (*Prompt).Close)
	return p, nil
}

// Prompt is an assembled prompt: immutable, safe for concurrent reads.
type Prompt struct{ ref ref }

// Close frees the prompt once no call is inside it (and no borrower holds it).
func (p *Prompt) Close() {
	if p != nil && p.ref.Close() {
		runtime.SetFinalizer(p, nil)
	}
}

// Fingerprint of the whole prompt; Version of its static prefix.
func (p *Prompt) Fingerprint() uint64 {
	self, done := p.use()
	defer done()
	defer runtime.KeepAlive(p)
	return uint64(C.tkn_prompt_fingerprint(self))
}

// Version is the fingerprint at the end of the leading static segments.
func (p *Prompt) Version() uint64 {
	self, done := p.use()
	defer done()
	defer runtime.KeepAlive(p)
	return uint64(C.tkn_prompt_version(self))
}

// Tokens of the whole prompt.
func (p *Prompt) Tokens() int64 {
	self, done := p.use()
	defer done()
	defer runtime.KeepAlive(p)
	return int64(C.tkn_prompt_tokens(self))
}

// Segments is the number of segments; FindingCount of lint findings.
func (p *Prompt) Segments() int {
	self, done := p.use()
	defer done()
	defer runtime.KeepAlive(p)
	return int(C.tkn_prompt_segment_count(self))
}

// FindingCount is the number of lint findings and order issues.
func (p *Prompt) FindingCount() int {
	self, done := p.use()
	defer done()
	defer runtime.KeepAlive(p)
	return int(C.tkn_prompt_finding_count(self))
}

// RenderOptions of Render.
type RenderOptions struct {
	Format         Format // FormatOpenAI (default) or FormatAnthropic
	Model          string
	MaxTokens      int64
	CacheKey       string
	MinCacheTokens int64
}

// Render is the request body as JSON.
func (p *Prompt) Render(o RenderOptions) (string, error) {
	defer pin()()
	self, done := p.use()
	defer done()
	if self == nil {
		return "", p.closedErr()
	}
	var c C.tkn_render_options
	C.tkn_render_options_init(&c, C.TKN_RENDER_OPTIONS_VERSION)
	if o.Format != 0 {
		c.provider = C.int32_t(o.Format)
	}
	m := C.CString(o.Model)
	defer C.free(unsafe.Pointer(m))
	c.model, c.model_len = m, C.size_t(len(o.Model))
	c.max_tokens, c.min_cache_tokens = C.int64_t(o.MaxTokens), C.int64_t(o.MinCacheTokens)
	if o.CacheKey != "" {
		k := C.CString(o.CacheKey)
		defer C.free(unsafe.Pointer(k))
		c.cache_key, c.cache_key_len = k, C.size_t(len(o.CacheKey))
	}
	var out *C.char
	var n C.size_t
	defer runtime.KeepAlive(p)
	if rc := C.tkn_prompt_render(self, &c, &out, &n); rc != 0 {
		return "", mkerr(rc, "", nil)
	}
	return take(out, n), nil
}

// Diff: the first segment of p whose prefix differs from before (-1 if
// none) and how many segments changed.
func (p *Prompt) Diff(before *Prompt) (int, int, error) {
	defer pin()()
	self, done := p.use()
	defer done()
	if self == nil {
		return 0, 0, p.closedErr()
	}
	var first, n C.uint32_t
	bp, bdone, err := before.borrow()
	if err != nil {
		return 0, 0, err
	}
	defer bdone()
	rc := C.tkn_prompt_diff(bp, self, &first, &n)
	runtime.KeepAlive(before)
	runtime.KeepAlive(p)
	if rc != 0 {
		return 0, 0, mkerr(rc, "", nil)
	}
	if first == C.TKN_PROMPT_NONE {
		return -1, int(n), nil
	}
	return int(first), int(n), nil
}

// LintFinding is one piece of volatile content in a text.
type LintFinding struct {
	Kind           string
	Offset, Length uint64
}

// Lint finds volatile content (dates, UUIDs, ids, counters) in text.
func Lint(text string) ([]LintFinding, error) {
	defer pin()()
	var arr *C.tkn_prompt_finding
	var n C.size_t
	p, l := cstr(text)
	rc := C.tkn_prompt_lint(p, l, C.TKN_LINT_ALL, &arr, &n)
	runtime.KeepAlive(text)
	if rc != 0 {
		return nil, mkerr(rc, "", nil)
	}
	defer C.tkn_free(unsafe.Pointer(arr))
	out := make([]LintFinding, int(n))
	if n > 0 {
		for i, f := range unsafe.Slice(arr, int(n)) {
			out[i] = LintFinding{cgostr(C.tkn_prompt_issue_name(f.kind)), uint64(f.offset), uint64(f.length)}
		}
	}
	return out, nil
}
