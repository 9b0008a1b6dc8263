package tokenomy

/*
#include <stdint.h>
*/
import "C"

import (
	"fmt"
	"math"
	"sync"
	"unsafe"
)

// The handle layer.  Every type that owns a C handle holds it in a ref, and
// every method reaches the C pointer only through the type's use method
// (generated, with the free functions, into handles_gen.go by
// gen_handles.py from the public headers):
//
//	p, done := x.use() // nil if x is nil or closed: the C call then fails
//	defer done()       // with ErrInvalid (every C function checks NULL)
//
// A ref counts one reference for its owner (dropped by Close), one per call
// in flight and one per borrower (an Agent borrowing a Budget, a Pruner its
// Tokenizer, ...).  The C object is freed when the count reaches zero, so:
//   - Close never frees memory a call on another goroutine is still inside;
//   - closing a part that another object borrows only drops the owner's
//     reference: the borrower goes on working, and the part is freed with it;
//   - a method on a closed value gets a nil pointer, never a freed one.
// Close does not wait and takes no lock held across a C call, so closing from
// a callback of the same value cannot deadlock.

// ref is the reference count and pointer of one C handle.
type ref struct {
	mu     sync.Mutex
	p      unsafe.Pointer
	refs   int  // owner (until Close) + calls in flight + borrowers
	closed bool // Close was called: no new calls or borrowers
	free   func(unsafe.Pointer)
	after  []func() // run once the C object is freed (callback handles)
}

func noop() {}

// set makes r own p (freed by free once unreferenced).  Called once, by the
// constructor, before r is shared.
func (r *ref) set(p unsafe.Pointer, free func(unsafe.Pointer)) {
	r.mu.Lock()
	r.p, r.free, r.refs = p, free, 1
	r.mu.Unlock()
}

// keep runs done (giving back a borrowed part's reference) once the C
// object is freed: for the parts the C object keeps pointing to.
func (r *ref) keep(done func()) {
	r.mu.Lock()
	r.after = append(r.after, done)
	r.mu.Unlock()
}

// acquire takes a reference for one call: the pointer (nil if closed or never
// set) and the function that gives the reference back.
func (r *ref) acquire() (unsafe.Pointer, func()) {
	r.mu.Lock()
	if r.closed || r.p == nil {
		r.mu.Unlock()
		return nil, noop
	}
	r.refs++
	p := r.p
	r.mu.Unlock()
	return p, r.release
}

func (r *ref) release() {
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

// close drops the owner's reference; later calls get nil.  Only the first
// close counts: it returns true and queues after (run once the C object is
// freed); later ones return false.
func (r *ref) close(after ...func()) bool {
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

// isClosed reports whether Close was called.
func (r *ref) isClosed() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.closed || r.p == nil
}

// errClosed is the error for passing a closed value where a live one is
// needed (as a borrowed part, or an argument C cannot take as NULL).
func errClosed(what string) error {
	return &Error{Code: StatusInvalid, Message: what + " is closed", Offset: -1, Err: ErrClosed}
}

// ErrClosed is wrapped by the error of a call that needed a value already
// closed: errors.Is(err, tokenomy.ErrClosed).
var ErrClosed = closedError{}

type closedError struct{}

func (closedError) Error() string { return "use of a closed tokenomy value" }

// ---- integers across the boundary ----

// errRange is the error for a Go integer the C parameter cannot hold: the
// call is refused instead of passing a wrapped-around value.
func errRange(what string, v int) error {
	return &Error{Code: StatusInvalid, Offset: -1,
		Message: fmt.Sprintf("%s %d is out of range", what, v)}
}

// i32 is v as a C int32_t, or an error if it does not fit.
func i32(v int, what string) (C.int32_t, error) {
	if v < math.MinInt32 || v > math.MaxInt32 {
		return 0, errRange(what, v)
	}
	return C.int32_t(v), nil
}

// u32 is v as a C uint32_t, or an error if it does not fit.
func u32(v int, what string) (C.uint32_t, error) {
	if v < 0 || uint64(v) > math.MaxUint32 {
		return 0, errRange(what, v)
	}
	return C.uint32_t(v), nil
}
