package tokenomy

/*
#include <stdlib.h>
#include "tokenomy.h"
#include "callbacks.h"
*/
import "C"

import (
	"runtime"
	"runtime/cgo"
	"unsafe"
)

// Format is a provider (TKN_PROVIDER_* of common.h): the one vocabulary of
// conversations, prompts, batches, the agent and the cache planner.
type Format int

// Provider is the same type as Format.
type Provider = Format

// Providers (common.h).
const (
	FormatAuto        Format = C.TKN_PROVIDER_AUTO
	FormatOpenAI      Format = C.TKN_PROVIDER_OPENAI
	FormatAnthropic   Format = C.TKN_PROVIDER_ANTHROPIC
	ProviderOpenAI    Format = C.TKN_PROVIDER_OPENAI
	ProviderAnthropic Format = C.TKN_PROVIDER_ANTHROPIC
	ProviderGemini    Format = C.TKN_PROVIDER_GEMINI
)

// Role names: "system", "developer", "user", "assistant", "tool".
func roleCode(role string) (C.int, error) {
	defer pin()()
	p, n := cstr(role)
	r := C.tkn_role_from_name(p, n)
	if r < 0 {
		return 0, &Error{Code: StatusInvalid, Message: "unknown role \"" + role + "\""}
	}
	return r, nil
}

// Conv is a conversation (tkn_conv).  Not safe for concurrent use: one
// goroutine at a time, reads included (counts are cached inside it).
type Conv struct {
	ref ref
}

func newConv(p *C.tkn_conv) *Conv {
	c := &Conv{}
	c.own(p)
	runtime.SetFinalizer(c, (*Conv).Close)
	return c
}

// NewConv makes an empty conversation.
func NewConv() (*Conv, error) {
	defer pin()()
	var p *C.tkn_conv
	if rc := C.tkn_conv_new(&p); rc != 0 {
		return nil, mkerr(rc, "", nil)
	}
	return newConv(p), nil
}

// ParseConv reads a whole conversation (OpenAI or Anthropic JSON) in one call.
func ParseConv(json string, format Format) (*Conv, error) {
	c, err := NewConv()
	if err != nil {
		return nil, err
	}
	if err := c.Load(json, format); err != nil {
		c.Close()
		return nil, err
	}
	return c, nil
}

// Close frees the conversation; calling it again is a no-op.
func (c *Conv) Close() {
	if c != nil && c.ref.Close() {
		runtime.SetFinalizer(c, nil)
	}
}

func (c *Conv) err(rc C.int) error {
	if rc == 0 {
		return nil
	}
	return lastError(rc, nil)
}

// Load replaces the whole conversation with json.
func (c *Conv) Load(json string, format Format) error {
	defer pin()()
	self, done := c.use()
	defer done()
	if self == nil {
		return c.closedErr()
	}
	p, n := cstr(json)
	rc := C.tkn_conv_load(self, C.int(format), p, n)
	runtime.KeepAlive(json)
	defer runtime.KeepAlive(c)
	return c.err(rc)
}

// JSON writes the conversation as format (OpenAI or Anthropic).
func (c *Conv) JSON(format Format) (string, error) {
	defer pin()()
	self, done := c.use()
	defer done()
	if self == nil {
		return "", c.closedErr()
	}
	var out *C.char
	var n C.size_t
	defer runtime.KeepAlive(c)
	if rc := C.tkn_conv_to_json(self, C.int(format), &out, &n); rc != 0 {
		return "", c.err(rc)
	}
	return take(out, n), nil
}

// Clone is a deep copy.
func (c *Conv) Clone() (*Conv, error) {
	defer pin()()
	self, done := c.use()
	defer done()
	if self == nil {
		return nil, c.closedErr()
	}
	var p *C.tkn_conv
	defer runtime.KeepAlive(c)
	if rc := C.tkn_conv_clone(&p, self); rc != 0 {
		return nil, c.err(rc)
	}
	return newConv(p), nil
}

// Len is the number of messages.
func (c *Conv) Len() int {
	self, done := c.use()
	defer done()
	defer runtime.KeepAlive(c)
	return int(C.tkn_conv_count(self))
}

// Role of message i ("" if i is out of range).
func (c *Conv) Role(i int) string {
	self, done := c.use()
	defer done()
	defer runtime.KeepAlive(c)
	r := C.tkn_role_name(C.tkn_conv_role(self, C.size_t(i)))
	if r == nil {
		return ""
	}
	return C.GoString(r)
}

// Text of message i (text parts joined with "\n").
func (c *Conv) Text(i int) (string, error) {
	defer pin()()
	self, done := c.use()
	defer done()
	if self == nil {
		return "", c.closedErr()
	}
	var p *C.char
	var n C.size_t
	defer runtime.KeepAlive(c)
	if rc := C.tkn_conv_text(self, C.size_t(i), &p, &n); rc != 0 {
		return "", c.err(rc)
	}
	return gostr(p, n), nil
}

// Name of message i ("" if none).
func (c *Conv) Name(i int) (string, error) {
	defer pin()()
	self, done := c.use()
	defer done()
	if self == nil {
		return "", c.closedErr()
	}
	var p *C.char
	var n C.size_t
	defer runtime.KeepAlive(c)
	if rc := C.tkn_conv_name(self, C.size_t(i), &p, &n); rc != 0 {
		return "", c.err(rc)
	}
	return gostr(p, n), nil
}

// ToolCall of an assistant message.
type ToolCall struct{ ID, Name, Arguments string }

// ToolCalls of message i.
func (c *Conv) ToolCalls(i int) ([]ToolCall, error) {
	defer pin()()
	self, done := c.use()
	defer done()
	if self == nil {
		return nil, c.closedErr()
	}
	defer runtime.KeepAlive(c)
	n := int(C.tkn_conv_tool_call_count(self, C.size_t(i)))
	out := make([]ToolCall, 0, n)
	for j := 0; j < n; j++ {
		var a, b, d *C.char
		var an, bn, dn C.size_t
		if rc := C.tkn_conv_tool_call(self, C.size_t(i), C.size_t(j), &a, &an, &b, &bn, &d, &dn); rc != 0 {
			return nil, c.err(rc)
		}
		out = append(out, ToolCall{gostr(a, an), gostr(b, bn), gostr(d, dn)})
	}
	return out, nil
}

// ToolCallID is the id a tool message answers ("" if not a tool result).
func (c *Conv) ToolCallID(i int) (string, error) {
	defer pin()()
	self, done := c.use()
	defer done()
	if self == nil {
		return "", c.closedErr()
	}
	var p *C.char
	var n C.size_t
	defer runtime.KeepAlive(c)
	if rc := C.tkn_conv_tool_call_id(self, C.size_t(i), &p, &n); rc != 0 {
		return "", c.err(rc)
	}
	return gostr(p, n), nil
}

// Pinned reports whether message i is pinned.
func (c *Conv) Pinned(i int) bool {
	self, done := c.use()
	defer done()
	defer runtime.KeepAlive(c)
	return C.tkn_conv_pinned(self, C.size_t(i)) == 1
}

// FindToolCall is the index of the message holding tool call id.
func (c *Conv) FindToolCall(id string) (int, error) {
	defer pin()()
	self, done := c.use()
	defer done()
	if self == nil {
		return 0, c.closedErr()
	}
	p, n := cstr(id)
	var idx C.size_t
	rc := C.tkn_conv_find_tool_call(self, p, n, &idx)
	runtime.KeepAlive(id)
	runtime.KeepAlive(c)
	if rc != 0 {
		return 0, mkerr(rc, "no tool call \""+id+"\"", nil)
	}
	return int(idx), nil
}

// FindToolResult is the index of the first tool message answering id.
func (c *Conv) FindToolResult(id string) (int, error) {
	defer pin()()
	self, done := c.use()
	defer done()
	if self == nil {
		return 0, c.closedErr()
	}
	p, n := cstr(id)
	var idx C.size_t
	rc := C.tkn_conv_find_tool_result(self, p, n, &idx)
	runtime.KeepAlive(id)
	runtime.KeepAlive(c)
	if rc != 0 {
		return 0, mkerr(rc, "no tool result for \""+id+"\"", nil)
	}
	return int(idx), nil
}

// MessageJSON is message i alone as one message object of format.
func (c *Conv) MessageJSON(i int, format Format) (string, error) {
	defer pin()()
	self, done := c.use()
	defer done()
	if self == nil {
		return "", c.closedErr()
	}
	var out *C.char
	var n C.size_t
	defer runtime.KeepAlive(c)
	if rc := C.tkn_conv_message_to_json(self, C.size_t(i), C.int(format), &out, &n); rc != 0 {
		return "", c.err(rc)
	}
	return take(out, n), nil
}

// Append adds a plain text message.
func (c *Conv) Append(role, text string) error {
	defer pin()()
	self, done := c.use()
	defer done()
	if self == nil {
		return c.closedErr()
	}
	r, err := roleCode(role)
	if err != nil {
		return err
	}
	p, n := cstr(text)
	rc := C.tkn_conv_append_text(self, r, p, n)
	runtime.KeepAlive(text)
	defer runtime.KeepAlive(c)
	return c.err(rc)
}

// Insert adds a plain text message before index i.
func (c *Conv) Insert(i int, role, text string) error {
	defer pin()()
	self, done := c.use()
	defer done()
	if self == nil {
		return c.closedErr()
	}
	r, err := roleCode(role)
	if err != nil {
		return err
	}
	p, n := cstr(text)
	rc := C.tkn_conv_insert_text(self, C.size_t(i), r, p, n)
	runtime.KeepAlive(text)
	defer runtime.KeepAlive(c)
	return c.err(rc)
}

// InsertJSON adds one message given as JSON of format before index i.
func (c *Conv) InsertJSON(i int, message string, format Format) error {
	defer pin()()
	self, done := c.use()
	defer done()
	if self == nil {
		return c.closedErr()
	}
	p, n := cstr(message)
	rc := C.tkn_conv_insert_json(self, C.size_t(i), C.int(format), p, n)
	runtime.KeepAlive(message)
	defer runtime.KeepAlive(c)
	return c.err(rc)
}

// ReplaceJSON replaces message i with one message given as JSON.
func (c *Conv) ReplaceJSON(i int, message string, format Format) error {
	defer pin()()
	self, done := c.use()
	defer done()
	if self == nil {
		return c.closedErr()
	}
	p, n := cstr(message)
	rc := C.tkn_conv_replace_json(self, C.size_t(i), C.int(format), p, n)
	runtime.KeepAlive(message)
	defer runtime.KeepAlive(c)
	return c.err(rc)
}

// SetText replaces the content of message i with plain text.
func (c *Conv) SetText(i int, text string) error {
	defer pin()()
	self, done := c.use()
	defer done()
	if self == nil {
		return c.closedErr()
	}
	p, n := cstr(text)
	rc := C.tkn_conv_set_text(self, C.size_t(i), p, n)
	runtime.KeepAlive(text)
	defer runtime.KeepAlive(c)
	return c.err(rc)
}

// SetPinned pins or unpins message i.
func (c *Conv) SetPinned(i int, pinned bool) error {
	defer pin()()
	self, done := c.use()
	defer done()
	if self == nil {
		return c.closedErr()
	}
	v := C.int(0)
	if pinned {
		v = 1
	}
	defer runtime.KeepAlive(c)
	return c.err(C.tkn_conv_set_pinned(self, C.size_t(i), v))
}

// AddToolCall adds a tool call to assistant message i.
func (c *Conv) AddToolCall(i int, id, name, arguments string) error {
	defer pin()()
	self, done := c.use()
	defer done()
	if self == nil {
		return c.closedErr()
	}
	a, an := cstr(id)
	b, bn := cstr(name)
	d, dn := cstr(arguments)
	rc := C.tkn_conv_add_tool_call(self, C.size_t(i), a, an, b, bn, d, dn)
	runtime.KeepAlive(id)
	runtime.KeepAlive(name)
	runtime.KeepAlive(arguments)
	defer runtime.KeepAlive(c)
	return c.err(rc)
}

// SetToolCallID makes tool message i the result of tool call id.
func (c *Conv) SetToolCallID(i int, id string) error {
	defer pin()()
	self, done := c.use()
	defer done()
	if self == nil {
		return c.closedErr()
	}
	p, n := cstr(id)
	rc := C.tkn_conv_set_tool_call_id(self, C.size_t(i), p, n)
	runtime.KeepAlive(id)
	defer runtime.KeepAlive(c)
	return c.err(rc)
}

// Remove drops message i.
func (c *Conv) Remove(i int) error {
	defer pin()()
	self, done := c.use()
	defer done()
	if self == nil {
		return c.closedErr()
	}
	defer runtime.KeepAlive(c)
	return c.err(C.tkn_conv_remove(self, C.size_t(i)))
}

// Clear removes every message.
func (c *Conv) Clear() {
	self, done := c.use()
	defer done()
	defer runtime.KeepAlive(c)
	C.tkn_conv_clear(self)
}

// ---- tokenizers ----

// Tokenizer counts tokens (tkn_tokenizer).  Immutable: safe for concurrent
// use by any number of goroutines (a callback tokenizer's function must be
// too).
type Tokenizer struct {
	ref   ref
	h     cgo.Handle
	state *countState
}

func newTokenizer(p *C.tkn_tokenizer) *Tokenizer {
	t := &Tokenizer{}
	t.own(p)
	runtime.SetFinalizer(t, (*Tokenizer).Close)
	return t
}

// NewEstimator is the built-in estimator (no data file).
func NewEstimator() (*Tokenizer, error) {
	defer pin()()
	var p *C.tkn_tokenizer
	if rc := C.tkn_tokenizer_new_estimator(&p); rc != 0 {
		return nil, mkerr(rc, "", nil)
	}
	return newTokenizer(p), nil
}

// NewEstimatorFor is the estimator calibrated for an encoding
// ("cl100k_base" or "o200k_base").
func NewEstimatorFor(encoding string) (*Tokenizer, error) {
	defer pin()()
	var p *C.tkn_tokenizer
	e, n := cstr(encoding)
	rc := C.tkn_tokenizer_new_estimator_for(&p, e, n)
	runtime.KeepAlive(encoding)
	if rc != 0 {
		return nil, mkerr(rc, "estimator for \""+encoding+"\"", nil)
	}
	return newTokenizer(p), nil
}

// NewCallbackTokenizer counts with a Go function, called from whichever
// goroutine counts.  An error (or panic) it returns fails that count with
// ErrCallback wrapping it.
func NewCallbackTokenizer(count func(text string) (int64, error)) (*Tokenizer, error) {
	defer pin()()
	st := &countState{fn: count}
	h := cgo.NewHandle(st)
	var p *C.tkn_tokenizer
	if rc := C.tkngo_tokenizer_new_callback(&p, C.uintptr_t(h)); rc != 0 {
		h.Delete()
		return nil, mkerr(rc, "", nil)
	}
	t := newTokenizer(p)
	t.h, t.state = h, st
	return t, nil
}

// Close drops the tokenizer: freed once no call is inside it and nothing
// that borrows it (a Pruner, an Agent) is left.
func (t *Tokenizer) Close() {
	if t != nil && t.ref.Close(func() {
		if t.state != nil {
			t.h.Delete()
		}
	}) {
		runtime.SetFinalizer(t, nil)
	}
}

// cause is the Go error behind a TKN_ERR_CALLBACK of this tokenizer.
func (t *Tokenizer) cause(rc C.int) error {
	if rc == C.TKN_ERR_CALLBACK && t != nil && t.state != nil {
		return t.state.take()
	}
	return nil
}

// Name is "estimator", "callback", "cl100k_base", ...
func (t *Tokenizer) Name() string {
	self, done := t.use()
	defer done()
	defer runtime.KeepAlive(t)
	return C.GoString(C.tkn_tokenizer_name(self))
}

// Count is the number of tokens of text.
func (t *Tokenizer) Count(text string) (int64, error) {
	defer pin()()
	self, done := t.use()
	defer done()
	if self == nil {
		return 0, t.closedErr()
	}
	p, n := cstr(text)
	var out C.int64_t
	rc := C.tkn_tokenizer_count(self, p, n, &out)
	runtime.KeepAlive(text)
	runtime.KeepAlive(t)
	if rc != 0 {
		return 0, mkerr(rc, "", t.cause(rc))
	}
	return int64(out), nil
}

// CountOptions are the per-message overheads (nil: OpenAI's defaults).
type CountOptions struct {
	PerMessage, PerName, ReplyPriming, PerToolCall int32
}

// DefaultCountOptions are OpenAI's overheads.
func DefaultCountOptions() CountOptions {
	var o C.tkn_count_options
	C.tkn_count_options_init(&o, C.TKN_COUNT_OPTIONS_VERSION)
	return CountOptions{int32(o.per_message), int32(o.per_name), int32(o.reply_priming), int32(o.per_tool_call)}
}

func (o *CountOptions) c() *C.tkn_count_options {
	if o == nil {
		return nil
	}
	var c C.tkn_count_options
	C.tkn_count_options_init(&c, C.TKN_COUNT_OPTIONS_VERSION)
	c.per_message, c.per_name = C.int32_t(o.PerMessage), C.int32_t(o.PerName)
	c.reply_priming, c.per_tool_call = C.int32_t(o.ReplyPriming), C.int32_t(o.PerToolCall)
	return &c
}

// CountMessage is the tokens of message i, overhead included (cached in conv).
func (t *Tokenizer) CountMessage(conv *Conv, i int, opts *CountOptions) (int64, error) {
	defer pin()()
	self, done := t.use()
	defer done()
	if self == nil {
		return 0, t.closedErr()
	}
	var out C.int64_t
	convp, convDone, err := conv.borrow()
	if err != nil {
		return 0, err
	}
	defer convDone()
	rc := C.tkn_tokenizer_count_message(self, convp, C.size_t(i), opts.c(), &out)
	runtime.KeepAlive(t)
	defer runtime.KeepAlive(conv)
	if rc != 0 {
		return 0, lastError(rc, t.cause(rc))
	}
	return int64(out), nil
}

// CountConv is the tokens of the whole conversation, in one call.
func (t *Tokenizer) CountConv(conv *Conv, opts *CountOptions) (int64, error) {
	defer pin()()
	self, done := t.use()
	defer done()
	if self == nil {
		return 0, t.closedErr()
	}
	var out C.int64_t
	convp, convDone, err := conv.borrow()
	if err != nil {
		return 0, err
	}
	defer convDone()
	rc := C.tkn_tokenizer_count_conv(self, convp, opts.c(), &out, nil)
	runtime.KeepAlive(t)
	defer runtime.KeepAlive(conv)
	if rc != 0 {
		return 0, lastError(rc, t.cause(rc))
	}
	return int64(out), nil
}

// CountConvMessages is CountConv with each message's tokens too.
func (t *Tokenizer) CountConvMessages(conv *Conv, opts *CountOptions) (int64, []int64, error) {
	defer pin()()
	self, done := t.use()
	defer done()
	if self == nil {
		return 0, nil, t.closedErr()
	}
	per := make([]int64, conv.Len())
	var out C.int64_t
	var pp *C.int64_t
	if len(per) > 0 {
		pp = (*C.int64_t)(unsafe.Pointer(&per[0]))
	}
	convp, convDone, err := conv.borrow()
	if err != nil {
		return 0, nil, err
	}
	defer convDone()
	rc := C.tkn_tokenizer_count_conv(self, convp, opts.c(), &out, pp)
	runtime.KeepAlive(t)
	defer runtime.KeepAlive(conv)
	if rc != 0 {
		return 0, nil, lastError(rc, t.cause(rc))
	}
	return int64(out), per, nil
}
