// Package redis is the Go binding of libtokenomy-redis, the shared store
// of tokenomy on Redis: hand a *Store to tokenomy.NewSharedBudget,
// (*tokenomy.ToolCache).SetStore or (*tokenomy.Meter).SetStore.
//
// A Store is safe for concurrent use by any number of goroutines; make one
// per process.
package redis

/*
#cgo pkg-config: tokenomy-redis
#include <stdlib.h>
#include "tokenomy.h"
#include "tokenomy-redis/redis.h"
*/
import "C"

import (
	"runtime"
	"unsafe"

	tokenomy "github.com/tokenomy/tokenomy/bindings/go"
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

// Store is a Redis-backed tkn_store.
type Store struct{ p *C.tkn_redis }

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
	path := func(s string, p **C.char) {
		if s != "" {
			cs := C.CString(s)
			frees = append(frees, unsafe.Pointer(cs))
			*p = cs
		}
	}
	path(o.TLSCAFile, &c.tls_ca_file)
	path(o.TLSCertFile, &c.tls_cert_file)
	path(o.TLSKeyFile, &c.tls_key_file)
	path(o.TLSServerName, &c.tls_server_name)
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
	if rc := C.tkn_redis_new(&s.p, &c); rc != 0 {
		return nil, lastError(rc)
	}
	runtime.SetFinalizer(s, (*Store).Close)
	return s, nil
}

// Close frees the store; nothing may use it afterwards (close the budgets,
// caches and meters on it first).
func (s *Store) Close() {
	if s.p != nil {
		C.tkn_redis_free(s.p)
		s.p = nil
		runtime.SetFinalizer(s, nil)
	}
}

func (s *Store) err(rc C.int) error {
	if rc == 0 {
		return nil
	}
	return lastError(rc)
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

// Ping connects if needed: nil or an error wrapping ErrUnavailable.
func (s *Store) Ping() error {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	defer runtime.KeepAlive(s)
	return s.err(C.tkn_redis_ping(s.p))
}

// Reconnects counts the connections made to replace one that failed.
func (s *Store) Reconnects() uint64 {
	defer runtime.KeepAlive(s)
	return uint64(C.tkn_redis_reconnects(s.p))
}

// StateLosses counts the times the server was found to have lost its state.
func (s *Store) StateLosses() uint64 {
	defer runtime.KeepAlive(s)
	return uint64(C.tkn_redis_state_losses(s.p))
}

// AcceptStateLoss serves calls again after ErrState: the spend the server
// counted before is gone.
func (s *Store) AcceptStateLoss() error {
	defer runtime.KeepAlive(s)
	return s.err(C.tkn_redis_accept_state_loss(s.p))
}

// FillStore implements tokenomy.NativeStore.
func (s *Store) FillStore(p unsafe.Pointer) error {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	defer runtime.KeepAlive(s)
	return s.err(C.tkn_redis_store(s.p, (*C.tkn_store)(p)))
}
