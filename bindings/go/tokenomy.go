// Package tokenomy is the Go binding of the tokenomy C library (cgo, found
// through pkg-config): token counting, conversations, budgets, pruning,
// routing, structured output, prompt assembly, prices, metering, the
// tool-result cache and batch files.
//
// Every type owns one C handle: call Close when done (a finaliser frees a
// forgotten one, as a safety net only).  Handles are reference-counted
// (internal/handle, handles_gen.go): a method on a closed or nil value, or
// given a closed value, returns an error that errors.Is(err, ErrClosed)
// (a method without an error result returns its zero value), and never
// touches freed memory; Close while other goroutines are inside a call
// frees the handle when the last call leaves; and a part another value
// borrows (an Agent's Budget, a Pruner's Tokenizer, a Meter's Prices) is
// freed only with its borrower.  Errors are *Error values carrying
// the C status code; errors.Is(err, tokenomy.ErrNotFound) and errors.As
// work, and an error returned by a Go callback is wrapped (errors.Unwrap).
// Concurrency follows the C part: each type says whether one value may be
// used from many goroutines at once.
package tokenomy

/*
#cgo pkg-config: tokenomy
#include <stdlib.h>
#include "tokenomy.h"
*/
import "C"

import (
	"fmt"
	"runtime"
	"unsafe"
)

// Version is the version of the C library actually loaded.
func Version() string { return C.GoString(C.tkn_version_string()) }

// Status is a C status code (TKN_OK, TKN_ERR_*).
type Status int

// The status codes of common.h.
const (
	StatusOK           Status = C.TKN_OK
	StatusNoMem        Status = C.TKN_ERR_NOMEM
	StatusInvalid      Status = C.TKN_ERR_INVALID
	StatusParse        Status = C.TKN_ERR_PARSE
	StatusUTF8         Status = C.TKN_ERR_UTF8
	StatusLimit        Status = C.TKN_ERR_LIMIT
	StatusNotFound     Status = C.TKN_ERR_NOT_FOUND
	StatusBudget       Status = C.TKN_ERR_BUDGET
	StatusCallback     Status = C.TKN_ERR_CALLBACK
	StatusUnsupported  Status = C.TKN_ERR_UNSUPPORTED
	StatusSchema       Status = C.TKN_ERR_SCHEMA
	StatusState        Status = C.TKN_ERR_STATE
	StatusOverflow     Status = C.TKN_ERR_OVERFLOW
	StatusDuplicate    Status = C.TKN_ERR_DUPLICATE
	StatusIO           Status = C.TKN_ERR_IO
	StatusSpecialToken Status = C.TKN_ERR_SPECIAL_TOKEN
	StatusVersion      Status = C.TKN_ERR_VERSION
	StatusTooSmall     Status = C.TKN_ERR_TOO_SMALL
	StatusUnavailable  Status = C.TKN_ERR_UNAVAILABLE
	StatusCancelled    Status = C.TKN_ERR_CANCELLED
	StatusAuth         Status = C.TKN_ERR_AUTH
)

// String is the C library's static text for the code.
func (s Status) String() string { return C.GoString(C.tkn_strerror(C.int(s))) }

// Error is a failed call: the status code, the handle's one-line message,
// and the error a Go callback returned, if that is what failed.
type Error struct {
	Code    Status
	Message string
	Offset  int64  // byte offset in the input the call read; -1 if not known
	Path    string // JSON path of the offending member ("$.messages[3]"); "" if not known
	Err     error
}

// Error is "tokenomy: " and the message (the status's text if there is none),
// then the wrapped callback error, if any.
func (e *Error) Error() string {
	msg := e.Message
	if msg == "" {
		msg = e.Code.String()
	}
	if e.Err != nil && e.Err != ErrClosed { // the message already says it is closed
		return fmt.Sprintf("tokenomy: %s: %v", msg, e.Err)
	}
	return "tokenomy: " + msg
}

// Unwrap gives the callback's own error, if any.
func (e *Error) Unwrap() error { return e.Err }

// Is matches another *Error with the same code (the Err* sentinels).
func (e *Error) Is(target error) bool {
	t, ok := target.(*Error)
	return ok && t.Code == e.Code && t.Message == "" && t.Err == nil
}

// Sentinels for errors.Is, one per status code.
var (
	ErrNoMem        = &Error{Code: StatusNoMem}
	ErrInvalid      = &Error{Code: StatusInvalid}
	ErrParse        = &Error{Code: StatusParse}
	ErrUTF8         = &Error{Code: StatusUTF8}
	ErrLimit        = &Error{Code: StatusLimit}
	ErrNotFound     = &Error{Code: StatusNotFound}
	ErrBudget       = &Error{Code: StatusBudget}
	ErrCallback     = &Error{Code: StatusCallback}
	ErrUnsupported  = &Error{Code: StatusUnsupported}
	ErrSchema       = &Error{Code: StatusSchema}
	ErrState        = &Error{Code: StatusState}
	ErrOverflow     = &Error{Code: StatusOverflow}
	ErrDuplicate    = &Error{Code: StatusDuplicate}
	ErrIO           = &Error{Code: StatusIO}
	ErrSpecialToken = &Error{Code: StatusSpecialToken}
	ErrVersion      = &Error{Code: StatusVersion}
	ErrTooSmall     = &Error{Code: StatusTooSmall}
	ErrUnavailable  = &Error{Code: StatusUnavailable}
	ErrCancelled    = &Error{Code: StatusCancelled}
	ErrAuth         = &Error{Code: StatusAuth}
)

// pin locks the goroutine to its OS thread until the returned function is
// called.  The C library reports a failure's detail in a thread-local slot
// (tkn_error_last), and a goroutine may move to another OS thread between
// two cgo calls, so every wrapper that can fail runs its C call and the read
// of the detail on one thread (as git2go does):  defer pin()()
func pin() func() {
	runtime.LockOSThread()
	return runtime.UnlockOSThread
}

// lastError is the *Error for status rc, with the detail the C library left
// in tkn_error_last() on this (pinned) thread.
func lastError(rc C.int, cause error) *Error {
	e := &Error{Code: Status(rc), Offset: -1, Err: cause}
	if le := C.tkn_error_last(); le.status == rc {
		e.Message = C.GoString(le.message)
		e.Offset = int64(le.offset)
		e.Path = C.GoString(le.path)
	}
	return e
}

// mkerr: nil for TKN_OK, else the last error; msg (a Go-side context) goes
// before the C library's detail.
func mkerr(rc C.int, msg string, cause error) error {
	if rc == 0 {
		return nil
	}
	e := lastError(rc, cause)
	if msg != "" {
		if e.Message != "" {
			e.Message = msg + ": " + e.Message
		} else {
			e.Message = msg
		}
	}
	return e
}

// ---- strings across the boundary ----

var emptyC = C.CString("")

// cstr points C at the bytes of s without copying (C never keeps them).
func cstr(s string) (*C.char, C.size_t) {
	if len(s) == 0 {
		return emptyC, 0
	}
	return (*C.char)(*(*unsafe.Pointer)(unsafe.Pointer(&s))), C.size_t(len(s))
}

// cbytes is cstr for a byte slice.
func cbytes(b []byte) (*C.char, C.size_t) {
	if len(b) == 0 {
		return emptyC, 0
	}
	return (*C.char)(unsafe.Pointer(&b[0])), C.size_t(len(b))
}

// take copies library-allocated text and frees it.
func take(p *C.char, n C.size_t) string {
	if p == nil {
		return ""
	}
	s := C.GoStringN(p, C.int(n))
	C.tkn_free(unsafe.Pointer(p))
	return s
}

func gostr(p *C.char, n C.size_t) string {
	if p == nil || n == 0 {
		return ""
	}
	return C.GoStringN(p, C.int(n))
}
