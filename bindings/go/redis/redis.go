// Package redis is the Go binding of libtokenomy-redis, the shared store
// of tokenomy on Redis: hand a *Store to tokenomy.NewSharedBudget,
// (*tokenomy.ToolCache).SetStore or (*tokenomy.Meter).SetStore.
//
// A Store is safe for concurrent use by any number of goroutines; make one
// per process.  Like every value of package tokenomy it is reference-counted
// (internal/handle; the handle layer is generated into handles_gen.go by
// ../gen_handles.py): a budget, tool cache or meter on it holds a reference,
// so closing the Store before them only drops the owner's reference; Close
// while other goroutines are inside a call frees it when the last one
// leaves; and every method of a closed Store returns an error that
// errors.Is(err, tokenomy.ErrClosed) (or a zero value where it has none).
package redis

/*
#cgo pkg-config: tokenomy-redis
#include <stdlib.h>
#include "tokenomy.h"
#include "tokenomy-redis/redis.h"
*/
import "C"

import (
	"fmt"
	"math"
	"runtime"
	"strings"
	"unsafe"

	tokenomy "github.com/tokenomy/tokenomy/bindings/go"
	"github.com/tokenomy/tokenomy/bindings/go/internal/handle"
)

// Options of the connection (zero values: the C defaults: 127.0.0.1:6379,
// prefix "tkn:", 1 s connect and 2 s command timeouts, 3 s per call,
// 2 retries, 4 connections, database 0, no TLS, fail closed on a lost state).
// See tokenomy-redis/redis.h for what each one does.
type Options struct {
	Host                string
	Port                int
	Prefix              string // no '|'
	Password            string
	User                string // ACL user (with Password)
	DB                  int
	PoolSize            int
	ConnectTimeoutMS    int64
	CommandTimeoutMS    int64
	CallTimeoutMS       int64
	Retries             int  // -1: none
	ContinueOnStateLoss bool // take a server's new epoch and go on
	TLS                 bool
	TLSCAFile           string // PEM; "": the system's CAs
	TLSCertFile         string // PEM client certificate; "": none
	TLSKeyFile          string
	TLSServerName       string // "": Host
}

// Store is a Redis-backed tkn_store (tkn_redis).
type Store struct{ ref ref }

// ref is the reference count and pointer of one C handle.
type ref = handle.Ref

// noop is the release function of a nil or closed value.
func noop() {}

// errClosed is tokenomy's error for a closed value: the same wording, and
// errors.Is(err, tokenomy.ErrClosed).
func errClosed(what string) error {
	return &tokenomy.Error{Code: tokenomy.StatusInvalid, Message: "redis." + what + " is closed",
		Offset: -1, Err: tokenomy.ErrClosed}
}

// errNil is errClosed for a method called on a nil pointer.
func errNil(what string) error {
	return &tokenomy.Error{Code: tokenomy.StatusInvalid, Message: "redis." + what + " is nil",
		Offset: -1, Err: tokenomy.ErrClosed}
}

// New makes a store; the connection is made on first use.
func New(o Options) (*Store, error) {
	var c C.tkn_redis_options
	C.tkn_redis_options_init(&c, C.TKN_REDIS_OPTIONS_VERSION)
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
	str(o.Host, &c.host, &c.host_len)
	str(o.Prefix, &c.prefix, &c.prefix_len)
	str(o.Password, &c.password, &c.password_len)
	str(o.User, &c.user, &c.user_len)
	// C takes these NUL-terminated: one with a NUL inside is refused, not cut
	var bad error
	path := func(s string, p **C.char, what string) {
		if strings.IndexByte(s, 0) >= 0 && bad == nil {
			bad = invalid("Options.%s contains a NUL byte", what)
		}
		if s != "" {
			cs := C.CString(s)
			frees = append(frees, unsafe.Pointer(cs))
			*p = cs
		}
	}
	path(o.TLSCAFile, &c.tls_ca_file, "TLSCAFile")
	path(o.TLSCertFile, &c.tls_cert_file, "TLSCertFile")
	path(o.TLSKeyFile, &c.tls_key_file, "TLSKeyFile")
	path(o.TLSServerName, &c.tls_server_name, "TLSServerName")
	if bad != nil {
		return nil, bad
	}
	// integers C holds as uint32: refused when out of range, never wrapped
	for _, f := range []struct {
		v    int
		what string
	}{{o.Port, "Port"}, {o.DB, "DB"}, {o.PoolSize, "PoolSize"}, {o.Retries, "Retries"}} {
		if f.v > math.MaxUint32 || (f.v < 0 && f.what != "Retries") || f.v < -1 {
			return nil, invalid("Options.%s %d is out of range", f.what, f.v)
		}
	}
	if o.TLS {
		c.tls = 1
	}
	if o.ContinueOnStateLoss {
		c.on_state_loss = C.TKN_REDIS_STATE_LOSS_CONTINUE
	}
	if o.DB > 0 {
		c.db = C.uint32_t(o.DB)
	}
	if o.PoolSize > 0 {
		c.pool_size = C.uint32_t(o.PoolSize)
	}
	if o.CallTimeoutMS > 0 {
		c.call_timeout_ms = C.int64_t(o.CallTimeoutMS)
	}
	if o.Port > 0 {
		c.port = C.uint32_t(o.Port)
	}
	if o.ConnectTimeoutMS > 0 {
		c.connect_timeout_ms = C.int64_t(o.ConnectTimeoutMS)
	}
	if o.CommandTimeoutMS > 0 {
		c.command_timeout_ms = C.int64_t(o.CommandTimeoutMS)
	}
	if o.Retries > 0 {
		c.retries = C.uint32_t(o.Retries)
	} else if o.Retries < 0 {
		c.retries = 0
	}
	s := &Store{}
	runtime.LockOSThread() // the detail is thread-local in C (see tokenomy's pin)
	defer runtime.UnlockOSThread()
	var p *C.tkn_redis
	if rc := C.tkn_redis_new(&p, &c); rc != 0 {
		return nil, lastError(rc)
	}
	s.own(p)
	runtime.SetFinalizer(s, (*Store).Close)
	return s, nil
}

// Close drops the owner's reference: the store is freed once no call is
// inside it and no budget, tool cache or meter made on it is left (they
// keep working).  Calling it again is a no-op.
func (s *Store) Close() {
	if s != nil && s.ref.Close() {
		runtime.SetFinalizer(s, nil)
	}
}

func (s *Store) err(rc C.int) error {
	if rc == 0 {
		return nil
	}
	return lastError(rc)
}

// invalid is an ErrInvalid error made on the Go side.
func invalid(format string, args ...interface{}) error {
	return &tokenomy.Error{Code: tokenomy.StatusInvalid, Offset: -1,
		Message: fmt.Sprintf(format, args...)}
}

// lastError reads tkn_error_last() on this thread: callers hold the OS thread
// locked across the C call and this read.
func lastError(rc C.int) error {
	e := &tokenomy.Error{Code: tokenomy.Status(rc), Offset: -1}
	if le := C.tkn_error_last(); le.status == rc {
		e.Message = C.GoString(le.message)
		e.Offset = int64(le.offset)
		e.Path = C.GoString(le.path)
	}
	return e
}

// Ping connects if needed: nil or an error wrapping tokenomy.ErrUnavailable.
func (s *Store) Ping() error {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	self, done := s.use()
	defer done()
	if self == nil {
		return s.closedErr()
	}
	return s.err(C.tkn_redis_ping(self))
}

// Reconnects counts the connections made to replace one that failed (0 once
// closed).
func (s *Store) Reconnects() uint64 {
	self, done := s.use()
	defer done()
	if self == nil {
		return 0
	}
	return uint64(C.tkn_redis_reconnects(self))
}

// StateLosses counts the times the server was found to have lost its state
// (0 once closed).
func (s *Store) StateLosses() uint64 {
	self, done := s.use()
	defer done()
	if self == nil {
		return 0
	}
	return uint64(C.tkn_redis_state_losses(self))
}

// AcceptStateLoss serves calls again after tokenomy.ErrState: the spend the
// server counted before is gone.
func (s *Store) AcceptStateLoss() error {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	self, done := s.use()
	defer done()
	if self == nil {
		return s.closedErr()
	}
	return s.err(C.tkn_redis_accept_state_loss(self))
}

// FillStore implements tokenomy.NativeStore: it fills the table at p and
// holds a reference on the store until release is called (by the budget,
// cache or meter using the table, once it is freed).
func (s *Store) FillStore(p unsafe.Pointer) (release func(), err error) {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	self, done, err := s.borrow()
	if err != nil {
		return noop, err
	}
	if self == nil { // a nil *Store
		return noop, s.closedErr()
	}
	if err := s.err(C.tkn_redis_store(self, (*C.tkn_store)(p))); err != nil {
		done()
		return noop, err
	}
	return done, nil
}
