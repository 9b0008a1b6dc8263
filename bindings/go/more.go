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

// VersionNumber is MAJOR*10000 + MINOR*100 + PATCH of the loaded library.
func VersionNumber() uint { return uint(C.tkn_version_number()) }

// ---- conversations ----

// SourceFormat is the format the conversation was last loaded from.
func (c *Conv) SourceFormat() Format {
	self, done := c.use()
	defer done()
	defer runtime.KeepAlive(c)
	return Format(C.tkn_conv_source_format(self))
}

// Part is one content part of a message.
type Part struct{ Type, Text string }

// Parts of message i (nil when its content is a string).
func (c *Conv) Parts(i int) ([]Part, error) {
	defer pin()()
	self, done := c.use()
	defer done()
	if self == nil {
		return nil, c.closedErr()
	}
	defer runtime.KeepAlive(c)
	if C.tkn_conv_has_parts(self, C.size_t(i)) != 1 {
		return nil, nil
	}
	n := int(C.tkn_conv_part_count(self, C.size_t(i)))
	out := make([]Part, 0, n)
	for j := 0; j < n; j++ {
		var typ, text *C.char
		var tn C.size_t
		if rc := C.tkn_conv_part(self, C.size_t(i), C.size_t(j), &typ, &text, &tn); rc != 0 {
			return nil, c.err(rc)
		}
		out = append(out, Part{cgostr(typ), gostr(text, tn)})
	}
	return out, nil
}

// SetName sets (or, with "", removes) the name of message i.
func (c *Conv) SetName(i int, name string) error {
	defer pin()()
	self, done := c.use()
	defer done()
	if self == nil {
		return c.closedErr()
	}
	defer runtime.KeepAlive(c)
	if name == "" {
		return c.err(C.tkn_conv_set_name(self, C.size_t(i), nil, 0))
	}
	p, n := cstr(name)
	rc := C.tkn_conv_set_name(self, C.size_t(i), p, n)
	runtime.KeepAlive(name)
	return c.err(rc)
}

// Filter keeps message i where keep[i], in one pass (len(keep) == Len()).
func (c *Conv) Filter(keep []bool) error {
	defer pin()()
	self, done := c.use()
	defer done()
	if self == nil {
		return c.closedErr()
	}
	flags := C.malloc(C.size_t(len(keep) + 1))
	defer C.free(flags)
	f := unsafe.Slice((*C.uint8_t)(flags), len(keep)+1)
	for i, k := range keep {
		f[i] = 0
		if k {
			f[i] = 1
		}
	}
	defer runtime.KeepAlive(c)
	return c.err(C.tkn_conv_filter(self, (*C.uint8_t)(flags), C.size_t(len(keep))))
}

// ---- budgets and pruning ----

// SetParent attaches the budget to parent (nil detaches).
func (b *Budget) SetParent(parent *Budget) error {
	defer pin()()
	self, done := b.use()
	defer done()
	if self == nil {
		return b.closedErr()
	}
	pp, pdone, err := parent.borrow() // C counts the parent's references itself
	if err != nil {
		return err
	}
	defer pdone()
	rc := C.tkn_budget_set_parent(self, pp)
	runtime.KeepAlive(parent)
	defer runtime.KeepAlive(b)
	if rc == 0 {
		b.parent = parent
	}
	return b.err(rc)
}

// PruneMessage is what happened to one message of the original conversation.
type PruneMessage struct {
	Action int // 0 kept, 1 dropped, 2 cut, 3 summarised, 4 cleared
	Reason int // TKN_PRUNE_WHY_*
	Tokens int64
}

// ---- routing ----

// FailClassName is "rate_limit", "timeout", ... ("" for an unknown class).
func FailClassName(cls FailClass) string { return cgostr(C.tkn_llm_fail_name(C.int32_t(cls))) }

// FailClassFromName is the class of a name, or FailNone.
func FailClassFromName(name string) FailClass {
	p, n := cstr(name)
	defer runtime.KeepAlive(name)
	return FailClass(C.tkn_llm_fail_from_name(p, n))
}

// Remove drops an attribute (ErrNotFound if absent).
func (t *Task) Remove(name string) error {
	defer pin()()
	self, done := t.use()
	defer done()
	if self == nil {
		return t.closedErr()
	}
	p, n := cstr(name)
	rc := C.tkn_task_remove(self, p, n)
	runtime.KeepAlive(name)
	defer runtime.KeepAlive(t)
	return t.err(rc)
}

// RuleCount is the number of rules.
func (r *Router) RuleCount() int {
	self, done := r.use()
	defer done()
	defer runtime.KeepAlive(r)
	return int(C.tkn_router_rule_count(self))
}

// TierThreshold is tier i's cascade threshold.
func (r *Router) TierThreshold(i int) (float64, error) {
	defer pin()()
	self, done := r.use()
	defer done()
	if self == nil {
		return 0, r.closedErr()
	}
	var out C.double
	defer runtime.KeepAlive(r)
	if rc := C.tkn_router_tier_threshold(self, C.size_t(i), &out); rc != 0 {
		return 0, mkerr(rc, "", nil)
	}
	return float64(out), nil
}

// ShadowReport is every rule with a shadow rate, as JSON.
func (r *Router) ShadowReport() (string, error) {
	defer pin()()
	self, done := r.use()
	defer done()
	if self == nil {
		return "", r.closedErr()
	}
	var out *C.char
	var n C.size_t
	defer runtime.KeepAlive(r)
	if rc := C.tkn_router_shadow_report(self, &out, &n); rc != 0 {
		return "", mkerr(rc, "", nil)
	}
	return take(out, n), nil
}

// State is the cascade's state (CascadeRunning, ...).
func (c *Cascade) State() CascadeState {
	self, done := c.use()
	defer done()
	defer runtime.KeepAlive(c)
	return CascadeState(C.tkn_router_cascade_state(self))
}

// JSON is every attempt of the cascade as JSON.
func (c *Cascade) JSON() (string, error) {
	defer pin()()
	self, done := c.use()
	defer done()
	if self == nil {
		return "", c.closedErr()
	}
	var out *C.char
	var n C.size_t
	defer runtime.KeepAlive(c)
	if rc := C.tkn_router_cascade_to_json(self, &out, &n); rc != 0 {
		return "", c.err(rc)
	}
	return take(out, n), nil
}

// RouterBuilder collects a router config piece by piece.  One goroutine at a time.
type RouterBuilder struct{ ref ref }

// NewRouterBuilder makes an empty builder.
func NewRouterBuilder() (*RouterBuilder, error) {
	defer pin()()
	b := &RouterBuilder{}
	var p *C.tkn_router_builder
	if rc := C.tkn_router_builder_new(&p); rc != 0 {
		return nil, mkerr(rc, "", nil)
	}
	b.own(p)
	runtime.SetFinalizer(b, (*RouterBuilder).Close)
	return b, nil
}

// Close frees the builder.
func (b *RouterBuilder) Close() {
	if b != nil && b.ref.Close() {
		runtime.SetFinalizer(b, nil)
	}
}

func (b *RouterBuilder) err(rc C.int) error {
	if rc == 0 {
		return nil
	}
	return lastError(rc, nil)
}

// cstrings is a C array of C strings and their lengths, freed by free().
type cstrings struct {
	arr, lens unsafe.Pointer
	n         int
}

func newCStrings(v []string) *cstrings {
	s := &cstrings{n: len(v)}
	s.arr = C.malloc(C.size_t(len(v)+1) * C.size_t(unsafe.Sizeof(uintptr(0))))
	s.lens = C.malloc(C.size_t(len(v)+1) * C.size_t(unsafe.Sizeof(C.size_t(0))))
	ps := unsafe.Slice((**C.char)(s.arr), len(v)+1)
	ls := unsafe.Slice((*C.size_t)(s.lens), len(v)+1)
	for i, x := range v {
		ps[i], ls[i] = C.CString(x), C.size_t(len(x))
	}
	return s
}

func (s *cstrings) free() {
	ps := unsafe.Slice((**C.char)(s.arr), s.n+1)
	for i := 0; i < s.n; i++ {
		C.free(unsafe.Pointer(ps[i]))
	}
	C.free(s.arr)
	C.free(s.lens)
}

// AddTier appends a tier (cheapest first) with its models and threshold.
func (b *RouterBuilder) AddTier(name string, models []string, threshold float64) error {
	defer pin()()
	self, done := b.use()
	defer done()
	if self == nil {
		return b.closedErr()
	}
	s := newCStrings(models)
	defer s.free()
	p, n := cstr(name)
	rc := C.tkn_router_builder_add_tier(self, p, n, (**C.char)(s.arr), (*C.size_t)(s.lens), C.size_t(len(models)), C.double(threshold))
	runtime.KeepAlive(name)
	defer runtime.KeepAlive(b)
	return b.err(rc)
}

// Rule is one routing rule ("" fields: absent).
type Rule struct {
	When, Tier, Reason, ShadowTier string // When: the condition as JSON
	ShadowRate                     float64
	Cascade                        bool
}

// AddRule appends a rule.
func (b *RouterBuilder) AddRule(r Rule) error {
	defer pin()()
	self, done := b.use()
	defer done()
	if self == nil {
		return b.closedErr()
	}
	var c C.tkn_router_rule
	C.tkn_router_rule_init(&c, C.TKN_ROUTER_RULE_VERSION)
	var frees []unsafe.Pointer
	defer func() {
		for _, p := range frees {
			C.free(p)
		}
	}()
	set := func(s string, p **C.char, n *C.size_t) {
		if s != "" {
			cs := C.CString(s)
			frees = append(frees, unsafe.Pointer(cs))
			*p, *n = cs, C.size_t(len(s))
		}
	}
	set(r.When, &c.when, &c.when_len)
	set(r.Tier, &c.tier, &c.tier_len)
	set(r.Reason, &c.reason, &c.reason_len)
	set(r.ShadowTier, &c.shadow_tier, &c.shadow_tier_len)
	c.shadow_rate = C.double(r.ShadowRate)
	if r.Cascade {
		c.cascade = 1
	}
	defer runtime.KeepAlive(b)
	return b.err(C.tkn_router_builder_add_rule(self, &c))
}

// SetDefaultTier names the tier of tasks no rule matches.
func (b *RouterBuilder) SetDefaultTier(name string) error {
	defer pin()()
	self, done := b.use()
	defer done()
	if self == nil {
		return b.closedErr()
	}
	p, n := cstr(name)
	rc := C.tkn_router_builder_set_default_tier(self, p, n)
	runtime.KeepAlive(name)
	defer runtime.KeepAlive(b)
	return b.err(rc)
}

// SetCascade sets the escalation limit (< 0: up to the last tier) and the
// confidence path in JSON responses.
func (b *RouterBuilder) SetCascade(maxEscalations int, path string) error {
	defer pin()()
	self, done := b.use()
	defer done()
	if self == nil {
		return b.closedErr()
	}
	me, err := i32(maxEscalations, "maxEscalations")
	if err != nil {
		return err
	}
	p, n := cstr(path)
	rc := C.tkn_router_builder_set_cascade(self, me, p, n)
	runtime.KeepAlive(path)
	defer runtime.KeepAlive(b)
	return b.err(rc)
}

// SetFailures: allowedFails failures within windowS seconds cool a model for cooldownS.
func (b *RouterBuilder) SetFailures(allowedFails, windowS int, cooldownS float64) error {
	defer pin()()
	self, done := b.use()
	defer done()
	if self == nil {
		return b.closedErr()
	}
	defer runtime.KeepAlive(b)
	af, err := i32(allowedFails, "allowedFails")
	if err != nil {
		return err
	}
	ws, err := i32(windowS, "windowS")
	if err != nil {
		return err
	}
	return b.err(C.tkn_router_builder_set_failures(self, af, ws, C.double(cooldownS)))
}

// SetRetries sets the retries of a failure class.
func (b *RouterBuilder) SetRetries(class FailClass, retries int) error {
	defer pin()()
	self, done := b.use()
	defer done()
	if self == nil {
		return b.closedErr()
	}
	defer runtime.KeepAlive(b)
	rt, err := i32(retries, "retries")
	if err != nil {
		return err
	}
	return b.err(C.tkn_router_builder_set_retries(self, C.int32_t(class), rt))
}

// JSON is the config collected so far.
func (b *RouterBuilder) JSON() (string, error) {
	defer pin()()
	self, done := b.use()
	defer done()
	if self == nil {
		return "", b.closedErr()
	}
	var out *C.char
	var n C.size_t
	defer runtime.KeepAlive(b)
	if rc := C.tkn_router_builder_to_json(self, &out, &n); rc != 0 {
		return "", b.err(rc)
	}
	return take(out, n), nil
}

// Build compiles the router (the builder may be built again).
func (b *RouterBuilder) Build(opts *RouterOptions) (*Router, error) {
	defer pin()()
	self, done := b.use()
	defer done()
	if self == nil {
		return nil, b.closedErr()
	}
	o, h := opts.c()
	var p *C.tkn_router
	defer runtime.KeepAlive(b)
	if rc := C.tkn_router_builder_build(self, &o, &p); rc != 0 {
		if h != 0 {
			h.Delete()
		}
		return nil, b.err(rc)
	}
	return newRouter(p, h), nil
}

// ---- schema ----

// SchemaLimits (zero fields: the defaults of schema.h).
type SchemaLimits struct {
	MaxSchemaDepth, MaxInstanceDepth, MaxErrors uint32
	MaxSchemaBytes, MaxInstanceBytes            uint64
}

// CompileSchemaWithLimits is CompileSchema with limits.
func CompileSchemaWithLimits(schema string, l SchemaLimits) (*Schema, error) {
	defer pin()()
	var o C.tkn_schema_options
	C.tkn_schema_options_init(&o, C.TKN_SCHEMA_OPTIONS_VERSION)
	if l.MaxSchemaDepth > 0 {
		o.max_schema_depth = C.uint32_t(l.MaxSchemaDepth)
	}
	if l.MaxInstanceDepth > 0 {
		o.max_instance_depth = C.uint32_t(l.MaxInstanceDepth)
	}
	if l.MaxErrors > 0 {
		o.max_errors = C.uint32_t(l.MaxErrors)
	}
	if l.MaxSchemaBytes > 0 {
		o.max_schema_bytes = C.uint64_t(l.MaxSchemaBytes)
	}
	if l.MaxInstanceBytes > 0 {
		o.max_instance_bytes = C.uint64_t(l.MaxInstanceBytes)
	}
	var p *C.tkn_schema
	sp, sn := cstr(schema)
	rc := C.tkn_schema_compile(&p, sp, sn, &o)
	runtime.KeepAlive(schema)
	if rc != 0 {
		return nil, mkerr(rc, "", nil)
	}
	s := &Schema{source: schema}
	s.own(p)
	runtime.SetFinalizer(s, (*Schema).Close)
	return s, nil
}

// Check returns nil for a valid document, else an error naming the first problem.
func (s *Schema) Check(doc string) error {
	defer pin()()
	self, done := s.use()
	defer done()
	if self == nil {
		return s.closedErr()
	}
	p, n := cstr(doc)
	rc := C.tkn_schema_check(self, p, n)
	runtime.KeepAlive(doc)
	runtime.KeepAlive(s)
	return mkerr(rc, "", nil)
}

// NearLimit flags a reply that ran into its output cap: stopped (the
// provider stopped for length) and ratio (90% or more of cap used).
func NearLimit(stopReason string, used, cap int64) (stopped, ratio bool, err error) {
	defer pin()()
	var flags C.uint32_t
	p, n := cstr(stopReason)
	rc := C.tkn_schema_near_limit(p, n, C.int64_t(used), C.int64_t(cap), &flags)
	runtime.KeepAlive(stopReason)
	if rc != 0 {
		return false, false, mkerr(rc, "", nil)
	}
	return flags&C.TKN_SCHEMA_NEAR_STOPPED != 0, flags&C.TKN_SCHEMA_NEAR_RATIO != 0, nil
}

// ---- prompts ----

// SetTTL sets the cache lifetime segment index asks for (0: 5 min, 1: 1 h).
func (b *PromptBuilder) SetTTL(index, ttl int) error {
	defer pin()()
	self, done := b.use()
	defer done()
	if self == nil {
		return b.closedErr()
	}
	defer runtime.KeepAlive(b)
	ci, err := u32(index, "segment index")
	if err != nil {
		return err
	}
	ct, err := u32(ttl, "ttl")
	if err != nil {
		return err
	}
	return b.err(C.tkn_prompt_builder_set_ttl(self, ci, ct))
}

// Clear removes every segment.
func (b *PromptBuilder) Clear() {
	self, done := b.use()
	defer done()
	if self == nil { // nil or closed: nothing to clear
		return
	}
	defer runtime.KeepAlive(b)
	C.tkn_prompt_builder_clear(self)
	b.history = nil
}

// SegmentInfo describes one assembled segment.
type SegmentInfo struct {
	Kind, Stability, Name                   string
	TTL, AddedIndex, FirstBlock, BlockCount int
	Bytes                                   uint64
	Tokens                                  int64
	ContentHash, Fingerprint                uint64
}

// Segment i in prefix order.
func (p *Prompt) Segment(i int) (SegmentInfo, error) {
	defer pin()()
	self, done := p.use()
	defer done()
	if self == nil {
		return SegmentInfo{}, p.closedErr()
	}
	var s C.tkn_prompt_segment_info
	s.version = C.TKN_PROMPT_SEGMENT_INFO_VERSION
	defer runtime.KeepAlive(p)
	if rc := C.tkn_prompt_segment(self, C.size_t(i), &s); rc != 0 {
		return SegmentInfo{}, mkerr(rc, "", nil)
	}
	return SegmentInfo{cgostr(C.tkn_prompt_segment_kind_name(s.kind)),
		cgostr(C.tkn_prompt_stability_name(s.stability)), gostr(s.name, s.name_len),
		int(s.ttl), int(s.added_index), int(s.first_block), int(s.block_count),
		uint64(s.bytes), int64(s.tokens), uint64(s.content_hash), uint64(s.fingerprint)}, nil
}

// Block is one block of an assembled prompt.
type Block struct {
	Segment     int
	Tokens      int64
	Fingerprint uint64
}

// Blocks of the prompt, in order.
func (p *Prompt) Blocks() ([]Block, error) {
	defer pin()()
	self, done := p.use()
	defer done()
	if self == nil {
		return nil, p.closedErr()
	}
	defer runtime.KeepAlive(p)
	n := int(C.tkn_prompt_block_count(self))
	out := make([]Block, n)
	for i := range out {
		var seg C.uint32_t
		var tok C.int64_t
		var fp C.uint64_t
		if rc := C.tkn_prompt_block(self, C.size_t(i), &seg, &tok, &fp); rc != 0 {
			return nil, mkerr(rc, "", nil)
		}
		out[i] = Block{int(seg), int64(tok), uint64(fp)}
	}
	return out, nil
}

// Finding is one lint finding or order issue of an assembled prompt.
type Finding struct {
	Kind           string
	Segment        int
	Other          int // ORDER issues: the more stable segment that follows; else -1
	Offset, Length uint64
}

// Findings of the assembly.
func (p *Prompt) Findings() ([]Finding, error) {
	defer pin()()
	self, done := p.use()
	defer done()
	if self == nil {
		return nil, p.closedErr()
	}
	defer runtime.KeepAlive(p)
	n := p.FindingCount()
	out := make([]Finding, n)
	for i := range out {
		var f C.tkn_prompt_finding
		f.version = C.TKN_PROMPT_FINDING_VERSION
		if rc := C.tkn_prompt_finding_get(self, C.size_t(i), &f); rc != 0 {
			return nil, mkerr(rc, "", nil)
		}
		other := -1
		if f.other != C.TKN_PROMPT_NONE {
			other = int(f.other)
		}
		out[i] = Finding{cgostr(C.tkn_prompt_issue_name(f.kind)), int(f.segment), other,
			uint64(f.offset), uint64(f.length)}
	}
	return out, nil
}

// Breakpoint is where an Anthropic cache breakpoint goes.
type Breakpoint struct{ Block, TTL int }

// Breakpoints places up to max Anthropic cache breakpoints.
func (p *Prompt) Breakpoints(minCacheTokens int64, max int) ([]Breakpoint, error) {
	defer pin()()
	self, done := p.use()
	defer done()
	if self == nil {
		return nil, p.closedErr()
	}
	if max <= 0 {
		return nil, nil
	}
	if _, err := u32(max, "max"); err != nil {
		return nil, err
	}
	blocks := make([]C.uint32_t, max)
	ttls := make([]C.uint32_t, max)
	var n C.size_t
	defer runtime.KeepAlive(p)
	if rc := C.tkn_prompt_breakpoints(self, C.int64_t(minCacheTokens), C.uint32_t(max), &blocks[0], &ttls[0], C.size_t(max), &n); rc != 0 {
		return nil, mkerr(rc, "", nil)
	}
	out := make([]Breakpoint, int(n))
	for i := range out {
		out[i] = Breakpoint{int(blocks[i]), int(ttls[i])}
	}
	return out, nil
}

// MinCacheTokens is the documented minimum cacheable prefix of a provider's
// model, matched exactly or by the dated-snapshot and "ft:" rules; an unknown
// model is an error (not found), never another model's minimum.
func MinCacheTokens(provider Provider, model string) (int64, error) {
	defer pin()()
	p, n := cstr(model)
	defer runtime.KeepAlive(model)
	var out C.int64_t
	if rc := C.tkn_prompt_min_cache_tokens(C.int32_t(provider), p, n, &out); rc != 0 {
		return 0, mkerr(rc, "", nil)
	}
	return int64(out), nil
}

// CachePlanOptions (zero fields: the defaults of cacheplan.h; PriceInput required).
type CachePlanOptions struct {
	Provider                                  Provider
	Model                                     string
	MinCacheTokens, OpenAIIdleMS, GeminiTTLMS int64
	PriceInput, PriceCacheRead                int64
	PriceCacheWrite5m, PriceCacheWrite1h      int64
	PriceStorageHour                          int64
}

// CachePlan simulates a provider's prompt cache.  One goroutine at a time.
type CachePlan struct{ ref ref }

// NewCachePlan makes a planner.
func NewCachePlan(o CachePlanOptions) (*CachePlan, error) {
	defer pin()()
	var c C.tkn_cacheplan_options
	C.tkn_cacheplan_options_init(&c, C.TKN_CACHEPLAN_OPTIONS_VERSION)
	if o.Provider != 0 {
		c.provider = C.int32_t(o.Provider)
	}
	var model *C.char
	if o.Model != "" {
		model = C.CString(o.Model)
		defer C.free(unsafe.Pointer(model))
		c.model, c.model_len = model, C.size_t(len(o.Model))
	}
	c.min_cache_tokens = C.int64_t(o.MinCacheTokens)
	if o.OpenAIIdleMS > 0 {
		c.openai_idle_ms = C.int64_t(o.OpenAIIdleMS)
	}
	if o.GeminiTTLMS > 0 {
		c.gemini_ttl_ms = C.int64_t(o.GeminiTTLMS)
	}
	c.price_input, c.price_cache_read = C.int64_t(o.PriceInput), C.int64_t(o.PriceCacheRead)
	c.price_cache_write_5m, c.price_cache_write_1h = C.int64_t(o.PriceCacheWrite5m), C.int64_t(o.PriceCacheWrite1h)
	c.price_storage_hour = C.int64_t(o.PriceStorageHour)
	cp := &CachePlan{}
	var p *C.tkn_cacheplan
	if rc := C.tkn_cacheplan_new(&p, &c); rc != 0 {
		return nil, mkerr(rc, "", nil)
	}
	cp.own(p)
	runtime.SetFinalizer(cp, (*CachePlan).Close)
	return cp, nil
}

// Close frees the planner.
func (cp *CachePlan) Close() {
	if cp != nil && cp.ref.Close() {
		runtime.SetFinalizer(cp, nil)
	}
}

func (cp *CachePlan) err(rc C.int) error {
	if rc == 0 {
		return nil
	}
	return lastError(rc, nil)
}

// PlanBlock is one block of a request given by hand.
type PlanBlock struct {
	Fingerprint uint64
	Tokens      int64
	Flags       uint32 // TKN_CACHEPLAN_BREAKPOINT 1, TTL_1H 2, STATIC_END 4
	Segment     uint32
}

// AddBlocks adds one request given by its blocks.
func (cp *CachePlan) AddBlocks(timeMS int64, blocks []PlanBlock) error {
	defer pin()()
	self, done := cp.use()
	defer done()
	if self == nil {
		return cp.closedErr()
	}
	if len(blocks) == 0 {
		defer runtime.KeepAlive(cp)
		return cp.err(C.tkn_cacheplan_add_blocks(self, C.int64_t(timeMS), nil, 0))
	}
	arr := make([]C.tkn_cacheplan_block, len(blocks))
	for i, b := range blocks {
		arr[i] = C.tkn_cacheplan_block{fingerprint: C.uint64_t(b.Fingerprint), tokens: C.int64_t(b.Tokens),
			flags: C.uint32_t(b.Flags), segment: C.uint32_t(b.Segment)}
	}
	defer runtime.KeepAlive(cp)
	return cp.err(C.tkn_cacheplan_add_blocks(self, C.int64_t(timeMS), &arr[0], C.size_t(len(arr))))
}

// AddPrompt adds one request given as an assembled prompt.
func (cp *CachePlan) AddPrompt(timeMS int64, p *Prompt) error {
	defer pin()()
	self, done := cp.use()
	defer done()
	if self == nil {
		return cp.closedErr()
	}
	defer runtime.KeepAlive(p)
	defer runtime.KeepAlive(cp)
	pp, pdone, err := p.borrow()
	if err != nil {
		return err
	}
	defer pdone()
	return cp.err(C.tkn_cacheplan_add_prompt(self, C.int64_t(timeMS), pp))
}

// CachePlanResult holds the figures so far.
type CachePlanResult struct {
	Requests, InputTokens, CachedTokens, WrittenTokens, HitRatePPM int64
	CostWithout, CostWith, StorageCost, PrefixChanges, Expired     int64
	BreakevenRequests                                              int64
}

// Result is the figures so far.
func (cp *CachePlan) Result() (CachePlanResult, error) {
	defer pin()()
	self, done := cp.use()
	defer done()
	if self == nil {
		return CachePlanResult{}, cp.closedErr()
	}
	var r C.tkn_cacheplan_result
	r.version = C.TKN_CACHEPLAN_RESULT_VERSION
	defer runtime.KeepAlive(cp)
	if rc := C.tkn_cacheplan_result_get(self, &r); rc != 0 {
		return CachePlanResult{}, cp.err(rc)
	}
	return CachePlanResult{int64(r.requests), int64(r.input_tokens), int64(r.cached_tokens),
		int64(r.written_tokens), int64(r.hit_rate_ppm), int64(r.cost_without), int64(r.cost_with),
		int64(r.storage_cost), int64(r.prefix_changes), int64(r.expired), int64(r.breakeven_requests)}, nil
}

// Advice is the planner's advice in plain words.
func (cp *CachePlan) Advice() (string, error) {
	defer pin()()
	self, done := cp.use()
	defer done()
	if self == nil {
		return "", cp.closedErr()
	}
	var out *C.char
	var n C.size_t
	defer runtime.KeepAlive(cp)
	if rc := C.tkn_cacheplan_advice(self, &out, &n); rc != 0 {
		return "", cp.err(rc)
	}
	return take(out, n), nil
}

// ---- prices, meter, tool cache, batch ----

// DefaultPricesJSON is the built-in table's JSON text.
func DefaultPricesJSON() string {
	var n C.size_t
	return C.GoStringN(C.tkn_prices_default_json(&n), C.int(n))
}

// Skipped is the number of entries a skip-invalid load skipped.
func (t *Prices) Skipped() int {
	self, done := t.use()
	defer done()
	defer runtime.KeepAlive(t)
	return int(C.tkn_prices_skipped(self))
}

// SkippedAt is the key of the i-th skipped entry and why it was skipped.
func (t *Prices) SkippedAt(i int) (key, reason string, err error) {
	self, done := t.use()
	defer done()
	if self == nil {
		return "", "", t.closedErr()
	}
	defer runtime.KeepAlive(t)
	var k, r *C.char
	if rc := C.tkn_prices_skipped_at(self, C.size_t(i), &k, &r); rc != 0 {
		return "", "", &Error{Code: Status(rc), Message: "no skipped entry at that index"}
	}
	return C.GoString(k), C.GoString(r), nil
}

// OTelProvider is the OpenTelemetry gen_ai.provider.name of a LiteLLM provider ("" if none).
func OTelProvider(litellmProvider string) string {
	p, n := cstr(litellmProvider)
	defer runtime.KeepAlive(litellmProvider)
	return cgostr(C.tkn_prices_otel_provider(p, n))
}

// KeyCount is the number of distinct keys of a dimension.
func (m *Meter) KeyCount(dim Dimension) int {
	self, done := m.use()
	defer done()
	defer runtime.KeepAlive(m)
	return int(C.tkn_meter_key_count(self, C.int(dim)))
}

// IsCacheable reports whether the tool is registered cacheable.
func (tc *ToolCache) IsCacheable(tool string) bool {
	self, done := tc.use()
	defer done()
	p, n := cstr(tool)
	defer runtime.KeepAlive(tool)
	defer runtime.KeepAlive(tc)
	return C.tkn_toolcache_is_cacheable(self, p, n) == 1
}

// InvalidateScope drops every entry of a scope.
func (tc *ToolCache) InvalidateScope(scope Scope, scopeID string) (uint64, error) {
	defer pin()()
	self, done := tc.use()
	defer done()
	if self == nil {
		return 0, tc.closedErr()
	}
	var n C.uint64_t
	p, l := cstr(scopeID)
	rc := C.tkn_toolcache_invalidate_scope(self, C.int32_t(scope), p, l, &n)
	runtime.KeepAlive(scopeID)
	defer runtime.KeepAlive(tc)
	return uint64(n), tc.err(rc)
}

// PurgeExpired drops every expired entry now.
func (tc *ToolCache) PurgeExpired() (uint64, error) {
	defer pin()()
	self, done := tc.use()
	defer done()
	if self == nil {
		return 0, tc.closedErr()
	}
	var n C.uint64_t
	defer runtime.KeepAlive(tc)
	rc := C.tkn_toolcache_purge_expired(self, &n)
	return uint64(n), tc.err(rc)
}

// Clear drops every entry (policies and statistics stay).
func (tc *ToolCache) Clear() error {
	defer pin()()
	self, done := tc.use()
	defer done()
	if self == nil {
		return tc.closedErr()
	}
	defer runtime.KeepAlive(tc)
	return tc.err(C.tkn_toolcache_clear(self))
}

// Counts are the files begun, requests and bytes written so far.
func (w *BatchWriter) Counts() (files uint32, requests, bytes uint64, err error) {
	defer pin()()
	self, done := w.use()
	defer done()
	if self == nil {
		return 0, 0, 0, w.closedErr()
	}
	var f C.uint32_t
	var r, b C.uint64_t
	defer runtime.KeepAlive(w)
	if rc := C.tkn_batch_writer_counts(self, &f, &r, &b); rc != 0 {
		return 0, 0, 0, w.err(rc)
	}
	return uint32(f), uint64(r), uint64(b), nil
}

// DeadLetter is a result that could not be joined or did not succeed.
type DeadLetter struct {
	Reason           int // TKN_BATCH_DL_*: 1 missing, 2 duplicate, 3 unknown, 4 errored, 5 canceled, 6 expired
	CustomID, Detail string
	File             uint32
	Line             uint64
}

// DeadLetters are the dead letters so far.
func (r *BatchReader) DeadLetters() ([]DeadLetter, error) {
	defer pin()()
	self, done := r.use()
	defer done()
	if self == nil {
		return nil, r.closedErr()
	}
	defer runtime.KeepAlive(r)
	n := int(C.tkn_batch_reader_dead_letter_count(self))
	out := make([]DeadLetter, n)
	for i := range out {
		var d C.tkn_batch_dead_letter
		d.version = C.TKN_BATCH_DEAD_LETTER_VERSION
		if rc := C.tkn_batch_reader_dead_letter(self, C.size_t(i), &d); rc != 0 {
			return nil, r.err(rc)
		}
		out[i] = DeadLetter{int(d.reason), gostr(d.custom_id, d.custom_id_len), gostr(d.detail, d.detail_len),
			uint32(d.file), uint64(d.line)}
	}
	return out, nil
}
