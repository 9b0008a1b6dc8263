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
)

// Scope of a tool-cache entry.
type Scope int32

// Tool-cache scopes.
const (
	ScopeRun       Scope = C.TKN_TOOLCACHE_SCOPE_RUN
	ScopeSession   Scope = C.TKN_TOOLCACHE_SCOPE_SESSION
	ScopeNamespace Scope = C.TKN_TOOLCACHE_SCOPE_NAMESPACE
	ScopeGlobal    Scope = C.TKN_TOOLCACHE_SCOPE_GLOBAL
)

// ToolCacheOptions (zero values: the C defaults).
type ToolCacheOptions struct {
	Shards       uint32
	MaxBytes     uint64
	MaxArgsBytes uint64
	// Clock in milliseconds (nil: monotonic), called from any goroutine.
	Clock func() int64
	// Tokenizer counts values put with tokens = -1 (kept alive by the cache).
	Tokenizer *Tokenizer
}

// ToolCache keeps tool results; internally synchronised: safe for
// concurrent use by any number of goroutines.
type ToolCache struct {
	ref   ref
	clock cgo.Handle
	tok   *Tokenizer
	store interface{}
}

// NewToolCache makes an empty cache with no policies.
func NewToolCache(o ToolCacheOptions) (*ToolCache, error) {
	defer pin()()
	var c C.tkn_toolcache_options
	C.tkn_toolcache_options_init(&c, C.TKN_TOOLCACHE_OPTIONS_VERSION)
	if o.Shards > 0 {
		c.shards = C.uint32_t(o.Shards)
	}
	if o.MaxBytes > 0 {
		c.max_bytes = C.uint64_t(o.MaxBytes)
	}
	if o.MaxArgsBytes > 0 {
		c.max_args_bytes = C.uint64_t(o.MaxArgsBytes)
	}
	tc := &ToolCache{tok: o.Tokenizer}
	if o.Clock != nil {
		tc.clock = cgo.NewHandle(&clockState{fn: o.Clock})
		c.clock, c.clock_user = (*[0]byte)(C.tkngo_clock), C.tkngo_ptr(C.uintptr_t(tc.clock))
	}
	tp, tdone, err := o.Tokenizer.borrow() // held while the cache lives
	if err != nil {
		if tc.clock != 0 {
			tc.clock.Delete()
		}
		return nil, err
	}
	c.tokenizer = tp
	var p *C.tkn_toolcache
	if rc := C.tkn_toolcache_new(&p, &c); rc != 0 {
		tdone()
		if tc.clock != 0 {
			tc.clock.Delete()
		}
		return nil, mkerr(rc, "", nil)
	}
	tc.own(p)
	tc.ref.Keep(tdone)
	runtime.SetFinalizer(tc, (*ToolCache).Close)
	return tc, nil
}

// Close frees the cache once no call is inside it (and no borrower holds it).
func (tc *ToolCache) Close() {
	if tc != nil && tc.ref.Close(func() {
		if tc.clock != 0 {
			tc.clock.Delete()
		}
	}) {
		runtime.SetFinalizer(tc, nil)
	}
}

func (tc *ToolCache) err(rc C.int) error {
	if rc == 0 {
		return nil
	}
	return lastError(rc, tc.tok.cause(rc))
}

// SetPolicy registers a tool: cacheable with a TTL (0: none) and a scope.
func (tc *ToolCache) SetPolicy(tool string, cacheable bool, ttlMS int64, scope Scope) error {
	defer pin()()
	self, done := tc.use()
	defer done()
	if self == nil {
		return tc.closedErr()
	}
	v := C.int32_t(0)
	if cacheable {
		v = 1
	}
	p, n := cstr(tool)
	rc := C.tkn_toolcache_set_policy(self, p, n, v, C.int64_t(ttlMS), C.int32_t(scope))
	runtime.KeepAlive(tool)
	defer runtime.KeepAlive(tc)
	return tc.err(rc)
}

// Get looks up tool(args) in scopeID; ok is false on a miss.
func (tc *ToolCache) Get(tool, args, scopeID string) (value string, ok bool, err error) {
	defer pin()()
	self, done := tc.use()
	defer done()
	if self == nil {
		return "", false, tc.closedErr()
	}
	tp, tn := cstr(tool)
	ap, an := cstr(args)
	sp, sn := cstr(scopeID)
	var out *C.char
	var n C.size_t
	rc := C.tkn_toolcache_get(self, tp, tn, ap, an, sp, sn, &out, &n)
	runtime.KeepAlive(tool)
	runtime.KeepAlive(args)
	runtime.KeepAlive(scopeID)
	defer runtime.KeepAlive(tc)
	if rc == C.TKN_ERR_NOT_FOUND {
		return "", false, nil
	}
	if rc != 0 {
		return "", false, tc.err(rc)
	}
	return take(out, n), true, nil
}

// Put stores the result of tool(args); tokens -1 counts it with the tokenizer.
func (tc *ToolCache) Put(tool, args, scopeID, value string, tokens int64) error {
	defer pin()()
	self, done := tc.use()
	defer done()
	if self == nil {
		return tc.closedErr()
	}
	tp, tn := cstr(tool)
	ap, an := cstr(args)
	sp, sn := cstr(scopeID)
	vp, vn := cstr(value)
	rc := C.tkn_toolcache_put(self, tp, tn, ap, an, sp, sn, vp, vn, C.int64_t(tokens))
	runtime.KeepAlive(tool)
	runtime.KeepAlive(args)
	runtime.KeepAlive(scopeID)
	runtime.KeepAlive(value)
	runtime.KeepAlive(tc.tok)
	defer runtime.KeepAlive(tc)
	return tc.err(rc)
}

// InvalidateTool drops every entry of a tool.
func (tc *ToolCache) InvalidateTool(tool string) (uint64, error) {
	defer pin()()
	self, done := tc.use()
	defer done()
	if self == nil {
		return 0, tc.closedErr()
	}
	var n C.uint64_t
	p, l := cstr(tool)
	rc := C.tkn_toolcache_invalidate_tool(self, p, l, &n)
	runtime.KeepAlive(tool)
	defer runtime.KeepAlive(tc)
	return uint64(n), tc.err(rc)
}

// ToolCacheStats are the cache's counters.
type ToolCacheStats struct {
	Hits, Misses, Bypassed, Puts, Evictions, Expirations, Invalidations uint64
	Entries, Bytes, BytesSaved, TokensSaved                             uint64
}

// Stats are the counters since the cache was made.
func (tc *ToolCache) Stats() (ToolCacheStats, error) {
	defer pin()()
	self, done := tc.use()
	defer done()
	if self == nil {
		return ToolCacheStats{}, tc.closedErr()
	}
	var s C.tkn_toolcache_stats
	s.version = C.TKN_TOOLCACHE_STATS_VERSION
	defer runtime.KeepAlive(tc)
	if rc := C.tkn_toolcache_stats_get(self, &s); rc != 0 {
		return ToolCacheStats{}, tc.err(rc)
	}
	return ToolCacheStats{uint64(s.hits), uint64(s.misses), uint64(s.bypassed), uint64(s.puts),
		uint64(s.evictions), uint64(s.expirations), uint64(s.invalidations), uint64(s.entries),
		uint64(s.bytes), uint64(s.bytes_saved), uint64(s.tokens_saved)}, nil
}

// ---- batch ----

// Batch providers.
const (
	BatchOpenAI    Provider = C.TKN_PROVIDER_OPENAI
	BatchAnthropic Provider = C.TKN_PROVIDER_ANTHROPIC
)

// BatchWriterOptions: Write receives whole JSON lines; BeginFile and
// EndFile (may be nil) frame the files.  An error from any of them stops the
// writer (ErrIO wrapping it).
type BatchWriterOptions struct {
	Provider           Provider
	MaxRequestsPerFile uint64
	MaxBytesPerFile    uint64
	BeginFile          func(index int) error
	Write              func(line []byte) error
	EndFile            func(index int, requests, bytes uint64) error
}

// BatchWriter writes batch request files.  One goroutine at a time.
type BatchWriter struct {
	ref ref
	h   cgo.Handle
	st  *writerState
}

// NewBatchWriter makes a writer.
func NewBatchWriter(o BatchWriterOptions) (*BatchWriter, error) {
	defer pin()()
	var c C.tkn_batch_writer_options
	C.tkn_batch_writer_options_init(&c, C.TKN_BATCH_WRITER_OPTIONS_VERSION)
	if o.Provider != 0 {
		c.provider = C.int32_t(o.Provider)
	}
	c.max_requests_per_file = C.uint64_t(o.MaxRequestsPerFile)
	c.max_bytes_per_file = C.uint64_t(o.MaxBytesPerFile)
	w := &BatchWriter{st: &writerState{begin: o.BeginFile, write: o.Write, end: o.EndFile}}
	if o.Write == nil {
		return nil, &Error{Code: StatusInvalid, Message: "BatchWriterOptions.Write is required"}
	}
	w.h = cgo.NewHandle(w.st)
	c.begin_file, c.write = (*[0]byte)(C.tkngo_begin_file), (*[0]byte)(C.tkngo_write)
	c.end_file, c.user = (*[0]byte)(C.tkngo_end_file), C.tkngo_ptr(C.uintptr_t(w.h))
	var p *C.tkn_batch_writer
	if rc := C.tkn_batch_writer_new(&p, &c); rc != 0 {
		w.h.Delete()
		return nil, mkerr(rc, "", nil)
	}
	w.own(p)
	runtime.SetFinalizer(w, (*BatchWriter).Close)
	return w, nil
}

// Close frees the writer (call Finish first to close the last file).
func (w *BatchWriter) Close() {
	if w != nil && w.ref.Close(func() {
		w.h.Delete()
	}) {
		runtime.SetFinalizer(w, nil)
	}
}

func (w *BatchWriter) err(rc C.int) error {
	if rc == 0 {
		return nil
	}
	cause := w.st.err
	w.st.err = nil
	return lastError(rc, cause)
}

// Add writes one request (body: the request body or params, JSON).
func (w *BatchWriter) Add(customID, body string) error {
	defer pin()()
	self, done := w.use()
	defer done()
	if self == nil {
		return w.closedErr()
	}
	ip, in := cstr(customID)
	bp, bn := cstr(body)
	rc := C.tkn_batch_writer_add(self, ip, in, bp, bn)
	runtime.KeepAlive(customID)
	runtime.KeepAlive(body)
	defer runtime.KeepAlive(w)
	return w.err(rc)
}

// Finish closes the current file.
func (w *BatchWriter) Finish() error {
	defer pin()()
	self, done := w.use()
	defer done()
	if self == nil {
		return w.closedErr()
	}
	defer runtime.KeepAlive(w)
	return w.err(C.tkn_batch_writer_finish(self))
}

// BatchResult is one joined result.
type BatchResult struct {
	Status                                int // 1 succeeded, 2 errored, 3 canceled, 4 expired
	CustomID, Model, Body, UsageJSON, Err string
	HTTPStatus                            int
	File                                  uint32
	Line                                  uint64
	MeterStatus                           Status
	Usage                                 *Usage
	Cost                                  *Cost
	MeterError                            string
}

func batchResult(r *C.tkn_batch_result) BatchResult {
	out := BatchResult{Status: int(r.status), CustomID: gostr(r.custom_id, r.custom_id_len),
		Model: gostr(r.model, r.model_len), Body: gostr(r.body, r.body_len),
		UsageJSON: gostr(r.usage, r.usage_len), Err: gostr(r.error, r.error_len),
		HTTPStatus: int(r.http_status), File: uint32(r.file), Line: uint64(r.line),
		MeterStatus: Status(r.meter_status), MeterError: cgostr(r.meter_error)}
	if r.tokens != nil {
		u := usageFrom(r.tokens)
		out.Usage = &u
	}
	if r.cost != nil {
		c := costFrom(r.cost)
		out.Cost = &c
	}
	return out
}

// BatchReader joins result files to the submitted ids.  One goroutine at a time.
type BatchReader struct {
	ref    ref
	h      cgo.Handle
	st     *readerState
	prices *Prices
}

// NewBatchReader makes a reader; onResult (may be nil) gets each joined
// result; prices (may be nil) cost them at the batch price.
func NewBatchReader(provider Provider, prices *Prices, onResult func(BatchResult) error) (*BatchReader, error) {
	defer pin()()
	var c C.tkn_batch_reader_options
	C.tkn_batch_reader_options_init(&c, C.TKN_BATCH_READER_OPTIONS_VERSION)
	if provider != 0 {
		c.provider = C.int32_t(provider)
	}
	r := &BatchReader{prices: prices}
	if onResult != nil {
		r.st = &readerState{fn: onResult}
		r.h = cgo.NewHandle(r.st)
		c.on_result, c.user = (*[0]byte)(C.tkngo_on_result), C.tkngo_ptr(C.uintptr_t(r.h))
	}
	pp, pdone, err := prices.borrow() // held while the reader lives
	if err != nil {
		if r.st != nil {
			r.h.Delete()
		}
		return nil, err
	}
	c.prices = pp
	var p *C.tkn_batch_reader
	if rc := C.tkn_batch_reader_new(&p, &c); rc != 0 {
		pdone()
		if r.st != nil {
			r.h.Delete()
		}
		return nil, mkerr(rc, "", nil)
	}
	r.own(p)
	r.ref.Keep(pdone)
	runtime.SetFinalizer(r, (*BatchReader).Close)
	return r, nil
}

// Close frees the reader.
func (r *BatchReader) Close() {
	if r != nil && r.ref.Close(func() {
		if r.st != nil {
			r.h.Delete()
		}
	}) {
		runtime.SetFinalizer(r, nil)
	}
}

func (r *BatchReader) err(rc C.int) error {
	if rc == 0 {
		return nil
	}
	var cause error
	if r.st != nil {
		cause, r.st.err = r.st.err, nil
	}
	return lastError(rc, cause)
}

// Expect declares a submitted custom id.
func (r *BatchReader) Expect(customID string) error {
	defer pin()()
	self, done := r.use()
	defer done()
	if self == nil {
		return r.closedErr()
	}
	p, n := cstr(customID)
	rc := C.tkn_batch_reader_expect(self, p, n)
	runtime.KeepAlive(customID)
	defer runtime.KeepAlive(r)
	return r.err(rc)
}

// ExpectWriter declares every id the writer wrote.
func (r *BatchReader) ExpectWriter(w *BatchWriter) error {
	defer pin()()
	self, done := r.use()
	defer done()
	if self == nil {
		return r.closedErr()
	}
	defer runtime.KeepAlive(w)
	defer runtime.KeepAlive(r)
	wp, wdone, err := w.borrow()
	if err != nil {
		return err
	}
	defer wdone()
	return r.err(C.tkn_batch_reader_expect_writer(self, wp))
}

// Feed pushes the next bytes of the current file (whole files are best).
func (r *BatchReader) Feed(data []byte) error {
	defer pin()()
	self, done := r.use()
	defer done()
	if self == nil {
		return r.closedErr()
	}
	p, n := cbytes(data)
	rc := C.tkn_batch_reader_feed(self, p, n)
	runtime.KeepAlive(data)
	defer runtime.KeepAlive(r)
	return r.err(rc)
}

// EndFile ends the current file; Finish ends the input.
func (r *BatchReader) EndFile() error {
	defer pin()()
	self, done := r.use()
	defer done()
	if self == nil {
		return r.closedErr()
	}
	defer runtime.KeepAlive(r)
	return r.err(C.tkn_batch_reader_end_file(self))
}

// Finish ends the input and lists the missing ids as dead letters.
func (r *BatchReader) Finish() error {
	defer pin()()
	self, done := r.use()
	defer done()
	if self == nil {
		return r.closedErr()
	}
	defer runtime.KeepAlive(r)
	return r.err(C.tkn_batch_reader_finish(self))
}

// DeadLettersJSON are the dead letters as a JSON array.
func (r *BatchReader) DeadLettersJSON() (string, error) {
	defer pin()()
	self, done := r.use()
	defer done()
	if self == nil {
		return "", r.closedErr()
	}
	var out *C.char
	var n C.size_t
	defer runtime.KeepAlive(r)
	if rc := C.tkn_batch_reader_dead_letters_json(self, &out, &n); rc != 0 {
		return "", r.err(rc)
	}
	return take(out, n), nil
}

// BatchSummary counts the results so far.
type BatchSummary struct {
	Files                                          uint32
	Lines, Expected, Succeeded, Errored, Missing   uint64
	Duplicates, Unknown, Metered, Priced, Unpriced uint64
	InputTokens, OutputTokens, Cost                int64
}

// Summary of what was read.
func (r *BatchReader) Summary() (BatchSummary, error) {
	defer pin()()
	self, done := r.use()
	defer done()
	if self == nil {
		return BatchSummary{}, r.closedErr()
	}
	var s C.tkn_batch_summary
	s.version = C.TKN_BATCH_SUMMARY_VERSION
	defer runtime.KeepAlive(r)
	if rc := C.tkn_batch_reader_summary(self, &s); rc != 0 {
		return BatchSummary{}, r.err(rc)
	}
	return BatchSummary{uint32(s.files), uint64(s.lines), uint64(s.expected),
		uint64(s.succeeded), uint64(s.errored), uint64(s.missing), uint64(s.duplicates),
		uint64(s.unknown), uint64(s.metered), uint64(s.priced), uint64(s.unpriced),
		int64(s.input_tokens), int64(s.output_tokens), int64(s.cost)}, nil
}
