package tokenomy

/*
#include <stdint.h>
*/
import "C"

import (
	"fmt"
	"math"

	"github.com/tokenomy/tokenomy/bindings/go/internal/handle"
)

// The handle layer.  Every type that owns a C handle holds it in a ref (the
// reference count of internal/handle, which says what it guarantees), and
// every method reaches the C pointer only through the type's use method
// (generated, with the free functions, into handles_gen.go by
// gen_handles.py from the public headers):
//
//	self, done := x.use() // nil if x is nil or closed: the method then
//	defer done()          // returns x.closedErr() (errors.Is ErrClosed)

// ref is the reference count and pointer of one C handle.
type ref = handle.Ref

// noop is the release function of a nil or closed value.
func noop() {}

// errClosed is the error of a call on a closed value, or of passing one
// where a live one is needed (as a borrowed part or an argument): the same
// wording for every type, and errors.Is(err, ErrClosed) (and ErrInvalid, its
// status code) holds for it.
func errClosed(what string) error {
	return &Error{Code: StatusInvalid, Message: what + " is closed", Offset: -1, Err: ErrClosed}
}

// errNil is errClosed for a method called on a nil pointer.
func errNil(what string) error {
	return &Error{Code: StatusInvalid, Message: what + " is nil", Offset: -1, Err: ErrClosed}
}

// ErrClosed is wrapped by the error of every call on a closed (or nil) value
// of any type of the binding, and of every call given a closed value:
// errors.Is(err, tokenomy.ErrClosed).  The error's text is "tokenomy: T is
// closed" (or "tokenomy: T is nil"), T the Go type.
var ErrClosed error = closedError{}

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
