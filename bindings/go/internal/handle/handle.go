// Package handle is the reference count under every Go value of the
// bindings that owns a C handle (package tokenomy and package
// tokenomy/redis; the per-type methods over it are generated into each
// package's handles_gen.go by gen_handles.py).
//
// A Ref counts one reference for its owner (dropped by Close), one per call
// in flight and one per borrower (an Agent borrowing a Budget, a Pruner its
// Tokenizer, a shared Budget its Redis store, ...).  The C object is freed
// when the count reaches zero, so:
//   - Close never frees memory a call on another goroutine is still inside;
//   - closing a part that another object borrows only drops the owner's
//     reference: the borrower goes on working, and the part is freed with it;
//   - a method on a closed value gets a nil pointer, never a freed one.
//
// Close does not wait and takes no lock held across a C call, so closing from
// a callback of the same value cannot deadlock.
package handle

import (
	"sync"
	"unsafe"
)

// Ref is the reference count and pointer of one C handle.  Its zero value
// holds nothing (Acquire gives nil) until Set.
type Ref struct {
	mu     sync.Mutex
	p      unsafe.Pointer
	refs   int  // owner (until Close) + calls in flight + borrowers
	closed bool // Close was called: no new calls or borrowers
	free   func(unsafe.Pointer)
	after  []func() // run once the C object is freed (callback handles, borrowed parts)
}

// Noop is the release function of a failed Acquire: there is nothing to give back.
func Noop() {}

// Set makes r own p (freed by free once unreferenced).  Called once, by the
// constructor, before r is shared.
func (r *Ref) Set(p unsafe.Pointer, free func(unsafe.Pointer)) {
	r.mu.Lock()
	r.p, r.free, r.refs = p, free, 1
	r.mu.Unlock()
}

// Keep runs done (giving back a borrowed part's reference) once the C
// object is freed: for the parts the C object keeps pointing to.
func (r *Ref) Keep(done func()) {
	r.mu.Lock()
	r.after = append(r.after, done)
	r.mu.Unlock()
}

// Acquire takes a reference for one call (or one borrower): the pointer (nil
// if closed or never set) and the function that gives the reference back.
func (r *Ref) Acquire() (unsafe.Pointer, func()) {
	r.mu.Lock()
	if r.closed || r.p == nil {
		r.mu.Unlock()
		return nil, Noop
	}
	r.refs++
	p := r.p
	r.mu.Unlock()
	return p, r.release
}

func (r *Ref) release() {
	r.mu.Lock()
	r.refs--
	if r.refs > 0 {
		r.mu.Unlock()
		return
	}
	p, free, after := r.p, r.free, r.after
	r.p, r.after = nil, nil
	r.mu.Unlock()
	if p != nil && free != nil {
		free(p)
	}
	for _, f := range after {
		f()
	}
}

// Close drops the owner's reference; later calls get nil.  Only the first
// Close counts: it returns true and queues after (run once the C object is
// freed); later ones return false.
func (r *Ref) Close(after ...func()) bool {
	r.mu.Lock()
	if r.closed {
		r.mu.Unlock()
		return false
	}
	r.closed = true
	if r.p == nil && r.refs == 0 { // never set (a failed constructor)
		r.mu.Unlock()
		for _, f := range after {
			f()
		}
		return true
	}
	r.after = append(r.after, after...)
	r.mu.Unlock()
	r.release()
	return true
}

// IsClosed reports whether Close was called (or the handle was never set).
func (r *Ref) IsClosed() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.closed || r.p == nil
}
