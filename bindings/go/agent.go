package tokenomy

/*
#include <stdlib.h>
#include "tokenomy.h"
#include "callbacks.h"
*/
import "C"

import (
	"errors"
	"math"
	"runtime"
	"runtime/cgo"
	"strings"
	"unsafe"
)

// ---- exact encodings (BPE) ----

// Special is how Encode treats special-token text such as "<|endoftext|>".
type Special uint32

// Special-token handling of Encode (the zero value refuses).
const (
	SpecialRefuse Special = C.TKN_SPECIAL_REFUSE
	SpecialAllow  Special = C.TKN_SPECIAL_ALLOW
	SpecialPlain  Special = C.TKN_SPECIAL_PLAIN
)

// EncodingForModel is "o200k_base", "cl100k_base" or "" for an unknown model.
func EncodingForModel(model string) string {
	p, n := cstr(model)
	defer runtime.KeepAlive(model)
	return cgostr(C.tkn_tokenizer_encoding_for_model(p, n))
}

// NewEncoding is an exact BPE encoding ("cl100k_base", "o200k_base").
func NewEncoding(name string) (*Tokenizer, error) {
	defer pin()()
	var t *C.tkn_tokenizer
	p, n := cstr(name)
	rc := C.tkn_tokenizer_new_encoding(&t, p, n)
	runtime.KeepAlive(name)
	if rc != 0 {
		return nil, mkerr(rc, "", nil)
	}
	return newTokenizer(t), nil
}

// NewTokenizerForModel is the exact encoding of a model ("gpt-4o", ...).
func NewTokenizerForModel(model string) (*Tokenizer, error) {
	defer pin()()
	var t *C.tkn_tokenizer
	p, n := cstr(model)
	rc := C.tkn_tokenizer_new_for_model(&t, p, n)
	runtime.KeepAlive(model)
	if rc != 0 {
		return nil, mkerr(rc, "", nil)
	}
	return newTokenizer(t), nil
}

// LoadRanks makes a BPE tokenizer from a tiktoken rank file (path) or its
// bytes (data); both empty: the embedded ranks.  flavor: "cl100k_base" or
// "o200k_base" (the pattern and special tokens).
func LoadRanks(flavor, path string, data []byte, special Special) (*Tokenizer, error) {
	defer pin()()
	var o C.tkn_ranks_options
	C.tkn_ranks_options_init(&o, C.TKN_RANKS_OPTIONS_VERSION)
	switch flavor {
	case "cl100k_base":
		o.flavor = C.TKN_BPE_CL100K
	case "o200k_base":
		o.flavor = C.TKN_BPE_O200K
	default:
		return nil, &Error{Code: StatusInvalid, Message: "unknown flavor \"" + flavor + "\""}
	}
	o.special = C.uint32_t(special)
	if path != "" {
		if strings.IndexByte(path, 0) >= 0 { // a C path ends at its first NUL
			return nil, &Error{Code: StatusInvalid, Offset: -1, Message: "path holds a NUL byte"}
		}
		cp := C.CString(path)
		defer C.free(unsafe.Pointer(cp))
		o.path = cp
	}
	if len(data) > 0 {
		cd := C.CBytes(data)
		defer C.free(cd)
		o.data, o.len = (*C.char)(cd), C.size_t(len(data))
	}
	var t *C.tkn_tokenizer
	if rc := C.tkn_tokenizer_load_ranks(&t, &o); rc != 0 {
		return nil, mkerr(rc, "", nil)
	}
	return newTokenizer(t), nil
}

func encodeOptions(special Special) C.tkn_encode_options {
	var o C.tkn_encode_options
	C.tkn_encode_options_init(&o, C.TKN_ENCODE_OPTIONS_VERSION)
	o.special = C.uint32_t(special)
	return o
}

// Encode is the token ids of text (exact encodings only).
func (t *Tokenizer) Encode(text string, special Special) ([]uint32, error) {
	defer pin()()
	self, done := t.use()
	defer done()
	if self == nil {
		return nil, t.closedErr()
	}
	o := encodeOptions(special)
	p, n := cstr(text)
	var ids *C.uint32_t
	var cnt C.size_t
	rc := C.tkn_tokenizer_encode_alloc(self, p, n, &o, &ids, &cnt)
	runtime.KeepAlive(text)
	runtime.KeepAlive(t)
	if rc != 0 {
		return nil, mkerr(rc, "", t.cause(rc))
	}
	out := make([]uint32, int(cnt))
	if cnt > 0 {
		copy(out, unsafe.Slice((*uint32)(unsafe.Pointer(ids)), int(cnt)))
		C.tkn_free(unsafe.Pointer(ids))
	}
	return out, nil
}

// Decode is the text of token ids.
func (t *Tokenizer) Decode(ids []uint32) (string, error) {
	defer pin()()
	self, done := t.use()
	defer done()
	if self == nil {
		return "", t.closedErr()
	}
	var out *C.char
	var n C.size_t
	var pi *C.uint32_t
	if len(ids) > 0 {
		pi = (*C.uint32_t)(unsafe.Pointer(&ids[0]))
	}
	rc := C.tkn_tokenizer_decode(self, pi, C.size_t(len(ids)), &out, &n)
	runtime.KeepAlive(ids)
	runtime.KeepAlive(t)
	if rc != 0 {
		return "", mkerr(rc, "", nil)
	}
	return take(out, n), nil
}

// CountLimit counts up to limit tokens (limit + 1 means "more").
func (t *Tokenizer) CountLimit(text string, limit int64, special Special) (int64, error) {
	defer pin()()
	self, done := t.use()
	defer done()
	if self == nil {
		return 0, t.closedErr()
	}
	o := encodeOptions(special)
	p, n := cstr(text)
	var out C.int64_t
	rc := C.tkn_tokenizer_count_limit(self, p, n, C.int64_t(limit), &o, &out)
	runtime.KeepAlive(text)
	runtime.KeepAlive(t)
	if rc != 0 {
		return 0, mkerr(rc, "", t.cause(rc))
	}
	return int64(out), nil
}

// VocabSize is the number of token ids (0 for an estimator).
func (t *Tokenizer) VocabSize() uint32 {
	self, done := t.use()
	defer done()
	defer runtime.KeepAlive(t)
	return uint32(C.tkn_tokenizer_vocab_size(self))
}

// ---- the model callbacks (llm.h) ----

// LLMRequest is one model call tokenomy asks the host to make.
type LLMRequest struct {
	Format                           Format
	Model, Body, ResponseSchema      string
	MaxOutputTokens, InputTokens     int64
	Workflow, Tenant, TaskType, Tier string
	Purpose                          int // 0 turn, 1 retry, 2 cascade, 3 summary
	Attempt                          int
	Batch                            bool
}

func llmRequest(r *C.tkn_llm_request) *LLMRequest {
	return &LLMRequest{Format(r.provider), gostr(r.model, r.model_len), gostr(r.body, r.body_len),
		gostr(r.response_schema, r.response_schema_len), int64(r.max_output_tokens),
		int64(r.input_tokens), gostr(r.workflow, r.workflow_len), gostr(r.tenant, r.tenant_len),
		gostr(r.task_type, r.task_type_len), gostr(r.tier, r.tier_len), int(r.purpose),
		int(r.attempt), r.batch != 0}
}

// LLMResponse is what the host fills in (setters copy their arguments).
// Inside a callback it belongs to tokenomy: fill it, do not keep it.
type LLMResponse struct {
	ref   ref
	owned bool
}

// NewLLMResponse makes a response of your own (to test callbacks).
func NewLLMResponse() (*LLMResponse, error) {
	defer pin()()
	r := &LLMResponse{owned: true}
	var p *C.tkn_llm_response
	if rc := C.tkn_llm_response_new(&p); rc != 0 {
		return nil, mkerr(rc, "", nil)
	}
	r.own(p)
	runtime.SetFinalizer(r, (*LLMResponse).Close)
	return r, nil
}

// Close frees a response made by NewLLMResponse (a no-op on one a callback
// was given: tokenomy owns that).
func (r *LLMResponse) Close() {
	if r != nil && r.owned && r.ref.Close() {
		runtime.SetFinalizer(r, nil)
	}
}

// lent wraps a response tokenomy lends to a callback; end makes it inert.
func lent(p *C.tkn_llm_response) *LLMResponse {
	r := &LLMResponse{}
	r.ref.Set(unsafe.Pointer(p), nil)
	return r
}

func (r *LLMResponse) err(rc C.int) error {
	if rc == 0 {
		return nil
	}
	return lastError(rc, nil)
}

func (r *LLMResponse) set(f func(*C.char, C.size_t) C.int, s string) error {
	p, n := cstr(s)
	rc := f(p, n)
	runtime.KeepAlive(s)
	return r.err(rc)
}

// SetContent sets the answer's text.
func (r *LLMResponse) SetContent(s string) error {
	defer pin()()
	self, done := r.use()
	defer done()
	if self == nil {
		return r.closedErr()
	}
	return r.set(func(p *C.char, n C.size_t) C.int { return C.tkn_llm_response_set_content(self, p, n) }, s)
}

// SetToolCalls sets the tool calls (JSON array, OpenAI shape).
func (r *LLMResponse) SetToolCalls(json string) error {
	defer pin()()
	self, done := r.use()
	defer done()
	if self == nil {
		return r.closedErr()
	}
	return r.set(func(p *C.char, n C.size_t) C.int { return C.tkn_llm_response_set_tool_calls(self, p, n) }, json)
}

// SetFinishReason sets the provider's finish reason.
func (r *LLMResponse) SetFinishReason(s string) error {
	defer pin()()
	self, done := r.use()
	defer done()
	if self == nil {
		return r.closedErr()
	}
	return r.set(func(p *C.char, n C.size_t) C.int { return C.tkn_llm_response_set_finish_reason(self, p, n) }, s)
}

// SetUsageJSON sets the provider's usage object (normalised by tokenomy).
func (r *LLMResponse) SetUsageJSON(format UsageFormat, json string) error {
	defer pin()()
	self, done := r.use()
	defer done()
	if self == nil {
		return r.closedErr()
	}
	return r.set(func(p *C.char, n C.size_t) C.int {
		return C.tkn_llm_response_set_usage_json(self, C.uint32_t(format), p, n)
	}, json)
}

// SetUsage sets normalised usage.
func (r *LLMResponse) SetUsage(u Usage) error {
	defer pin()()
	self, done := r.use()
	defer done()
	if self == nil {
		return r.closedErr()
	}
	c := u.c()
	return r.err(C.tkn_llm_response_set_usage(self, &c))
}

// SetBatched says the call went through a batch API.
func (r *LLMResponse) SetBatched(batched bool) error {
	defer pin()()
	self, done := r.use()
	defer done()
	if self == nil {
		return r.closedErr()
	}
	v := C.int32_t(0)
	if batched {
		v = 1
	}
	return r.err(C.tkn_llm_response_set_batched(self, v))
}

// SetError marks the call failed with an error class (FailRateLimit, ...).
func (r *LLMResponse) SetError(class FailClass, msg string) error {
	defer pin()()
	self, done := r.use()
	defer done()
	if self == nil {
		return r.closedErr()
	}
	return r.set(func(p *C.char, n C.size_t) C.int {
		return C.tkn_llm_response_set_error(self, C.int32_t(class), p, n)
	}, msg)
}

func cgetter(f func(*C.size_t) *C.char) string {
	var n C.size_t
	p := f(&n)
	return gostr(p, n)
}

// Content is the answer's text.
func (r *LLMResponse) Content() string {
	self, done := r.use()
	defer done()
	return cgetter(func(n *C.size_t) *C.char { return C.tkn_llm_response_content(self, n) })
}

// ToolCalls is the tool calls JSON ("" if none).
func (r *LLMResponse) ToolCalls() string {
	self, done := r.use()
	defer done()
	return cgetter(func(n *C.size_t) *C.char { return C.tkn_llm_response_tool_calls(self, n) })
}

// FinishReason is the finish reason ("" if none).
func (r *LLMResponse) FinishReason() string {
	self, done := r.use()
	defer done()
	return cgetter(func(n *C.size_t) *C.char { return C.tkn_llm_response_finish_reason(self, n) })
}

// Usage is the normalised usage (false if none was set).
func (r *LLMResponse) Usage() (Usage, bool) {
	self, done := r.use()
	defer done()
	var u C.tkn_usage
	C.tkn_usage_init(&u, C.TKN_USAGE_VERSION)
	if C.tkn_llm_response_usage(self, &u) != 0 {
		return Usage{}, false
	}
	return usageFrom(&u), true
}

// Error is the error class (FailNone: none) and message.
func (r *LLMResponse) Error() (FailClass, string) {
	self, done := r.use()
	defer done()
	var p *C.char
	var n C.size_t
	cls := C.tkn_llm_response_error(self, &p, &n)
	return FailClass(cls), gostr(p, n)
}

// ModelError is what Complete returns for a failed model call: the class
// (FailRateLimit, FailTimeout, FailServer, FailBadRequest, FailAuth,
// FailContentPolicy) decides retries and cooldowns.  It is an expected
// outcome: the turn goes on, or ends with finish reason "error".
type ModelError struct {
	Class   FailClass
	Message string
}

// Error is "model call failed: " and the message.
func (e *ModelError) Error() string { return "model call failed: " + e.Message }

// AgentOptions configure an agent.  Complete is required; every part is
// optional and borrowed (the agent keeps it alive).
type AgentOptions struct {
	Format Format // FormatOpenAI (default) or FormatAnthropic
	// Complete makes the model call, filling resp; return a *ModelError for
	// a failed call.  Any other error (or a panic) fails the turn: Turn
	// returns it wrapped in ErrCallback.
	Complete func(req *LLMRequest, resp *LLMResponse) error
	// CountTokens (optional): exact count of text for model.
	CountTokens func(model, text string) (int64, error)
	// Summarise (optional): summarise text in at most maxTokens into resp.
	Summarise func(text string, maxTokens int64, resp *LLMResponse) error
	// Sleep (optional): wait out a retry's backoff.
	Sleep func(ms int64)
	// CascadeScore (optional): the confidence of an answer.
	CascadeScore func(content string) (float64, error)

	Model     string // without a router
	Tokenizer *Tokenizer
	Router    *Router
	Budget    *Budget
	Prices    *Prices
	Meter     *Meter
	ToolCache *ToolCache
	// Prune (nil: the cache-economics policy at the prices of the model, or
	// of the router's dearest model, when the price table has its input and
	// cache-read prices; else score mode, keep the last 2 turns: agent.h);
	// MaxTokens and the summariser are set by the agent, callbacks are not used.
	Prune            *PruneOptions
	MaxContextTokens int64
	// ContextTargetTokens: what a history past MaxContextTokens is cut down to
	// (0: the default, see agent.h)
	ContextTargetTokens int64
	OutputCap           int64 // 0: the default (1024)
	NoCascade           bool
	NoAppendReply       bool
	RetrySeed           uint64
	Workflow, Tenant    string
	// Tools (optional, off by default; agent.h says why): each turn sends
	// the ToolsK (>= 1) best tools of the catalogue for the last two turns
	// plus the ToolsAlways indices: only those for OpenAI, the rest
	// deferred (defer_loading, tool search) for Anthropic.
	Tools       *ToolCatalogue
	ToolsK      int
	ToolsAlways []int
}

type agentState struct {
	o   AgentOptions
	err error
}

func (st *agentState) fail(err error) {
	if st.err == nil {
		st.err = err
	}
}

//export tkngoComplete
func tkngoComplete(req *C.tkn_llm_request, resp *C.tkn_llm_response, h C.uintptr_t) (rc C.int) {
	st := cgo.Handle(h).Value().(*agentState)
	r := lent(resp)
	defer func() {
		r.ref.Close() // tokenomy's: a response kept past the callback is inert
		if x := recover(); x != nil {
			st.fail(recovered(x))
			rc = 1
		}
	}()
	err := st.o.Complete(llmRequest(req), r)
	if err == nil {
		return 0
	}
	var me *ModelError
	if errors.As(err, &me) {
		if e := r.SetError(me.Class, me.Message); e != nil {
			st.fail(e)
		}
		return 1
	}
	st.fail(err)
	return 1
}

//export tkngoLLMCount
func tkngoLLMCount(model *C.char, mn C.size_t, text *C.char, n C.size_t, out *C.int64_t, h C.uintptr_t) (rc C.int) {
	st := cgo.Handle(h).Value().(*agentState)
	defer func() {
		if x := recover(); x != nil {
			st.fail(recovered(x))
			rc = 1
		}
	}()
	v, err := st.o.CountTokens(gostr(model, mn), gostr(text, n))
	if err != nil {
		st.fail(err)
		return 1
	}
	*out = C.int64_t(v)
	return 0
}

//export tkngoSummarise
func tkngoSummarise(text *C.char, n C.size_t, max C.int64_t, resp *C.tkn_llm_response, h C.uintptr_t) (rc C.int) {
	st := cgo.Handle(h).Value().(*agentState)
	r := lent(resp)
	defer func() {
		r.ref.Close()
		if x := recover(); x != nil {
			st.fail(recovered(x))
			rc = 1
		}
	}()
	err := st.o.Summarise(gostr(text, n), int64(max), r)
	if err == nil {
		return 0
	}
	var me *ModelError
	if errors.As(err, &me) {
		_ = r.SetError(me.Class, me.Message)
		return 1
	}
	st.fail(err)
	return 1
}

//export tkngoSleep
func tkngoSleep(ms C.int64_t, h C.uintptr_t) {
	st := cgo.Handle(h).Value().(*agentState)
	defer func() {
		if x := recover(); x != nil {
			st.fail(recovered(x))
		}
	}()
	st.o.Sleep(int64(ms))
}

// Agent runs agent turns.  One goroutine at a time; its parts may be
// shared by several agents as their own types allow.
type Agent struct {
	ref      ref
	unborrow func() // gives back the borrowed parts' references
	h        cgo.Handle
	st       *agentState
	score    cgo.Handle
	scoreSt  *scoreTextState
}

// NewAgent makes an agent.
func NewAgent(o AgentOptions) (*Agent, error) {
	defer pin()()
	if o.Complete == nil {
		return nil, &Error{Code: StatusInvalid, Message: "AgentOptions.Complete is required"}
	}
	var c C.tkn_agent_options
	C.tkn_agent_options_init(&c, C.TKN_AGENT_OPTIONS_VERSION)
	if o.Format != 0 {
		c.provider = C.int32_t(o.Format)
	}
	a := &Agent{st: &agentState{o: o}}
	a.h = cgo.NewHandle(a.st)
	user := C.tkngo_ptr(C.uintptr_t(a.h))
	c.llm.complete, c.llm.user = (*[0]byte)(C.tkngo_llm_complete), user
	if o.CountTokens != nil {
		c.llm.count_tokens = (*[0]byte)(C.tkngo_llm_count)
	}
	if o.Summarise != nil {
		c.llm.summarise = (*[0]byte)(C.tkngo_llm_summarise)
	}
	if o.Sleep != nil {
		c.sleep_ms, c.sleep_user = (*[0]byte)(C.tkngo_sleep), user
	}
	if o.CascadeScore != nil {
		a.scoreSt = &scoreTextState{fn: o.CascadeScore}
		a.score = cgo.NewHandle(a.scoreSt)
		c.cascade_score, c.cascade_score_user = (*[0]byte)(C.tkngo_score_text), C.tkngo_ptr(C.uintptr_t(a.score))
	}
	var frees []unsafe.Pointer
	defer func() {
		for _, p := range frees {
			C.free(p)
		}
	}()
	str := func(s string, p **C.char, n *C.size_t) {
		if s != "" {
			cs := C.CString(s)
			frees = append(frees, unsafe.Pointer(cs))
			*p, *n = cs, C.size_t(len(s))
		}
	}
	if o.Prune != nil {
		prune, err := o.Prune.c()
		if err != nil {
			a.h.Delete()
			return nil, err
		}
		// C memory: cgo forbids passing Go memory that holds a Go pointer
		pp := (*C.tkn_prune_options)(C.malloc(C.size_t(unsafe.Sizeof(prune))))
		*pp = prune
		frees = append(frees, unsafe.Pointer(pp))
		c.prune = pp
	}
	str(o.Model, &c.model, &c.model_len)
	str(o.Workflow, &c.workflow, &c.workflow_len)
	str(o.Tenant, &c.tenant, &c.tenant_len)
	// The parts the agent borrows: each keeps a reference until the agent is
	// freed, so closing one of them early cannot free it under the agent.
	var borrowed []func()
	unborrow := func() {
		for _, done := range borrowed {
			done()
		}
	}
	var err error
	borrow := func(done func(), e error) {
		borrowed = append(borrowed, done)
		if err == nil {
			err = e
		}
	}
	var done func()
	var e error
	c.tokenizer, done, e = o.Tokenizer.borrow()
	borrow(done, e)
	c.router, done, e = o.Router.borrow()
	borrow(done, e)
	c.budget, done, e = o.Budget.borrow()
	borrow(done, e)
	c.prices, done, e = o.Prices.borrow()
	borrow(done, e)
	c.meter, done, e = o.Meter.borrow()
	borrow(done, e)
	c.toolcache, done, e = o.ToolCache.borrow()
	borrow(done, e)
	c.toolsel, done, e = o.Tools.borrow()
	borrow(done, e)
	if o.Tools != nil {
		// C memory (copied by the agent); a negative k or index is refused by the library
		k := o.ToolsK
		if k < 0 || uint64(k) > math.MaxUint32 {
			k = 0
		}
		c.toolsel_k = C.uint32_t(k)
		if len(o.ToolsAlways) > 0 {
			al := (*C.uint32_t)(C.malloc(C.size_t(len(o.ToolsAlways)) * C.size_t(unsafe.Sizeof(C.uint32_t(0)))))
			frees = append(frees, unsafe.Pointer(al))
			arr := unsafe.Slice(al, len(o.ToolsAlways))
			for i, x := range o.ToolsAlways {
				if x < 0 || uint64(x) > math.MaxUint32 {
					arr[i] = math.MaxUint32 // out of range: the library refuses it
				} else {
					arr[i] = C.uint32_t(x)
				}
			}
			c.toolsel_always, c.toolsel_always_n = al, C.size_t(len(o.ToolsAlways))
		}
	}
	if err != nil {
		unborrow()
		a.h.Delete()
		if a.score != 0 {
			a.score.Delete()
		}
		return nil, err
	}
	c.max_context_tokens = C.int64_t(o.MaxContextTokens)
	if o.ContextTargetTokens > 0 {
		c.context_target_tokens = C.int64_t(o.ContextTargetTokens)
	}
	if o.OutputCap > 0 {
		c.output_cap = C.int64_t(o.OutputCap)
	}
	if o.NoCascade {
		c.cascade = 0
	}
	if o.NoAppendReply {
		c.append_reply = 0
	}
	c.retry.seed = C.uint64_t(o.RetrySeed)
	var p *C.tkn_agent
	if rc := C.tkn_agent_new(&p, &c); rc != 0 {
		unborrow()
		a.h.Delete()
		if a.score != 0 {
			a.score.Delete()
		}
		return nil, mkerr(rc, "", nil)
	}
	a.own(p)
	a.unborrow = unborrow
	runtime.SetFinalizer(a, (*Agent).Close)
	return a, nil
}

// Close frees the agent.
func (a *Agent) Close() {
	if a == nil {
		return
	}
	// freed once no call is inside it; then its callbacks and parts go
	if a.ref.Close(func() {
		a.h.Delete()
		if a.score != 0 {
			a.score.Delete()
		}
		a.unborrow()
	}) {
		runtime.SetFinalizer(a, nil)
	}
}

func (a *Agent) err(rc C.int) error {
	cause := a.st.err
	a.st.err = nil
	if cause == nil && a.scoreSt != nil {
		cause = a.scoreSt.take()
	}
	if rc == 0 && cause == nil {
		return nil
	}
	if rc == 0 {
		rc = C.TKN_ERR_CALLBACK
	}
	return lastError(rc, cause)
}

// AddText adds a text segment (Kind SegStatic, SegReference or SegDynamic);
// see TextPart.  Errors as (*PromptBuilder).AddText.
func (a *Agent) AddText(part TextPart) error {
	defer pin()()
	self, done := a.use()
	defer done()
	if self == nil {
		return a.closedErr()
	}
	np, nn := cstr(part.Name)
	tp, tn := cstr(part.Text)
	rc := C.tkn_agent_add_text(self, C.uint32_t(part.Kind), C.uint32_t(part.Stability),
		np, nn, tp, tn)
	runtime.KeepAlive(part.Name)
	runtime.KeepAlive(part.Text)
	defer runtime.KeepAlive(a)
	return a.err(rc)
}

// AddTool adds one tool definition (JSON).
func (a *Agent) AddTool(js string) error {
	defer pin()()
	self, done := a.use()
	defer done()
	if self == nil {
		return a.closedErr()
	}
	p, n := cstr(js)
	rc := C.tkn_agent_add_tool(self, p, n)
	runtime.KeepAlive(js)
	defer runtime.KeepAlive(a)
	return a.err(rc)
}

// TurnOptions of one turn.
type TurnOptions struct {
	Task      *Task
	Schema    *Schema // the answer must validate (its source text goes to the host)
	TaskType  string
	Dynamic   string
	OutputCap int64
	CacheKey  string
	Batch     bool
}

// AgentStats are a turn's figures.
type AgentStats struct {
	Calls, FailedCalls, Retries, Escalations, ValidationFailures int
	Validated                                                    bool
	PrunedMessages, Summaries, BudgetLevel, Tier                 int
	InputTokens, CachedTokens, CacheWriteTokens, OutputTokens    int64
	Cost, OutputCap, ContextTokensBefore, ContextTokensAfter     int64
	Confidence                                                   float64
}

// AgentResult is what a turn did.
type AgentResult struct {
	Content, ToolCalls, FinishReason, Model, Trace string
	Stats                                          AgentStats
}

// Turn runs one turn on conv (ending with the user's message).  Model
// failures, budget refusals and invalid answers are finish reasons; an
// error is the library's own failure or a callback's non-model error.
func (a *Agent) Turn(conv *Conv, o *TurnOptions) (*AgentResult, error) {
	defer pin()()
	self, done := a.use()
	defer done()
	if self == nil {
		return nil, a.closedErr()
	}
	var c C.tkn_agent_turn_options
	C.tkn_agent_turn_options_init(&c, C.TKN_AGENT_TURN_OPTIONS_VERSION)
	var frees []unsafe.Pointer
	defer func() {
		for _, p := range frees {
			C.free(p)
		}
	}()
	str := func(s string, p **C.char, n *C.size_t) {
		if s != "" {
			cs := C.CString(s)
			frees = append(frees, unsafe.Pointer(cs))
			*p, *n = cs, C.size_t(len(s))
		}
	}
	if o != nil {
		if o.Batch {
			c.batch = 1
		}
		var tdone, sdone func()
		var err error
		if c.task, tdone, err = o.Task.borrow(); err != nil {
			return nil, err
		}
		defer tdone()
		if c.schema, sdone, err = o.Schema.borrow(); err != nil {
			return nil, err
		}
		defer sdone()
		if o.Schema != nil {
			str(o.Schema.source, &c.schema_json, &c.schema_json_len)
		}
		str(o.TaskType, &c.task_type, &c.task_type_len)
		str(o.Dynamic, &c.dynamic, &c.dynamic_len)
		str(o.CacheKey, &c.cache_key, &c.cache_key_len)
		c.output_cap = C.int64_t(o.OutputCap)
	}
	convp, convDone, err := conv.borrow()
	if err != nil {
		return nil, err
	}
	defer convDone()
	var res *C.tkn_agent_result
	rc := C.tkn_agent_turn(self, convp, &c, &res)
	runtime.KeepAlive(conv)
	runtime.KeepAlive(o)
	defer runtime.KeepAlive(a)
	if res != nil {
		defer C.tkn_agent_result_free(res)
	}
	if err := a.err(rc); err != nil {
		return nil, err
	}
	var s C.tkn_agent_stats
	s.version = C.TKN_AGENT_STATS_VERSION
	C.tkn_agent_result_stats(res, &s)
	out := &AgentResult{
		Content:      cgetter(func(n *C.size_t) *C.char { return C.tkn_agent_result_content(res, n) }),
		ToolCalls:    cgetter(func(n *C.size_t) *C.char { return C.tkn_agent_result_tool_calls(res, n) }),
		FinishReason: cgostr(C.tkn_agent_result_finish_reason(res)),
		Model:        cgostr(C.tkn_agent_result_model(res)),
		Trace:        cgetter(func(n *C.size_t) *C.char { return C.tkn_agent_result_trace(res, n) }),
		Stats: AgentStats{int(s.calls), int(s.failed_calls), int(s.retries), int(s.escalations),
			int(s.validation_failures), s.validated != 0, int(s.pruned_messages), int(s.summaries),
			int(s.budget_level), int(s.tier), int64(s.input_tokens), int64(s.cached_tokens),
			int64(s.cache_write_tokens), int64(s.output_tokens), int64(s.cost), int64(s.output_cap),
			int64(s.context_tokens_before), int64(s.context_tokens_after), float64(s.confidence)},
	}
	return out, nil
}

type runState struct {
	fn    func(tool, args string) (string, error)
	err   error
	alloc []unsafe.Pointer
}

//export tkngoAgentRun
func tkngoAgentRun(tool *C.char, tn C.size_t, args *C.char, an C.size_t, result **C.char, rn *C.size_t, h C.uintptr_t) (rc C.int) {
	st := cgo.Handle(h).Value().(*runState)
	defer func() {
		if x := recover(); x != nil {
			st.err = recovered(x)
			rc = 1
		}
	}()
	v, err := st.fn(gostr(tool, tn), gostr(args, an))
	if err != nil {
		st.err = err
		return 1
	}
	p := C.CBytes([]byte(v))
	st.alloc = append(st.alloc, p)
	*result, *rn = (*C.char)(p), C.size_t(len(v))
	return 0
}

// Tool makes a tool call through the agent's tool cache: the cached result
// on a hit, else run(tool, args), stored when the tool is cacheable.
func (a *Agent) Tool(tool, args, scopeID string, run func(tool, args string) (string, error)) (string, bool, error) {
	defer pin()()
	self, done := a.use()
	defer done()
	if self == nil {
		return "", false, a.closedErr()
	}
	st := &runState{fn: run}
	h := cgo.NewHandle(st)
	defer h.Delete()
	defer func() {
		for _, p := range st.alloc {
			C.free(p)
		}
	}()
	tp, tn := cstr(tool)
	ap, an := cstr(args)
	sp, sn := cstr(scopeID)
	var out *C.char
	var n C.size_t
	var hit C.int32_t
	rc := C.tkn_agent_tool(self, tp, tn, ap, an, sp, sn, (C.tkn_agent_tool_fn)(C.tkngo_agent_run),
		C.tkngo_ptr(C.uintptr_t(h)), &out, &n, &hit)
	runtime.KeepAlive(tool)
	runtime.KeepAlive(args)
	runtime.KeepAlive(scopeID)
	defer runtime.KeepAlive(a)
	if rc != 0 {
		return "", false, lastError(rc, st.err)
	}
	return take(out, n), hit != 0, nil
}

// FailName is "none", "rate_limit", ... for an error class.
func FailName(class FailClass) string { return cgostr(C.tkn_llm_fail_name(C.int32_t(class))) }

// UsageJSON is the provider usage JSON set on the response ("" if none).
func (r *LLMResponse) UsageJSON() string {
	self, done := r.use()
	defer done()
	return cgetter(func(n *C.size_t) *C.char { return C.tkn_llm_response_usage_json(self, n) })
}

// Clear empties the response (for reuse).
func (r *LLMResponse) Clear() {
	self, done := r.use()
	defer done()
	C.tkn_llm_response_clear(self)
}
