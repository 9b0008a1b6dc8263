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

// UnitsPerUSD: money is int64 picodollars (1e-12 USD) in every part of
// tokenomy, budgets included; ParseUSD, MustUSD and FormatUSD convert.
const UnitsPerUSD int64 = 1000000000000

// UsageFormat of provider usage JSON.
type UsageFormat uint32

// Usage formats (usage.h).
const (
	UsageAuto            UsageFormat = C.TKN_USAGE_AUTO
	UsageOpenAIChat      UsageFormat = C.TKN_USAGE_OPENAI_CHAT
	UsageOpenAIResponses UsageFormat = C.TKN_USAGE_OPENAI_RESPONSES
	UsageAnthropic       UsageFormat = C.TKN_USAGE_ANTHROPIC
	UsageGemini          UsageFormat = C.TKN_USAGE_GEMINI
)

// Usage flags (tkn_usage.flags).
const (
	UsageCacheReported      uint32 = C.TKN_USAGE_CACHE_REPORTED
	UsageCacheWriteReported uint32 = C.TKN_USAGE_CACHE_WRITE_REPORTED
	UsageReasoningReported  uint32 = C.TKN_USAGE_REASONING_REPORTED
	UsageBatch              uint32 = C.TKN_USAGE_BATCH
)

// Usage is the normalised token usage of one call (tkn_usage).
type Usage struct {
	Flags                                  uint32
	InputTokens, CacheReadTokens           int64
	CacheWrite5mTokens, CacheWrite1hTokens int64
	OutputTokens, ReasoningTokens          int64
}

func (u *Usage) c() C.tkn_usage {
	var c C.tkn_usage
	C.tkn_usage_init(&c, C.TKN_USAGE_VERSION)
	c.flags = C.uint32_t(u.Flags)
	c.input_tokens, c.cache_read_tokens = C.int64_t(u.InputTokens), C.int64_t(u.CacheReadTokens)
	c.cache_write_5m_tokens = C.int64_t(u.CacheWrite5mTokens)
	c.cache_write_1h_tokens = C.int64_t(u.CacheWrite1hTokens)
	c.output_tokens, c.reasoning_tokens = C.int64_t(u.OutputTokens), C.int64_t(u.ReasoningTokens)
	return c
}

func usageFrom(c *C.tkn_usage) Usage {
	return Usage{uint32(c.flags), int64(c.input_tokens), int64(c.cache_read_tokens),
		int64(c.cache_write_5m_tokens), int64(c.cache_write_1h_tokens), int64(c.output_tokens),
		int64(c.reasoning_tokens)}
}

// ParseUsage normalises a provider's usage JSON (or a response holding it).
func ParseUsage(json string, format UsageFormat) (Usage, error) {
	defer pin()()
	var u C.tkn_usage
	C.tkn_usage_init(&u, C.TKN_USAGE_VERSION)
	p, n := cstr(json)
	rc := C.tkn_usage_parse(&u, C.uint32_t(format), p, n)
	runtime.KeepAlive(json)
	if rc != 0 {
		return Usage{}, mkerr(rc, "", nil)
	}
	return usageFrom(&u), nil
}

// Check verifies a usage record is consistent.
func (u Usage) Check() error {
	defer pin()()
	c := u.c()
	return mkerr(C.tkn_usage_check(&c), "inconsistent usage", nil)
}

// Cost of one call in picodollars, by kind of token.
type Cost struct {
	Flags                                                  uint32
	Total, Input, CacheRead, CacheWrite, Output, Reasoning int64
}

func costFrom(c *C.tkn_cost) Cost {
	return Cost{uint32(c.flags), int64(c.total), int64(c.input), int64(c.cache_read),
		int64(c.cache_write), int64(c.output), int64(c.reasoning)}
}

// ModelPrice holds one model's prices in picodollars per MILLION tokens.
type ModelPrice struct {
	c        C.tkn_model_price
	Name     string // the table entry that prices the model
	Provider string
}

// InputPerMtok is the input price (picodollars per million tokens).
func (m *ModelPrice) InputPerMtok() int64 { return int64(m.c.input_per_mtok) }

// OutputPerMtok is the output price (picodollars per million tokens).
func (m *ModelPrice) OutputPerMtok() int64 { return int64(m.c.output_per_mtok) }

// CacheReadPerMtok is the cache-read price.
func (m *ModelPrice) CacheReadPerMtok() int64 { return int64(m.c.cache_read_per_mtok) }

// TierCount is the number of long-prompt price tiers.
func (m *ModelPrice) TierCount() int { return int(m.c.tier_count) }

// MaxInputTokens is the context window (0 if unknown).
func (m *ModelPrice) MaxInputTokens() int64 { return int64(m.c.max_input_tokens) }

// Compute is the cost of usage at this price.
func (m *ModelPrice) Compute(u Usage) (Cost, error) {
	defer pin()()
	var out C.tkn_cost
	C.tkn_cost_init(&out, C.TKN_COST_VERSION)
	cu := u.c()
	pc := m.c
	pc.name, pc.provider = nil, nil
	if rc := C.tkn_prices_compute(&pc, &cu, &out); rc != 0 {
		return Cost{}, mkerr(rc, "", nil)
	}
	return costFrom(&out), nil
}

// Prices is a price table: immutable, safe for concurrent use.
type Prices struct{ ref ref }

func newPrices(p *C.tkn_prices) *Prices {
	t := &Prices{}
	t.own(p)
	runtime.SetFinalizer(t, (*Prices).Close)
	return t
}

// DefaultPrices is the table built into the library.
func DefaultPrices() (*Prices, error) {
	defer pin()()
	var p *C.tkn_prices
	if rc := C.tkn_prices_new_default(&p); rc != 0 {
		return nil, mkerr(rc, "", nil)
	}
	return newPrices(p), nil
}

// LoadPrices reads a table in LiteLLM's format.
func LoadPrices(json string, skipInvalid bool, aliases string) (*Prices, error) {
	defer pin()()
	var o C.tkn_prices_options
	C.tkn_prices_options_init(&o, C.TKN_PRICES_OPTIONS_VERSION)
	if skipInvalid {
		o.skip_invalid = 1
	}
	var ca *C.char
	if aliases != "" {
		ca = C.CString(aliases)
		defer C.free(unsafe.Pointer(ca))
		o.aliases, o.aliases_len = ca, C.size_t(len(aliases))
	}
	var p *C.tkn_prices
	jp, jn := cstr(json)
	rc := C.tkn_prices_load(&p, jp, jn, &o)
	runtime.KeepAlive(json)
	if rc != 0 {
		return nil, mkerr(rc, "", nil)
	}
	return newPrices(p), nil
}

// Close frees the table once no call is inside it (and no borrower holds it).
func (t *Prices) Close() {
	if t != nil && t.ref.Close() {
		runtime.SetFinalizer(t, nil)
	}
}

// Len is the number of models.
func (t *Prices) Len() int {
	self, done := t.use()
	defer done()
	defer runtime.KeepAlive(t)
	return int(C.tkn_prices_count(self))
}

// Lookup finds a model by the lookup rules of prices.h.
func (t *Prices) Lookup(model string) (*ModelPrice, error) {
	defer pin()()
	self, done := t.use()
	defer done()
	if self == nil {
		return nil, t.closedErr()
	}
	m := &ModelPrice{}
	C.tkn_model_price_init(&m.c, C.TKN_MODEL_PRICE_VERSION)
	p, n := cstr(model)
	rc := C.tkn_prices_lookup(self, p, n, &m.c)
	runtime.KeepAlive(model)
	defer runtime.KeepAlive(t)
	if rc != 0 {
		return nil, mkerr(rc, "no price for model \""+model+"\"", nil)
	}
	m.Name = gostr(m.c.name, m.c.name_len)
	m.Provider = gostr(m.c.provider, m.c.provider_len)
	return m, nil
}

// Cost is the cost of usage for model.
func (t *Prices) Cost(model string, u Usage) (Cost, error) {
	defer pin()()
	self, done := t.use()
	defer done()
	if self == nil {
		return Cost{}, t.closedErr()
	}
	var out C.tkn_cost
	C.tkn_cost_init(&out, C.TKN_COST_VERSION)
	cu := u.c()
	p, n := cstr(model)
	rc := C.tkn_prices_cost(self, p, n, &cu, &out)
	runtime.KeepAlive(model)
	runtime.KeepAlive(t)
	if rc != 0 {
		return Cost{}, mkerr(rc, "cannot cost model \""+model+"\"", nil)
	}
	return costFrom(&out), nil
}

// FormatUSD writes picodollars as an exact decimal USD amount.
func FormatUSD(units int64) string {
	var buf [C.TKN_USD_BUFLEN]C.char
	C.tkn_usd_format(C.int64_t(units), &buf[0], C.size_t(len(buf)), nil)
	return C.GoString(&buf[0])
}

// ParseUSD reads a decimal USD amount ("2", "$2", "0.003", "3e-06") into
// picodollars, exactly: finer than 1e-12 USD or beyond the int64 range is an
// error, never a rounded or wrapped number.
func ParseUSD(text string) (int64, error) {
	defer pin()()
	var out C.int64_t
	p, n := cstr(text)
	rc := C.tkn_usd_parse(p, n, &out)
	runtime.KeepAlive(text)
	if rc != 0 {
		return 0, mkerr(rc, "bad USD amount \""+text+"\"", nil)
	}
	return int64(out), nil
}

// MustUSD is ParseUSD for amounts written in the program, such as a budget's
// limit: BudgetOptions{HardMoney: tokenomy.MustUSD("2")} is $2.  It panics
// on text that ParseUSD refuses.
func MustUSD(text string) int64 {
	v, err := ParseUSD(text)
	if err != nil {
		panic(err)
	}
	return v
}

// ---- meter ----

// Dimension of the meter's aggregations.
type Dimension int

// Dimensions (meter.h).
const (
	DimTotal         Dimension = C.TKN_METER_TOTAL
	DimWorkflow      Dimension = C.TKN_METER_WORKFLOW
	DimModel         Dimension = C.TKN_METER_MODEL
	DimTaskType      Dimension = C.TKN_METER_TASK_TYPE
	DimTenant        Dimension = C.TKN_METER_TENANT
	DimTier          Dimension = C.TKN_METER_TIER
	DimRoutingReason Dimension = C.TKN_METER_ROUTING_REASON
)

// ExportFormat of Meter.Export.
type ExportFormat uint32

// Export formats of the meter.
const (
	ExportJSON       ExportFormat = C.TKN_METER_JSON
	ExportPrometheus ExportFormat = C.TKN_METER_PROMETHEUS
	ExportOTel       ExportFormat = C.TKN_METER_OTEL
)

// CostCompute asks the meter to price a call from its table.
const CostCompute int64 = -1 << 63

// Call is one model call to record.
type Call struct {
	Failed                                                           bool
	Validation                                                       int // 0 none, 1 passed, 2 failed
	Workflow, Tenant, TaskType, Model, Provider, Tier, RoutingReason string
	Usage                                                            Usage
	Cost                                                             int64 // picodollars, or CostCompute
	LatencyUS                                                        int64
}

type callC struct {
	c    C.tkn_meter_call
	strs []*C.char
}

func (k *callC) set(s string, p **C.char, n *C.size_t) {
	if s == "" {
		return
	}
	cs := C.CString(s)
	k.strs = append(k.strs, cs)
	*p, *n = cs, C.size_t(len(s))
}

func (k *callC) free() {
	for _, s := range k.strs {
		C.free(unsafe.Pointer(s))
	}
}

func (call *Call) c() *callC {
	k := &callC{}
	C.tkn_meter_call_init(&k.c, C.TKN_METER_CALL_VERSION)
	if call.Failed {
		k.c.success = 0
	}
	k.c.validation = C.uint32_t(call.Validation)
	k.set(call.Workflow, &k.c.workflow, &k.c.workflow_len)
	k.set(call.Tenant, &k.c.tenant, &k.c.tenant_len)
	k.set(call.TaskType, &k.c.task_type, &k.c.task_type_len)
	k.set(call.Model, &k.c.model, &k.c.model_len)
	k.set(call.Provider, &k.c.provider, &k.c.provider_len)
	k.set(call.Tier, &k.c.tier, &k.c.tier_len)
	k.set(call.RoutingReason, &k.c.routing_reason, &k.c.routing_reason_len)
	k.c.usage = call.Usage.c()
	k.c.cost = C.int64_t(call.Cost)
	k.c.latency_us = C.int64_t(call.LatencyUS)
	return k
}

// Meter aggregates calls; internally synchronised: safe for concurrent use.
type Meter struct {
	ref    ref
	prices *Prices
	store  interface{}
}

// MeterOptions configures NewMeter; a zero field means the library default
// (MeterOptions{} is every default).
type MeterOptions struct {
	// MaxKeys bounds the distinct keys per dimension, 1..65536; 0: 256.
	MaxKeys uint32
	// BudgetMarginPct: the suggested budget is p99 x (100 + margin) / 100;
	// at most 10000; 0: 20.
	BudgetMarginPct uint32
}

// NewMeter makes a meter; prices (may be nil) price CostCompute calls and
// must stay open while the meter lives (the meter keeps a reference).
// Errors: ErrInvalid for options out of range, ErrClosed for closed prices,
// ErrNoMem.
func NewMeter(prices *Prices, opts MeterOptions) (*Meter, error) {
	defer pin()()
	var o C.tkn_meter_options
	C.tkn_meter_options_init(&o, C.TKN_METER_OPTIONS_VERSION)
	if opts.MaxKeys > 0 {
		o.max_keys = C.uint32_t(opts.MaxKeys)
	}
	if opts.BudgetMarginPct > 0 {
		o.budget_margin_pct = C.uint32_t(opts.BudgetMarginPct)
	}
	pp, pdone, err := prices.borrow() // held while the meter lives
	if err != nil {
		return nil, err
	}
	o.prices = pp
	var p *C.tkn_meter
	if rc := C.tkn_meter_new(&p, &o); rc != 0 {
		pdone()
		return nil, mkerr(rc, "", nil)
	}
	m := &Meter{prices: prices}
	m.own(p)
	m.ref.Keep(pdone)
	runtime.SetFinalizer(m, (*Meter).Close)
	return m, nil
}

// Close frees the meter once no call is inside it (and no borrower holds it).
func (m *Meter) Close() {
	if m != nil && m.ref.Close() {
		runtime.SetFinalizer(m, nil)
	}
}

func (m *Meter) err(rc C.int) error {
	if rc == 0 {
		return nil
	}
	return lastError(rc, nil)
}

// Record adds one call.
func (m *Meter) Record(call Call) error {
	defer pin()()
	self, done := m.use()
	defer done()
	if self == nil {
		return m.closedErr()
	}
	k := call.c()
	defer k.free()
	defer runtime.KeepAlive(m)
	return m.err(C.tkn_meter_record(self, &k.c))
}

// Stats are the aggregates of one key.
type Stats struct {
	Calls, Successes, Validated, ValidationPassed uint64
	InputTokens, CacheReadTokens, OutputTokens    int64
	Cost, CostPerSuccess, CacheHitPPM             int64
	LatencyUSTotal                                int64
}

// Stats of key in dimension (DimTotal: all calls).
func (m *Meter) Stats(dim Dimension, key string) (Stats, error) {
	defer pin()()
	self, done := m.use()
	defer done()
	if self == nil {
		return Stats{}, m.closedErr()
	}
	var s C.tkn_meter_stats
	C.tkn_meter_stats_init(&s, C.TKN_METER_STATS_VERSION)
	p, n := cstr(key)
	rc := C.tkn_meter_stats_get(self, C.int(dim), p, n, &s)
	runtime.KeepAlive(key)
	runtime.KeepAlive(m)
	if rc != 0 {
		return Stats{}, mkerr(rc, "no key \""+key+"\"", nil)
	}
	return statsFrom(&s), nil
}

func statsFrom(s *C.tkn_meter_stats) Stats {
	return Stats{uint64(s.calls), uint64(s.successes), uint64(s.validated),
		uint64(s.validation_passed), int64(s.input_tokens), int64(s.cache_read_tokens),
		int64(s.output_tokens), int64(s.cost), int64(s.cost_per_success),
		int64(s.cache_hit_ppm), int64(s.latency_us_total)}
}

// Percentiles of one workflow.
type Percentiles struct {
	Count                           uint64
	TokensP50, TokensP95, TokensP99 int64
	CostP50, CostP95, CostP99       int64
	BudgetTokens, BudgetCost        int64
}

// Percentiles of a workflow's tokens and cost per call.
func (m *Meter) Percentiles(workflow string) (Percentiles, error) {
	defer pin()()
	self, done := m.use()
	defer done()
	if self == nil {
		return Percentiles{}, m.closedErr()
	}
	var s C.tkn_meter_percentiles
	C.tkn_meter_percentiles_init(&s, C.TKN_METER_PERCENTILES_VERSION)
	p, n := cstr(workflow)
	rc := C.tkn_meter_percentiles_get(self, p, n, &s)
	runtime.KeepAlive(workflow)
	runtime.KeepAlive(m)
	if rc != 0 {
		return Percentiles{}, mkerr(rc, "no workflow \""+workflow+"\"", nil)
	}
	return Percentiles{uint64(s.count), int64(s.tokens_p50), int64(s.tokens_p95),
		int64(s.tokens_p99), int64(s.cost_p50), int64(s.cost_p95), int64(s.cost_p99),
		int64(s.budget_tokens), int64(s.budget_cost)}, nil
}

// Merge adds everything src recorded into m.
func (m *Meter) Merge(src *Meter) error {
	defer pin()()
	self, done := m.use()
	defer done()
	if self == nil {
		return m.closedErr()
	}
	defer runtime.KeepAlive(src)
	defer runtime.KeepAlive(m)
	sp, sdone, err := src.borrow()
	if err != nil {
		return err
	}
	defer sdone()
	return m.err(C.tkn_meter_merge(self, sp))
}

// Reset forgets everything recorded.
func (m *Meter) Reset() {
	self, done := m.use()
	defer done()
	defer runtime.KeepAlive(m)
	C.tkn_meter_reset(self)
}

// Export is a snapshot as ExportJSON, ExportPrometheus or ExportOTel.
func (m *Meter) Export(format ExportFormat) (string, error) {
	defer pin()()
	self, done := m.use()
	defer done()
	if self == nil {
		return "", m.closedErr()
	}
	var out *C.char
	var n C.size_t
	defer runtime.KeepAlive(m)
	if rc := C.tkn_meter_export(self, C.int(format), &out, &n); rc != 0 {
		return "", m.err(rc)
	}
	return take(out, n), nil
}

// OTelCall is the OpenTelemetry GenAI span attributes of one call (JSON).
func OTelCall(call Call) (string, error) {
	defer pin()()
	k := call.c()
	defer k.free()
	var out *C.char
	var n C.size_t
	if rc := C.tkn_meter_otel_call(&k.c, &out, &n); rc != 0 {
		return "", mkerr(rc, "", nil)
	}
	return take(out, n), nil
}
