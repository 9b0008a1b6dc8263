package tokenomy

/*
#include <stdlib.h>
#include "tokenomy.h"
#include "callbacks.h"
*/
import "C"

import (
	"math"
	"runtime"
	"runtime/cgo"
	"sync"
	"unsafe"
)

var budgetLevels = []string{"ok", "soft", "hard"}

// Unlimited is a budget limit that never refuses (the same as leaving the
// limit zero).
const Unlimited int64 = 1<<63 - 1

// BudgetPeriod is how long committed amounts count against the limits.
type BudgetPeriod int32

// Budget periods (budget.h); the zero value is PeriodNone.
const (
	PeriodNone    BudgetPeriod = C.TKN_BUDGET_PERIOD_NONE    // amounts never expire
	PeriodRolling BudgetPeriod = C.TKN_BUDGET_PERIOD_ROLLING // the last PeriodSeconds
	PeriodDay     BudgetPeriod = C.TKN_BUDGET_PERIOD_DAY     // until the next local midnight
)

// BudgetOptions are a budget's limits.  The zero value of every field means
// "unset", i.e. the C default: a zero limit is no limit (BudgetOptions{
// HardTokens: 1000} limits tokens to 1000 and nothing else), zero
// PeriodSeconds / SliceSeconds a one-day window in 15-minute slices.  A
// negative field is an error (ErrInvalid), as in C.
type BudgetOptions struct {
	Period                             BudgetPeriod
	HardTokens, SoftTokens, TurnTokens int64
	OutputTokens                       int64
	HardMoney, SoftMoney, TurnMoney    int64 // picodollars: MustUSD("2") is $2
	PeriodSeconds, SliceSeconds        int64
	UTCOffsetSecs                      int64 // PeriodDay: local time = UTC + this
	// Clock in seconds since the epoch (nil: the system clock).
	Clock func() int64
	// OnLimit is called when a soft or hard limit is first reached, on the
	// goroutine whose call crossed it ("soft"/"hard", "tokens"/"money").
	OnLimit func(level, dimension string)
}

// DefaultBudgetOptions limit nothing: the zero BudgetOptions, kept for
// callers that start from it.
func DefaultBudgetOptions() BudgetOptions { return BudgetOptions{} }

// orDefault is v, or the C default d where v is zero (unset).
func orDefault(v int64, d C.int64_t) C.int64_t {
	if v == 0 {
		return d
	}
	return C.int64_t(v)
}

// Budget caps tokens and money.  Safe for concurrent use (lock-free in C).
type Budget struct {
	ref     ref
	handles []cgo.Handle // callbacks and store: never deleted, C may outlive Close
	parent  *Budget
	store   interface{}
}

// NewBudget makes a budget under parent (may be nil).
func NewBudget(o BudgetOptions, parent *Budget) (*Budget, error) {
	defer pin()()
	return newBudget(o, parent, func(c *C.tkn_budget_options, out **C.tkn_budget, pp *C.tkn_budget) C.int {
		return C.tkn_budget_new(out, c, pp)
	})
}

func newBudget(o BudgetOptions, parent *Budget,
	make func(*C.tkn_budget_options, **C.tkn_budget, *C.tkn_budget) C.int) (*Budget, error) {
	var c C.tkn_budget_options
	C.tkn_budget_options_init(&c, C.TKN_BUDGET_OPTIONS_VERSION)
	c.period = C.int32_t(o.Period)
	c.hard_tokens = orDefault(o.HardTokens, c.hard_tokens)
	c.soft_tokens = orDefault(o.SoftTokens, c.soft_tokens)
	c.turn_tokens = orDefault(o.TurnTokens, c.turn_tokens)
	c.output_tokens = orDefault(o.OutputTokens, c.output_tokens)
	c.hard_money = orDefault(o.HardMoney, c.hard_money)
	c.soft_money = orDefault(o.SoftMoney, c.soft_money)
	c.turn_money = orDefault(o.TurnMoney, c.turn_money)
	c.period_seconds = orDefault(o.PeriodSeconds, c.period_seconds)
	c.slice_seconds = orDefault(o.SliceSeconds, c.slice_seconds)
	c.utc_offset_seconds = C.int64_t(o.UTCOffsetSecs) // 0 is the default
	b := &Budget{parent: parent}
	if o.Clock != nil {
		h := cgo.NewHandle(&clockState{fn: o.Clock})
		b.handles = append(b.handles, h)
		c.clock, c.clock_user = (*[0]byte)(C.tkngo_clock), C.tkngo_ptr(C.uintptr_t(h))
	}
	if o.OnLimit != nil {
		h := cgo.NewHandle(&limitState{fn: o.OnLimit})
		b.handles = append(b.handles, h)
		c.on_limit, c.on_limit_user = (*[0]byte)(C.tkngo_on_limit), C.tkngo_ptr(C.uintptr_t(h))
	}
	// C counts the parent's references itself (a child keeps it alive); the
	// child also holds the parent's Go reference, so the parent's C object
	// and what it uses (a store) are let go only after the child's
	pp, pdone, err := parent.borrow()
	if err != nil {
		for _, h := range b.handles {
			h.Delete()
		}
		return nil, err
	}
	var out *C.tkn_budget // a local: cgo checks the whole object a pointer points into
	rc := make(&c, &out, pp)
	if rc != 0 {
		pdone()
		for _, h := range b.handles {
			h.Delete()
		}
		return nil, mkerr(rc, "", nil)
	}
	b.own(out)
	b.ref.Keep(pdone)
	runtime.SetFinalizer(b, (*Budget).Close)
	return b, nil
}

// Close drops this reference (C keeps the budget while children or
// reservations use it; the Go side keeps their callbacks alive likewise).
func (b *Budget) Close() {
	// callback handles stay valid: children may still reach this budget
	if b != nil && b.ref.Close() {
		runtime.SetFinalizer(b, nil)
	}
}

func (b *Budget) err(rc C.int) error {
	if rc == 0 {
		return nil
	}
	return lastError(rc, nil)
}

// Amount is what a call may use or did use.
type Amount struct{ InputTokens, OutputTokens, Money int64 } // Money in picodollars

func (a Amount) c() C.tkn_budget_amount {
	return C.tkn_budget_amount{version: C.TKN_BUDGET_AMOUNT_VERSION,
		input_tokens: C.int64_t(a.InputTokens), output_tokens: C.int64_t(a.OutputTokens),
		money: C.int64_t(a.Money)}
}

// Reservation is an open reservation: Commit or Release it (once; later
// calls, from any goroutine, see it ended).  It keeps its budget alive (in C,
// and a reference on the Go side) until it ends, even if the budget is
// closed first.
type Reservation struct {
	mu   sync.Mutex
	p    *C.tkn_budget_reservation
	b    *Budget
	done func() // gives back the budget's reference once ended
}

// Reserve reserves an amount on the budget and its ancestors.
func (b *Budget) Reserve(a Amount) (*Reservation, error) {
	defer pin()()
	self, done := b.use()
	defer done()
	if self == nil {
		return nil, b.closedErr()
	}
	ca := a.c()
	_, bdone := b.ref.Acquire() // held by the reservation until it ends
	r := &Reservation{b: b, done: bdone}
	defer runtime.KeepAlive(b)
	if rc := C.tkn_budget_reserve(self, &ca, &r.p); rc != 0 {
		bdone()
		return nil, b.err(rc)
	}
	return r, nil
}

// Commit records what the call really used and ends the reservation.
func (r *Reservation) Commit(actual Amount) error {
	defer pin()()
	if r == nil {
		return &Error{Code: StatusInvalid, Message: "nil reservation", Offset: -1}
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.p == nil {
		return &Error{Code: StatusState, Message: "reservation already ended", Offset: -1}
	}
	ca := actual.c()
	defer runtime.KeepAlive(r.b)
	if rc := C.tkn_budget_commit(r.p, &ca); rc != 0 {
		return r.b.err(rc)
	}
	r.p = nil
	r.done()
	return nil
}

// Release ends the reservation without spending (no-op once ended).
func (r *Reservation) Release() {
	if r == nil {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.p != nil {
		C.tkn_budget_release(r.p)
		r.p = nil
		r.done()
	}
}

// Charge reserves and commits at once.
func (b *Budget) Charge(a Amount) error {
	defer pin()()
	self, done := b.use()
	defer done()
	if self == nil {
		return b.closedErr()
	}
	ca := a.c()
	defer runtime.KeepAlive(b)
	return b.err(C.tkn_budget_charge(self, &ca))
}

// BudgetState is what a budget has and has left (money in picodollars).
type BudgetState struct {
	Level                                            string
	TokensCommitted, TokensReserved, TokensRemaining int64
	MoneyCommitted, MoneyReserved, MoneyRemaining    int64
}

// MoneyCommittedUSD is MoneyCommitted as exact decimal USD text.
func (s BudgetState) MoneyCommittedUSD() string { return FormatUSD(s.MoneyCommitted) }

// MoneyRemainingUSD is MoneyRemaining as exact decimal USD text, "" when
// nothing along the chain limits money.
func (s BudgetState) MoneyRemainingUSD() string {
	if s.MoneyRemaining == Unlimited {
		return ""
	}
	return FormatUSD(s.MoneyRemaining)
}

// Status is the budget's state along its parent chain.
func (b *Budget) Status() (BudgetState, error) {
	defer pin()()
	self, done := b.use()
	defer done()
	if self == nil {
		return BudgetState{}, b.closedErr()
	}
	var s C.tkn_budget_state
	s.version = C.TKN_BUDGET_STATE_VERSION
	defer runtime.KeepAlive(b)
	if rc := C.tkn_budget_status(self, &s); rc != 0 {
		return BudgetState{}, b.err(rc)
	}
	return BudgetState{budgetLevels[int(s.level)], int64(s.tokens_committed),
		int64(s.tokens_reserved), int64(s.tokens_remaining), int64(s.money_committed),
		int64(s.money_reserved), int64(s.money_remaining)}, nil
}

// ---- pruning ----

// PruneMode is how Pruner.Run chooses what to drop.
type PruneMode uint32

// Prune modes (the zero value trims).
const (
	PruneTrim      PruneMode = C.TKN_PRUNE_TRIM
	PruneScore     PruneMode = C.TKN_PRUNE_SCORE
	PruneSummarise PruneMode = C.TKN_PRUNE_SUMMARISE
	PruneMask      PruneMode = C.TKN_PRUNE_MASK   // old tool results replaced by a placeholder
	PruneClear     PruneMode = C.TKN_PRUNE_CLEAR  // the same above a trigger (Anthropic's clearing)
	PrunePolicy    PruneMode = C.TKN_PRUNE_POLICY // clear only when it pays, at the prices given
)

// PruneOptions of one run: the fields of tkn_prune_options, named so that
// the zero value of each keeps the C default.
type PruneOptions struct {
	Mode      PruneMode
	MaxTokens int64
	Count     *CountOptions // nil: OpenAI's overheads
	Provider  Format        // FormatAuto: the conversation's own
	// the invariants (on by default)
	NoProtectToolPairs, NoFixProviderOrder bool
	// trim
	StrategyFirst  bool     // keep the oldest messages instead of the newest
	IncludeSystem  bool     // strategy last: keep a leading system message
	StartOn, EndOn []string // role names; none: any
	AllowPartial   bool
	// score
	KeepLastTurns int // 0: the default (2); -1: none
	NoKeepSystem  bool
	Weights       *[3]float64 // recency, kind, density; nil: the defaults
	// summarise
	SummariseFromTrim bool   // summarise what trim (not score) would drop
	SummaryRole       string // "user" (default) or "system"
	SummaryMaxTokens  int64
	// Score (nil: built in) is the score of message i, higher kept first.
	Score func(i int) (float64, error)
	// Summarise writes the summary of the dropped messages.
	Summarise func(dropped []int, maxTokens int64) (string, error)
	// mask, clear, policy (prune.h); zero values keep the C defaults
	KeepToolUses      int   // 0: 3; -1: none
	ClearTrigger      int64 // clear: 0: 100000; -1: always
	ClearAtLeast      int64
	ExcludeTools      []string // Run only (the agent's options do not carry them)
	ClearInputs       bool
	ClearThinking     bool
	KeepThinkingTurns int    // 0: 1; -1: none
	Placeholder       string // Run only; "": TKN_PRUNE_PLACEHOLDER
	// policy: prices in picodollars per million tokens; the horizon in calls
	// (0: a clear pays at once; -1: as many as the conversation made so far)
	PriceInput, PriceCacheRead, PriceCacheWrite int64
	HorizonCalls                                int
	CacheBlockTokens                            int // 0: 128; -1: none
	// NoDegrade: trim, score, summarise fail with ErrBudget when what must be
	// kept exceeds MaxTokens, instead of degrading (clear tool results oldest
	// first, then drop the oldest turns, never nothing; the report's Decision
	// is then 4 and its Note says what was done)
	NoDegrade bool
	// Ledger (policy, Run only): this conversation's ledger, read and updated
	// by every run that succeeds; nil: none (each clear pays at once)
	Ledger *PruneLedger
}

// PruneLedger is the policy's ledger for one conversation (prune.h
// tkn_prune_ledger): what its clears so far saved, so that a later clear may
// risk that much on a payback still to come (with HorizonCalls).  The zero
// value is a fresh conversation; keep one per conversation and store it with
// it.  All fields >= 0.
type PruneLedger struct {
	Credit  int64 // picodollars saved by the clears so far, less what later clears risked
	Cleared int64 // tokens the conversation's clears so far shed
	Calls   int64 // policy runs on this conversation so far
}

// PruneReport is what one run did.
type PruneReport struct {
	TokensBefore, TokensAfter int64
	Messages                  []PruneMessage // one per message of the original conversation
	Kept, Dropped             []int
	Summary                   int // 0 none, 1 added, 2 failed, 3 too long, 4 invalid
	SummaryIndex              int
	SummaryErr                error // the Summarise callback's error, if it failed
	Note                      string
	// mask, clear, policy: messages cleared and their tokens; the policy's
	// decision (TKN_PRUNE_DECISION_*) and its figures in picodollars
	Cleared                      int
	ClearedTokens                int64
	Decision                     int
	ExpectedSaving, ClearingCost int64
}

// Pruner cuts conversations down to a token budget.  One goroutine at a time.
type Pruner struct {
	ref   ref
	tok   *Tokenizer
	untok func() // gives back the tokenizer's reference
}

// NewPruner counts with tok (kept alive by the pruner).
func NewPruner(tok *Tokenizer) (*Pruner, error) {
	defer pin()()
	pr := &Pruner{tok: tok}
	// the pruner holds a reference on its tokenizer until it is freed
	tp, tdone, err := tok.borrow()
	if err != nil {
		return nil, err
	}
	var p *C.tkn_pruner
	if rc := C.tkn_prune_new(&p, tp); rc != 0 {
		tdone()
		return nil, mkerr(rc, "", nil)
	}
	pr.own(p)
	pr.untok = tdone
	runtime.SetFinalizer(pr, (*Pruner).Close)
	return pr, nil
}

// Close frees the pruner.
func (pr *Pruner) Close() {
	if pr != nil && pr.ref.Close(pr.untok) {
		runtime.SetFinalizer(pr, nil)
	}
}

func indices(p *C.size_t, n C.size_t) []int {
	out := make([]int, int(n))
	if n == 0 {
		return out
	}
	src := unsafe.Slice(p, int(n))
	for i := range out {
		out[i] = int(src[i])
	}
	return out
}

// c is the C form of the options' plain fields (no callbacks).
func (o *PruneOptions) c() (C.tkn_prune_options, error) {
	defer pin()()
	var c C.tkn_prune_options
	C.tkn_prune_options_init(&c, C.TKN_PRUNE_OPTIONS_VERSION)
	c.mode, c.max_tokens = C.int32_t(o.Mode), C.int64_t(o.MaxTokens)
	if o.Count != nil {
		c.count = *o.Count.c()
	}
	c.provider = C.int32_t(o.Provider)
	if o.NoProtectToolPairs {
		c.protect_tool_pairs = 0
	}
	if o.NoFixProviderOrder {
		c.fix_provider_order = 0
	}
	if o.StrategyFirst {
		c.strategy = C.TKN_PRUNE_FIRST
	}
	if o.IncludeSystem {
		c.include_system = 1
	}
	for _, set := range []struct {
		roles []string
		dst   *C.uint32_t
	}{{o.StartOn, &c.start_on}, {o.EndOn, &c.end_on}} {
		for _, r := range set.roles {
			code, err := roleCode(r)
			if err != nil {
				return c, err
			}
			*set.dst |= 1 << uint(code)
		}
	}
	if o.AllowPartial {
		c.allow_partial = 1
	}
	if o.KeepLastTurns > 0 {
		k, err := u32(o.KeepLastTurns, "KeepLastTurns")
		if err != nil {
			return c, err
		}
		c.keep_last_turns = k
	} else if o.KeepLastTurns < 0 {
		c.keep_last_turns = 0
	}
	if o.NoKeepSystem {
		c.keep_system = 0
	}
	if o.Weights != nil {
		c.weight_recency, c.weight_kind, c.weight_density = C.double(o.Weights[0]), C.double(o.Weights[1]), C.double(o.Weights[2])
	}
	if o.SummariseFromTrim {
		c.summarise_from = C.TKN_PRUNE_TRIM
	}
	if o.SummaryRole != "" {
		code, err := roleCode(o.SummaryRole)
		if err != nil {
			return c, err
		}
		c.summary_role = C.int32_t(code)
	}
	c.summary_max_tokens = C.int64_t(o.SummaryMaxTokens)
	if o.KeepToolUses > 0 {
		k, err := u32(o.KeepToolUses, "KeepToolUses")
		if err != nil {
			return c, err
		}
		c.keep_tool_uses = k
	} else if o.KeepToolUses < 0 {
		c.keep_tool_uses = 0
	}
	if o.ClearTrigger > 0 {
		c.clear_trigger = C.int64_t(o.ClearTrigger)
	} else if o.ClearTrigger < 0 {
		c.clear_trigger = 0
	}
	c.clear_at_least = C.int64_t(o.ClearAtLeast)
	if o.ClearInputs {
		c.clear_inputs = 1
	}
	if o.ClearThinking {
		c.clear_thinking = 1
	}
	if o.KeepThinkingTurns > 0 {
		k, err := u32(o.KeepThinkingTurns, "KeepThinkingTurns")
		if err != nil {
			return c, err
		}
		c.keep_thinking_turns = k
	} else if o.KeepThinkingTurns < 0 {
		c.keep_thinking_turns = 0
	}
	c.price_input_per_mtok = C.int64_t(o.PriceInput)
	c.price_cache_read_per_mtok = C.int64_t(o.PriceCacheRead)
	c.price_cache_write_per_mtok = C.int64_t(o.PriceCacheWrite)
	if o.HorizonCalls > 0 {
		// TKN_PRUNE_HORIZON_GROWTH itself is spelt -1
		if uint64(o.HorizonCalls) >= math.MaxUint32 {
			return c, errRange("HorizonCalls", o.HorizonCalls)
		}
		c.horizon_calls = C.uint32_t(o.HorizonCalls)
	} else if o.HorizonCalls < 0 {
		c.horizon_calls = C.TKN_PRUNE_HORIZON_GROWTH
	}
	if o.CacheBlockTokens > 0 {
		k, err := u32(o.CacheBlockTokens, "CacheBlockTokens")
		if err != nil {
			return c, err
		}
		c.cache_block_tokens = k
	} else if o.CacheBlockTokens < 0 {
		c.cache_block_tokens = 0
	}
	if o.NoDegrade {
		c.degrade = 0
	}
	return c, nil
}

// Run prunes conv in place (the whole conversation in one call).
func (pr *Pruner) Run(conv *Conv, o PruneOptions) (*PruneReport, error) {
	defer pin()()
	self, done := pr.use()
	defer done()
	if self == nil {
		return nil, pr.closedErr()
	}
	c, err := o.c()
	if err != nil {
		return nil, err
	}
	st := &pruneState{score: o.Score, summarise: o.Summarise}
	h := cgo.NewHandle(st)
	defer h.Delete()
	defer func() {
		for _, p := range st.summaryAlloc {
			C.free(p)
		}
	}()
	if o.Score != nil {
		c.score, c.score_user = (C.tkn_prune_score_fn)(C.tkngo_prune_score), C.tkngo_ptr(C.uintptr_t(h))
	}
	if o.Summarise != nil {
		c.summarise = (C.tkn_prune_summarise_fn)(C.tkngo_prune_summarise)
		c.summarise_user = C.tkngo_ptr(C.uintptr_t(h))
	}
	if len(o.ExcludeTools) > 0 {
		names := (**C.char)(C.calloc(C.size_t(len(o.ExcludeTools)), C.size_t(unsafe.Sizeof(uintptr(0)))))
		list := unsafe.Slice(names, len(o.ExcludeTools))
		for i, n := range o.ExcludeTools {
			list[i] = C.CString(n)
		}
		defer func() {
			for _, p := range list {
				C.free(unsafe.Pointer(p))
			}
			C.free(unsafe.Pointer(names))
		}()
		c.exclude_tools, c.exclude_tools_count = names, C.size_t(len(o.ExcludeTools))
	}
	if o.Placeholder != "" {
		ph := C.CString(o.Placeholder)
		defer C.free(unsafe.Pointer(ph))
		c.placeholder, c.placeholder_len = ph, C.size_t(len(o.Placeholder))
	}
	var ledger *C.tkn_prune_ledger
	if o.Ledger != nil {
		ledger = (*C.tkn_prune_ledger)(C.calloc(1, C.size_t(unsafe.Sizeof(C.tkn_prune_ledger{}))))
		defer C.free(unsafe.Pointer(ledger))
		ledger.credit = C.int64_t(o.Ledger.Credit)
		ledger.cleared = C.int64_t(o.Ledger.Cleared)
		ledger.calls = C.int64_t(o.Ledger.Calls)
		c.ledger = ledger
	}
	var rep *C.tkn_prune_report
	convp, convDone, err := conv.borrow()
	if err != nil {
		return nil, err
	}
	defer convDone()
	rc := C.tkn_prune_run(self, convp, &c, &rep)
	runtime.KeepAlive(conv)
	defer runtime.KeepAlive(pr)
	if rc != 0 {
		cause := st.err
		if cause == nil {
			cause = pr.tok.cause(rc)
		}
		return nil, lastError(rc, cause)
	}
	defer C.tkn_prune_report_free(rep)
	if ledger != nil {
		*o.Ledger = PruneLedger{int64(ledger.credit), int64(ledger.cleared), int64(ledger.calls)}
	}
	r := &PruneReport{SummaryErr: st.summaryErr, Note: C.GoString(C.tkn_prune_report_note(rep))}
	var before, after C.int64_t
	C.tkn_prune_report_tokens(rep, &before, &after)
	r.TokensBefore, r.TokensAfter = int64(before), int64(after)
	var kp, dp *C.size_t
	var kn, dn C.size_t
	C.tkn_prune_report_kept(rep, &kp, &kn)
	C.tkn_prune_report_dropped(rep, &dp, &dn)
	r.Kept, r.Dropped = indices(kp, kn), indices(dp, dn)
	r.Messages = make([]PruneMessage, int(C.tkn_prune_report_count(rep)))
	for i := range r.Messages {
		var act, why C.int32_t
		var tok C.int64_t
		C.tkn_prune_report_message(rep, C.size_t(i), &act, &why, &tok)
		r.Messages[i] = PruneMessage{int(act), int(why), int64(tok)}
	}
	var sst C.int32_t
	var stok C.int64_t
	var sidx C.size_t
	C.tkn_prune_report_summary(rep, &sst, &stok, &sidx)
	r.Summary, r.SummaryIndex = int(sst), int(sidx)
	var cleared C.size_t
	var ctok, saving, cost C.int64_t
	var decision C.int32_t
	C.tkn_prune_report_cleared(rep, &cleared, &ctok)
	C.tkn_prune_report_decision(rep, &decision, &saving, &cost)
	r.Cleared, r.ClearedTokens = int(cleared), int64(ctok)
	r.Decision, r.ExpectedSaving, r.ClearingCost = int(decision), int64(saving), int64(cost)
	return r, nil
}
