package tokenomy

/*
#include <stdlib.h>
#include "tokenomy.h"
#include "callbacks.h"
*/
import "C"

import (
	"fmt"
	"runtime"
	"runtime/cgo"
	"unsafe"
)

// Task holds a task's attributes for routing.  One goroutine at a time.
type Task struct{ ref ref }

// NewTask makes a task from attributes: string, bool, numbers, []string.
func NewTask(attrs map[string]interface{}) (*Task, error) {
	defer pin()()
	var p *C.tkn_task
	if rc := C.tkn_task_new(&p); rc != 0 {
		return nil, mkerr(rc, "", nil)
	}
	t := &Task{}
	t.own(p)
	runtime.SetFinalizer(t, (*Task).Close)
	for k, v := range attrs {
		if err := t.Set(k, v); err != nil {
			t.Close()
			return nil, err
		}
	}
	return t, nil
}

// TaskFromJSON reads a task from a JSON object ("$id" is the task id).
func TaskFromJSON(js string) (*Task, error) {
	defer pin()()
	var p *C.tkn_task
	jp, jn := cstr(js)
	rc := C.tkn_task_from_json(&p, jp, jn)
	runtime.KeepAlive(js)
	if rc != 0 {
		return nil, mkerr(rc, "", nil)
	}
	t := &Task{}
	t.own(p)
	runtime.SetFinalizer(t, (*Task).Close)
	return t, nil
}

// Close frees the task.
func (t *Task) Close() {
	if t != nil && t.ref.Close() {
		runtime.SetFinalizer(t, nil)
	}
}

func (t *Task) err(rc C.int) error {
	if rc == 0 {
		return nil
	}
	return lastError(rc, nil)
}

// SetID sets the id whose hash decides shadow sampling.
func (t *Task) SetID(id string) error {
	defer pin()()
	self, done := t.use()
	defer done()
	if self == nil {
		return t.closedErr()
	}
	p, n := cstr(id)
	rc := C.tkn_task_set_id(self, p, n)
	runtime.KeepAlive(id)
	defer runtime.KeepAlive(t)
	return t.err(rc)
}

// Set sets one attribute (string, bool, int, float64 or []string).
func (t *Task) Set(name string, value interface{}) error {
	defer pin()()
	self, done := t.use()
	defer done()
	if self == nil {
		return t.closedErr()
	}
	np, nn := cstr(name)
	defer runtime.KeepAlive(name)
	defer runtime.KeepAlive(t)
	switch v := value.(type) {
	case string:
		vp, vn := cstr(v)
		rc := C.tkn_task_set_string(self, np, nn, vp, vn)
		runtime.KeepAlive(v)
		return t.err(rc)
	case bool:
		b := C.int32_t(0)
		if v {
			b = 1
		}
		return t.err(C.tkn_task_set_bool(self, np, nn, b))
	case int:
		return t.err(C.tkn_task_set_number(self, np, nn, C.double(v)))
	case int64:
		return t.err(C.tkn_task_set_number(self, np, nn, C.double(v)))
	case float64:
		return t.err(C.tkn_task_set_number(self, np, nn, C.double(v)))
	case []string:
		arr := C.malloc(C.size_t(len(v)+1) * C.size_t(unsafe.Sizeof(uintptr(0))))
		lens := C.malloc(C.size_t(len(v)+1) * C.size_t(unsafe.Sizeof(C.size_t(0))))
		defer C.free(arr)
		defer C.free(lens)
		ps := unsafe.Slice((**C.char)(arr), len(v)+1)
		ls := unsafe.Slice((*C.size_t)(lens), len(v)+1)
		for i, s := range v {
			ps[i] = C.CString(s)
			ls[i] = C.size_t(len(s))
		}
		defer func() {
			for i := range v {
				C.free(unsafe.Pointer(ps[i]))
			}
		}()
		return t.err(C.tkn_task_set_strings(self, np, nn, (**C.char)(arr), (*C.size_t)(lens), C.size_t(len(v))))
	default:
		return &Error{Code: StatusInvalid, Message: fmt.Sprintf("attribute %q: unsupported type %T", name, value)}
	}
}

// Len is the number of attributes.
func (t *Task) Len() int {
	self, done := t.use()
	defer done()
	defer runtime.KeepAlive(t)
	return int(C.tkn_task_count(self))
}

// Router routes tasks to model tiers.  Safe for concurrent use by any
// number of goroutines (its C part is internally synchronised).
type Router struct {
	ref   ref
	clock cgo.Handle
}

// RouterOptions are run-time options (zero value: the defaults).
type RouterOptions struct {
	// NowMS is the clock in milliseconds (nil: CLOCK_MONOTONIC); called
	// from any goroutine that decides or reports.
	NowMS      func() int64
	ShadowSeed uint64
}

func (o *RouterOptions) c() (C.tkn_router_options, cgo.Handle) {
	var c C.tkn_router_options
	C.tkn_router_options_init(&c, C.TKN_ROUTER_OPTIONS_VERSION)
	var h cgo.Handle
	if o != nil {
		c.shadow_seed = C.uint64_t(o.ShadowSeed)
		if o.NowMS != nil {
			h = cgo.NewHandle(&clockState{fn: o.NowMS})
			c.now_ms = (*[0]byte)(C.tkngo_clock)
			c.clock_user = C.tkngo_ptr(C.uintptr_t(h))
		}
	}
	return c, h
}

func newRouter(p *C.tkn_router, h cgo.Handle) *Router {
	r := &Router{clock: h}
	r.own(p)
	runtime.SetFinalizer(r, (*Router).Close)
	return r
}

// NewRouter compiles a router from its JSON config.
func NewRouter(config string, opts *RouterOptions) (*Router, error) {
	defer pin()()
	o, h := opts.c()
	var p *C.tkn_router
	cp, cn := cstr(config)
	rc := C.tkn_router_new_json(&p, cp, cn, &o)
	runtime.KeepAlive(config)
	if rc != 0 {
		if h != 0 {
			h.Delete()
		}
		return nil, mkerr(rc, "", nil)
	}
	return newRouter(p, h), nil
}

// Close frees the router once no call is inside it (and no borrower holds it).
func (r *Router) Close() {
	if r != nil && r.ref.Close(func() {
		if r.clock != 0 {
			r.clock.Delete()
		}
	}) {
		runtime.SetFinalizer(r, nil)
	}
}

// Tiers are the tier names, cheapest first.
func (r *Router) Tiers() []string {
	self, done := r.use()
	defer done()
	if self == nil { // nil or closed: no tiers
		return nil
	}
	defer runtime.KeepAlive(r)
	n := int(C.tkn_router_tier_count(self))
	out := make([]string, n)
	for i := range out {
		out[i] = C.GoString(C.tkn_router_tier_name(self, C.size_t(i)))
	}
	return out
}

// Decision is where a task goes.
type Decision struct {
	Rule, RuleTier, Tier    int
	TierName, Model, Reason string
	Cascade, Shadow         bool
	ShadowTier              int
	ShadowModel             string
}

func cgostr(p *C.char) string {
	if p == nil {
		return ""
	}
	return C.GoString(p)
}

// Decide routes a task.
func (r *Router) Decide(task *Task) (Decision, error) {
	defer pin()()
	self, done := r.use()
	defer done()
	if self == nil {
		return Decision{}, r.closedErr()
	}
	var d C.tkn_router_decision
	C.tkn_router_decision_init(&d, C.TKN_ROUTER_DECISION_VERSION)
	tp, tdone, err := task.borrow()
	if err != nil {
		return Decision{}, err
	}
	defer tdone()
	rc := C.tkn_router_decide(self, tp, &d)
	runtime.KeepAlive(task)
	defer runtime.KeepAlive(r)
	if rc != 0 {
		return Decision{}, mkerr(rc, "", nil)
	}
	return Decision{int(d.rule), int(d.rule_tier), int(d.tier), cgostr(d.tier_name),
		cgostr(d.model), cgostr(d.reason), d.cascade != 0, d.shadow != 0, int(d.shadow_tier),
		cgostr(d.shadow_model)}, nil
}

// Explain is Decide explained as JSON (see router.h).
func (r *Router) Explain(task *Task) (string, error) {
	defer pin()()
	self, done := r.use()
	defer done()
	if self == nil {
		return "", r.closedErr()
	}
	var out *C.char
	var n C.size_t
	tp, tdone, err := task.borrow()
	if err != nil {
		return "", err
	}
	defer tdone()
	rc := C.tkn_router_explain(self, tp, &out, &n)
	runtime.KeepAlive(task)
	runtime.KeepAlive(r)
	if rc != 0 {
		return "", mkerr(rc, "", nil)
	}
	return take(out, n), nil
}

// FailClass is the class of a failed model call.
type FailClass int32

// Failure classes for ReportFailure and Retries.
const (
	FailNone          FailClass = C.TKN_LLM_FAIL_NONE
	FailRateLimit     FailClass = C.TKN_LLM_FAIL_RATE_LIMIT
	FailTimeout       FailClass = C.TKN_LLM_FAIL_TIMEOUT
	FailServer        FailClass = C.TKN_LLM_FAIL_SERVER
	FailBadRequest    FailClass = C.TKN_LLM_FAIL_BAD_REQUEST
	FailAuth          FailClass = C.TKN_LLM_FAIL_AUTH
	FailContentPolicy FailClass = C.TKN_LLM_FAIL_CONTENT_POLICY
)

// ReportFailure reports a failed call; true if it started a cooldown.
func (r *Router) ReportFailure(model string, class FailClass) (bool, error) {
	defer pin()()
	self, done := r.use()
	defer done()
	if self == nil {
		return false, r.closedErr()
	}
	var cooled C.int32_t
	p, n := cstr(model)
	rc := C.tkn_router_report_failure(self, p, n, C.int32_t(class), &cooled)
	runtime.KeepAlive(model)
	runtime.KeepAlive(r)
	if rc != 0 {
		return false, mkerr(rc, "unknown model \""+model+"\"", nil)
	}
	return cooled != 0, nil
}

// ModelCooldown is the clock value the model's cooldown ends at (0: none).
func (r *Router) ModelCooldown(model string) (int64, error) {
	defer pin()()
	self, done := r.use()
	defer done()
	if self == nil {
		return 0, r.closedErr()
	}
	var until C.int64_t
	p, n := cstr(model)
	rc := C.tkn_router_model_cooldown(self, p, n, &until)
	runtime.KeepAlive(model)
	runtime.KeepAlive(r)
	if rc != 0 {
		return 0, mkerr(rc, "unknown model \""+model+"\"", nil)
	}
	return int64(until), nil
}

// Retries is how many times to retry a call that failed with class.
func (r *Router) Retries(class FailClass) (int, error) {
	defer pin()()
	self, done := r.use()
	defer done()
	if self == nil {
		return 0, r.closedErr()
	}
	var out C.int32_t
	defer runtime.KeepAlive(r)
	if rc := C.tkn_router_retries(self, C.int32_t(class), &out); rc != 0 {
		return 0, mkerr(rc, "", nil)
	}
	return int(out), nil
}

// ShadowCompare gives both answers of a shadowed task to compare and
// counts the verdict.  An error from compare is returned wrapped.
func (r *Router) ShadowCompare(rule int, cheap, strong string,
	compare func(cheap, strong string) (bool, error)) (bool, error) {
	defer pin()()
	st := &compareState{fn: compare}
	h := cgo.NewHandle(st)
	defer h.Delete()
	var agreed C.int32_t
	a, an := cstr(cheap)
	b, bn := cstr(strong)
	cr, err := i32(rule, "rule")
	if err != nil {
		return false, err
	}
	self, done := r.use()
	defer done()
	if self == nil {
		return false, r.closedErr()
	}
	rc := C.tkn_router_shadow_compare(self, cr, a, an, b, bn,
		(C.tkn_router_comparator)(C.tkngo_compare), C.tkngo_ptr(C.uintptr_t(h)), &agreed)
	runtime.KeepAlive(cheap)
	runtime.KeepAlive(strong)
	runtime.KeepAlive(r)
	if rc != 0 {
		return false, mkerr(rc, "", st.err)
	}
	return agreed != 0, nil
}

// ShadowStats are a rule's sampled, compared and agreed counters.
func (r *Router) ShadowStats(rule int) (sampled, compared, agreed uint64, err error) {
	defer pin()()
	self, done := r.use()
	defer done()
	if self == nil {
		return 0, 0, 0, r.closedErr()
	}
	var a, b, c C.uint64_t
	defer runtime.KeepAlive(r)
	cr, err := i32(rule, "rule")
	if err != nil {
		return 0, 0, 0, err
	}
	if rc := C.tkn_router_shadow_stats(self, cr, &a, &b, &c); rc != 0 {
		return 0, 0, 0, mkerr(rc, "", nil)
	}
	return uint64(a), uint64(b), uint64(c), nil
}

// Calibrate computes tier thresholds from scores and target shares.
func Calibrate(scores, shares []float64) ([]float64, error) {
	defer pin()()
	if len(scores) == 0 || len(shares) == 0 {
		return nil, &Error{Code: StatusInvalid, Message: "no scores or shares"}
	}
	out := make([]float64, len(shares))
	rc := C.tkn_router_calibrate((*C.double)(unsafe.Pointer(&scores[0])), C.size_t(len(scores)),
		(*C.double)(unsafe.Pointer(&shares[0])), C.size_t(len(shares)),
		(*C.double)(unsafe.Pointer(&out[0])))
	if rc != 0 {
		return nil, mkerr(rc, "", nil)
	}
	return out, nil
}

// Cascade walks one task up the tiers.  One goroutine at a time.
type Cascade struct {
	ref    ref
	router *Router
	h      cgo.Handle
	st     *scoreTextState
}

// CascadeState is where a cascade stands.
type CascadeState int32

// Cascade states.
const (
	CascadeRunning   CascadeState = C.TKN_ROUTER_CASCADE_RUNNING
	CascadeAccepted  CascadeState = C.TKN_ROUTER_CASCADE_ACCEPTED
	CascadeEscalate  CascadeState = C.TKN_ROUTER_CASCADE_ESCALATE
	CascadeExhausted CascadeState = C.TKN_ROUTER_CASCADE_EXHAUSTED
)

// NewCascade starts a cascade at startTier; score (may be nil) replaces the
// config's confidence path.
func (r *Router) NewCascade(startTier int, score func(content string) (float64, error)) (*Cascade, error) {
	defer pin()()
	self, done := r.use()
	defer done()
	if self == nil {
		return nil, r.closedErr()
	}
	var o C.tkn_router_cascade_options
	C.tkn_router_cascade_options_init(&o, C.TKN_ROUTER_CASCADE_OPTIONS_VERSION)
	st, err := i32(startTier, "startTier")
	if err != nil {
		return nil, err
	}
	o.start_tier = st
	c := &Cascade{router: r}
	if score != nil {
		c.st = &scoreTextState{fn: score}
		c.h = cgo.NewHandle(c.st)
		o.score = (*[0]byte)(C.tkngo_score_text)
		o.score_user = C.tkngo_ptr(C.uintptr_t(c.h))
	}
	defer runtime.KeepAlive(r)
	var p *C.tkn_router_cascade
	if rc := C.tkn_router_cascade_new(&p, self, &o); rc != 0 {
		if c.st != nil {
			c.h.Delete()
		}
		return nil, mkerr(rc, "", nil)
	}
	c.own(p)
	// the cascade keeps pointing to the router: a reference while it lives
	_, rdone := r.use()
	c.ref.Keep(rdone)
	runtime.SetFinalizer(c, (*Cascade).Close)
	return c, nil
}

// Close frees the cascade.
func (c *Cascade) Close() {
	if c != nil && c.ref.Close(func() {
		if c.st != nil {
			c.h.Delete()
			c.st = nil
		}
	}) {
		runtime.SetFinalizer(c, nil)
	}
}

func (c *Cascade) err(rc C.int) error {
	var cause error
	if rc == C.TKN_ERR_CALLBACK && c.st != nil {
		cause = c.st.take()
	}
	return lastError(rc, cause)
}

// Next is the tier and model to call now.
func (c *Cascade) Next() (int, string, error) {
	defer pin()()
	self, done := c.use()
	defer done()
	if self == nil {
		return 0, "", c.closedErr()
	}
	var tier C.int32_t
	var model *C.char
	defer runtime.KeepAlive(c)
	if rc := C.tkn_router_cascade_next(self, &tier, &model); rc != 0 {
		return 0, "", c.err(rc)
	}
	return int(tier), cgostr(model), nil
}

// Report gives the response of the call Next named; it returns the new
// state and the confidence.
func (c *Cascade) Report(content string, valid bool, cost int64) (CascadeState, float64, error) {
	defer pin()()
	self, done := c.use()
	defer done()
	if self == nil {
		return 0, 0, c.closedErr()
	}
	var state C.int32_t
	var conf C.double
	v := C.int32_t(0)
	if valid {
		v = 1
	}
	p, n := cstr(content)
	rc := C.tkn_router_cascade_report(self, p, n, v, C.int64_t(cost), &state, &conf)
	runtime.KeepAlive(content)
	defer runtime.KeepAlive(c)
	if rc != 0 {
		return 0, 0, c.err(rc)
	}
	return CascadeState(state), float64(conf), nil
}

// Attempts is the number of reported attempts; TotalCost their cost.
func (c *Cascade) Attempts() int {
	self, done := c.use()
	defer done()
	defer runtime.KeepAlive(c)
	return int(C.tkn_router_cascade_attempts(self))
}

// TotalCost is the sum of the reported costs.
func (c *Cascade) TotalCost() int64 {
	self, done := c.use()
	defer done()
	defer runtime.KeepAlive(c)
	return int64(C.tkn_router_cascade_total_cost(self))
}

// ---- schema ----

// Schema is a compiled JSON Schema: immutable, safe for concurrent use.
type Schema struct {
	ref    ref
	source string // the text it was compiled from (the agent hands it to the host)
}

// CompileSchema compiles a JSON Schema (draft 2020-12 subset, see schema.h).
func CompileSchema(schema string) (*Schema, error) {
	defer pin()()
	var p *C.tkn_schema
	sp, sn := cstr(schema)
	rc := C.tkn_schema_compile(&p, sp, sn, nil)
	runtime.KeepAlive(schema)
	if rc != 0 {
		return nil, mkerr(rc, "", nil)
	}
	s := &Schema{source: schema}
	s.own(p)
	runtime.SetFinalizer(s, (*Schema).Close)
	return s, nil
}

// Close frees the schema once no call is inside it (and no borrower holds it).
func (s *Schema) Close() {
	if s != nil && s.ref.Close() {
		runtime.SetFinalizer(s, nil)
	}
}

// ValidationError is one error of a validation.
type ValidationError struct{ InstancePath, Keyword, SchemaPath, Message string }

// Validation is what one validation found.
type Validation struct {
	Valid   bool
	Status  Status
	Errors  []ValidationError
	Message string
	Reask   string
}

// Validate checks a document; an invalid document is not an error (see
// Validation), a failure to run is.
func (s *Schema) Validate(doc string) (*Validation, error) {
	defer pin()()
	self, done := s.use()
	defer done()
	if self == nil {
		return nil, s.closedErr()
	}
	var res *C.tkn_schema_result
	if rc := C.tkn_schema_result_new(&res); rc != 0 {
		return nil, mkerr(rc, "", nil)
	}
	defer C.tkn_schema_result_free(res)
	p, n := cstr(doc)
	rc := C.tkn_schema_validate(self, p, n, res)
	runtime.KeepAlive(doc)
	runtime.KeepAlive(s)
	v := &Validation{Valid: rc == 0, Status: Status(rc)}
	switch rc {
	case 0:
	case C.TKN_ERR_SCHEMA, C.TKN_ERR_PARSE, C.TKN_ERR_UTF8, C.TKN_ERR_LIMIT:
		v.Message = lastError(rc, nil).Message
	default:
		return nil, mkerr(rc, "", nil)
	}
	cnt := int(C.tkn_schema_result_error_count(res))
	for i := 0; i < cnt; i++ {
		var a, b, c, d *C.char
		if erc := C.tkn_schema_result_error(res, C.size_t(i), &a, &b, &c, &d); erc != 0 {
			return nil, mkerr(erc, "", nil)
		}
		v.Errors = append(v.Errors, ValidationError{cgostr(a), cgostr(b), cgostr(c), cgostr(d)})
	}
	if len(v.Errors) > 0 { // the first error in full (the last error names only its place)
		e := v.Errors[0]
		where := e.InstancePath
		if where == "" {
			where = "(root)"
		}
		v.Message = "at " + where + ": " + e.Keyword + ": " + e.Message + " (schema " + e.SchemaPath + ")"
	}
	if rc != 0 {
		var out *C.char
		var on C.size_t
		if C.tkn_schema_result_reask(res, &out, &on) == 0 {
			v.Reask = take(out, on)
		}
	}
	return v, nil
}

// OutputCap is the largest valid output in tokens of tok; bounded is false
// when some valid document has no size limit.
func (s *Schema) OutputCap(tok *Tokenizer, tokensPerCodePoint uint32) (maxTokens int64, bounded bool, err error) {
	defer pin()()
	self, done := s.use()
	defer done()
	if self == nil {
		return 0, false, s.closedErr()
	}
	var o C.tkn_schema_cap_options
	C.tkn_schema_cap_options_init(&o, C.TKN_SCHEMA_CAP_OPTIONS_VERSION)
	if tokensPerCodePoint > 0 {
		o.tokens_per_code_point = C.uint32_t(tokensPerCodePoint)
	}
	var mx C.int64_t
	var flags C.uint32_t
	tp, tdone, err := tok.borrow()
	if err != nil {
		return 0, false, err
	}
	defer tdone()
	rc := C.tkn_schema_output_cap(self, tp, &o, &mx, &flags)
	runtime.KeepAlive(tok)
	runtime.KeepAlive(s)
	if rc != 0 {
		return 0, false, mkerr(rc, "", tok.cause(rc))
	}
	return int64(mx), flags&C.TKN_SCHEMA_CAP_UNBOUNDED == 0, nil
}

// RetryStep is what to do after a failed validation.
type RetryStep struct {
	Action  int // 1 same tier, 2 escalate, 3 give up
	Attempt uint32
	Tier    uint32
	DelayMS int64
}

// RetryNext plans the step after `failures` failures (default options, seed).
func RetryNext(failures uint32, seed uint64) (RetryStep, error) {
	defer pin()()
	var o C.tkn_schema_retry_options
	C.tkn_schema_retry_options_init(&o, C.TKN_SCHEMA_RETRY_OPTIONS_VERSION)
	o.seed = C.uint64_t(seed)
	var s C.tkn_schema_retry_step
	if rc := C.tkn_schema_retry_next(&o, C.uint32_t(failures), &s); rc != 0 {
		return RetryStep{}, mkerr(rc, "", nil)
	}
	return RetryStep{int(s.action), uint32(s.attempt), uint32(s.tier), int64(s.delay_ms)}, nil
}
