package tokenomy

/*
#include <stdint.h>
#include <stdlib.h>
#include "tokenomy.h"
*/
import "C"

import (
	"fmt"
	"runtime/cgo"
	"sync"
	"unsafe"
)

// Go callbacks are reached through C trampolines (callbacks.c) that pass a
// cgo.Handle in the C `user` pointer.  A callback never lets a panic or an
// error cross into C: it is turned into the failure status C expects, kept,
// and returned (wrapped in *Error) by the call that invoked it.

func recovered(r interface{}) error { return fmt.Errorf("tokenomy: callback panicked: %v", r) }

// errSlot keeps the error of a failed callback until the caller takes it.
type errSlot struct {
	mu  sync.Mutex
	err error
}

func (s *errSlot) set(err error) {
	s.mu.Lock()
	if s.err == nil {
		s.err = err
	}
	s.mu.Unlock()
}

func (s *errSlot) take() error {
	s.mu.Lock()
	err := s.err
	s.err = nil
	s.mu.Unlock()
	return err
}

type countState struct {
	fn func(text string) (int64, error)
	errSlot
}

//export tkngoCount
func tkngoCount(text *C.char, n C.size_t, out *C.int64_t, h C.uintptr_t) (rc C.int) {
	st := cgo.Handle(h).Value().(*countState)
	defer func() {
		if r := recover(); r != nil {
			st.set(recovered(r))
			rc = 1
		}
	}()
	v, err := st.fn(gostr(text, n))
	if err == nil && v < 0 {
		err = fmt.Errorf("tokenomy: tokenizer callback returned %d", v)
	}
	if err != nil {
		st.set(err)
		return 1
	}
	*out = C.int64_t(v)
	return 0
}

type clockState struct{ fn func() int64 }

//export tkngoClock
func tkngoClock(h C.uintptr_t) (v C.int64_t) {
	defer func() {
		if recover() != nil {
			v = 0 // a clock cannot fail in C: a panicking clock stands still
		}
	}()
	return C.int64_t(cgo.Handle(h).Value().(*clockState).fn())
}

type compareState struct {
	fn  func(cheap, strong string) (bool, error)
	err error
}

//export tkngoCompare
func tkngoCompare(a *C.char, an C.size_t, b *C.char, bn C.size_t, h C.uintptr_t) (rc C.int) {
	st := cgo.Handle(h).Value().(*compareState)
	defer func() {
		if r := recover(); r != nil {
			st.err = recovered(r)
			rc = -1
		}
	}()
	ok, err := st.fn(gostr(a, an), gostr(b, bn))
	if err != nil {
		st.err = err
		return -1
	}
	if ok {
		return 1
	}
	return 0
}

type scoreTextState struct {
	fn func(text string) (float64, error)
	errSlot
}

//export tkngoScoreText
func tkngoScoreText(text *C.char, n C.size_t, out *C.double, h C.uintptr_t) (rc C.int) {
	st := cgo.Handle(h).Value().(*scoreTextState)
	defer func() {
		if r := recover(); r != nil {
			st.set(recovered(r))
			rc = 1
		}
	}()
	v, err := st.fn(gostr(text, n))
	if err != nil {
		st.set(err)
		return 1
	}
	*out = C.double(v)
	return 0
}

type pruneState struct {
	score        func(i int) (float64, error)
	summarise    func(dropped []int, maxTokens int64) (string, error)
	err          error
	summaryErr   error
	summaryAlloc []unsafe.Pointer
}

//export tkngoPruneScore
func tkngoPruneScore(i C.size_t, out *C.double, h C.uintptr_t) (rc C.int) {
	st := cgo.Handle(h).Value().(*pruneState)
	defer func() {
		if r := recover(); r != nil {
			st.err = recovered(r)
			rc = 1
		}
	}()
	v, err := st.score(int(i))
	if err != nil {
		st.err = err
		return 1
	}
	*out = C.double(v)
	return 0
}

//export tkngoPruneSummarise
func tkngoPruneSummarise(dropped *C.size_t, n C.size_t, max C.int64_t, text **C.char,
	ln *C.size_t, h C.uintptr_t) (rc C.int) {
	st := cgo.Handle(h).Value().(*pruneState)
	defer func() {
		if r := recover(); r != nil {
			st.summaryErr = recovered(r)
			rc = 1
		}
	}()
	idx := make([]int, int(n))
	src := unsafe.Slice(dropped, int(n))
	for k := range idx {
		idx[k] = int(src[k])
	}
	s, err := st.summarise(idx, int64(max))
	if err != nil {
		st.summaryErr = err
		return 1
	}
	p := C.CBytes([]byte(s)) // valid until the run returns; freed then
	st.summaryAlloc = append(st.summaryAlloc, p)
	*text = (*C.char)(p)
	*ln = C.size_t(len(s))
	return 0
}

type limitState struct {
	fn func(level, dimension string)
}

//export tkngoOnLimit
func tkngoOnLimit(level, dim C.int32_t, h C.uintptr_t) {
	defer func() { _ = recover() }() // nothing to report to: C ignores the outcome
	d := "tokens"
	if dim == C.TKN_BUDGET_MONEY {
		d = "money"
	}
	cgo.Handle(h).Value().(*limitState).fn(budgetLevels[int(level)], d)
}

type writerState struct {
	begin func(index int) error
	write func(line []byte) error
	end   func(index int, requests, bytes uint64) error
	err   error
}

func (st *writerState) guard(f func() error) (rc C.int) {
	defer func() {
		if r := recover(); r != nil {
			st.err = recovered(r)
			rc = 1
		}
	}()
	if err := f(); err != nil {
		st.err = err
		return 1
	}
	return 0
}

//export tkngoBeginFile
func tkngoBeginFile(index C.uint32_t, h C.uintptr_t) C.int {
	st := cgo.Handle(h).Value().(*writerState)
	if st.begin == nil {
		return 0
	}
	return st.guard(func() error { return st.begin(int(index)) })
}

//export tkngoWrite
func tkngoWrite(data *C.char, n C.size_t, h C.uintptr_t) C.int {
	st := cgo.Handle(h).Value().(*writerState)
	return st.guard(func() error { return st.write(C.GoBytes(unsafe.Pointer(data), C.int(n))) })
}

//export tkngoEndFile
func tkngoEndFile(index C.uint32_t, requests, bytes C.uint64_t, h C.uintptr_t) C.int {
	st := cgo.Handle(h).Value().(*writerState)
	if st.end == nil {
		return 0
	}
	return st.guard(func() error { return st.end(int(index), uint64(requests), uint64(bytes)) })
}

type readerState struct {
	fn  func(BatchResult) error
	err error
}

//export tkngoOnResult
func tkngoOnResult(r *C.tkn_batch_result, h C.uintptr_t) (rc C.int) {
	st := cgo.Handle(h).Value().(*readerState)
	defer func() {
		if x := recover(); x != nil {
			st.err = recovered(x)
			rc = 1
		}
	}()
	if err := st.fn(batchResult(r)); err != nil {
		st.err = err
		return 1
	}
	return 0
}
