package tokenomy

/*
#include <stdlib.h>
#include <string.h>
#include "tokenomy.h"
#include "callbacks.h"
*/
import "C"

import (
	"errors"
	"fmt"
	"runtime"
	"runtime/cgo"
	"unsafe"
)

// Store is a shared store written in Go (store.h): budgets, tool caches and
// meters on it are shared by every process using the same service.  The
// parts call it from many goroutines at once: it must be safe for that.
// Return ErrUnavailable (or an *Error with StatusUnavailable) when the
// service cannot be reached; another *Error returns its status; any other
// error (or a panic) fails the operation as StatusIO, its text in the
// part's error message.  Keys and values are bytes; ids may be "" (none).
type Store interface {
	Reserve(key []byte, id string, amounts, limits []int64, leaseMS, ttlSeconds int64) (ok bool, used []int64, err error)
	Commit(key []byte, id string, actual []int64, idTTLSeconds, ttlSeconds int64) (used []int64, duplicate bool, err error)
	Release(key []byte, id string) error
	Usage(key []byte, n int) (committed, reserved []int64, err error)
	Get(key []byte) (value []byte, found bool, err error)
	Set(key, value []byte, ttlMS int64) error
	Add(key []byte, id string, deltas []int64, idTTLSeconds int64) (totals []int64, duplicate bool, err error)
	Read(key []byte, n int) ([]int64, error)
}

// NativeStore is a store implemented in C, such as the Redis adapter
// (package github.com/tokenomy/tokenomy/bindings/go/redis): FillStore fills
// the tkn_store table at p and takes a reference on the C store, given back
// by release once the part using the table is freed (so closing the store
// first does not free it under the part).  A closed store returns an error
// wrapping ErrClosed.
type NativeStore interface {
	FillStore(p unsafe.Pointer) (release func(), err error)
}

// storeTable makes the C table of a Store or NativeStore.  The part using
// the table calls release once it is freed: it deletes the Go store's handle
// or gives back the native store's reference.
func storeTable(s interface{}) (C.tkn_store, func(), error) {
	defer pin()()
	var t C.tkn_store
	switch v := s.(type) {
	case NativeStore:
		release, err := v.FillStore(unsafe.Pointer(&t))
		if err != nil {
			return t, noop, err
		}
		return t, release, nil
	case Store:
		h := cgo.NewHandle(v)
		C.tkngo_store_table(&t, C.uintptr_t(h))
		return t, h.Delete, nil
	default:
		return t, noop, &Error{Code: StatusInvalid, Offset: -1,
			Message: fmt.Sprintf("not a store: %T", s)}
	}
}

func storeErr(err error, buf *C.char, n C.size_t) C.int {
	code := StatusIO
	var e *Error
	if errors.As(err, &e) && e.Code != 0 {
		code = e.Code
	}
	if buf != nil && n > 0 {
		msg := err.Error()
		if len(msg) >= int(n) {
			msg = msg[:int(n)-1]
		}
		dst := unsafe.Slice((*byte)(unsafe.Pointer(buf)), int(n))
		copy(dst, msg)
		dst[len(msg)] = 0
	}
	return C.int(code)
}

func storeOf(h C.uintptr_t) Store { return cgo.Handle(h).Value().(Store) }

func i64s(p *C.int64_t, n C.uint32_t) []int64 {
	if n == 0 || p == nil {
		return nil
	}
	return append([]int64(nil), unsafe.Slice((*int64)(unsafe.Pointer(p)), int(n))...)
}

func put64(dst *C.int64_t, n C.uint32_t, src []int64) {
	if dst == nil || n == 0 {
		return
	}
	d := unsafe.Slice((*int64)(unsafe.Pointer(dst)), int(n))
	for i := range d {
		if i < len(src) {
			d[i] = src[i]
		} else {
			d[i] = 0
		}
	}
}

func storeGuard(err *C.char, errlen C.size_t, f func() (C.int, error)) (rc C.int) {
	defer func() {
		if r := recover(); r != nil {
			rc = storeErr(recovered(r), err, errlen)
		}
	}()
	code, e := f()
	if e != nil {
		return storeErr(e, err, errlen)
	}
	return code
}

//export tkngoStoreReserve
func tkngoStoreReserve(h C.uintptr_t, key *C.char, kl C.size_t, id *C.char, n C.uint32_t,
	amounts, limits *C.int64_t, lease, ttl C.int64_t, used *C.int64_t, err *C.char, errlen C.size_t) C.int {
	return storeGuard(err, errlen, func() (C.int, error) {
		ok, u, e := storeOf(h).Reserve(C.GoBytes(unsafe.Pointer(key), C.int(kl)), cgostr(id),
			i64s(amounts, n), i64s(limits, n), int64(lease), int64(ttl))
		if e != nil {
			return 0, e
		}
		put64(used, n, u)
		if !ok {
			return C.TKN_ERR_BUDGET, nil
		}
		return 0, nil
	})
}

//export tkngoStoreCommit
func tkngoStoreCommit(h C.uintptr_t, key *C.char, kl C.size_t, id *C.char, n C.uint32_t,
	actual *C.int64_t, idTTL, ttl C.int64_t, used *C.int64_t, dup *C.int32_t, err *C.char, errlen C.size_t) C.int {
	return storeGuard(err, errlen, func() (C.int, error) {
		u, d, e := storeOf(h).Commit(C.GoBytes(unsafe.Pointer(key), C.int(kl)), cgostr(id),
			i64s(actual, n), int64(idTTL), int64(ttl))
		if e != nil {
			return 0, e
		}
		put64(used, n, u)
		if dup != nil {
			*dup = 0
			if d {
				*dup = 1
			}
		}
		return 0, nil
	})
}

//export tkngoStoreRelease
func tkngoStoreRelease(h C.uintptr_t, key *C.char, kl C.size_t, id *C.char, err *C.char, errlen C.size_t) C.int {
	return storeGuard(err, errlen, func() (C.int, error) {
		return 0, storeOf(h).Release(C.GoBytes(unsafe.Pointer(key), C.int(kl)), cgostr(id))
	})
}

//export tkngoStoreUsage
func tkngoStoreUsage(h C.uintptr_t, key *C.char, kl C.size_t, n C.uint32_t, committed, reserved *C.int64_t,
	err *C.char, errlen C.size_t) C.int {
	return storeGuard(err, errlen, func() (C.int, error) {
		c, r, e := storeOf(h).Usage(C.GoBytes(unsafe.Pointer(key), C.int(kl)), int(n))
		if e != nil {
			return 0, e
		}
		put64(committed, n, c)
		put64(reserved, n, r)
		return 0, nil
	})
}

//export tkngoStoreGet
func tkngoStoreGet(h C.uintptr_t, key *C.char, kl C.size_t, buf *C.char, capacity C.size_t, vl *C.size_t,
	err *C.char, errlen C.size_t) C.int {
	return storeGuard(err, errlen, func() (C.int, error) {
		v, found, e := storeOf(h).Get(C.GoBytes(unsafe.Pointer(key), C.int(kl)))
		if e != nil {
			return 0, e
		}
		if !found {
			return C.TKN_ERR_NOT_FOUND, nil
		}
		*vl = C.size_t(len(v))
		if C.size_t(len(v)) > capacity {
			return C.TKN_ERR_TOO_SMALL, nil
		}
		if len(v) > 0 {
			copy(unsafe.Slice((*byte)(unsafe.Pointer(buf)), len(v)), v)
		}
		return 0, nil
	})
}

//export tkngoStoreSet
func tkngoStoreSet(h C.uintptr_t, key *C.char, kl C.size_t, v *C.char, vl C.size_t, ttl C.int64_t,
	err *C.char, errlen C.size_t) C.int {
	return storeGuard(err, errlen, func() (C.int, error) {
		return 0, storeOf(h).Set(C.GoBytes(unsafe.Pointer(key), C.int(kl)),
			C.GoBytes(unsafe.Pointer(v), C.int(vl)), int64(ttl))
	})
}

//export tkngoStoreAdd
func tkngoStoreAdd(h C.uintptr_t, key *C.char, kl C.size_t, id *C.char, n C.uint32_t, deltas *C.int64_t,
	idTTL C.int64_t, totals *C.int64_t, dup *C.int32_t, err *C.char, errlen C.size_t) C.int {
	return storeGuard(err, errlen, func() (C.int, error) {
		t, d, e := storeOf(h).Add(C.GoBytes(unsafe.Pointer(key), C.int(kl)), cgostr(id),
			i64s(deltas, n), int64(idTTL))
		if e != nil {
			return 0, e
		}
		put64(totals, n, t)
		if dup != nil {
			*dup = 0
			if d {
				*dup = 1
			}
		}
		return 0, nil
	})
}

//export tkngoStoreRead
func tkngoStoreRead(h C.uintptr_t, key *C.char, kl C.size_t, n C.uint32_t, values *C.int64_t,
	err *C.char, errlen C.size_t) C.int {
	return storeGuard(err, errlen, func() (C.int, error) {
		v, e := storeOf(h).Read(C.GoBytes(unsafe.Pointer(key), C.int(kl)), int(n))
		if e != nil {
			return 0, e
		}
		put64(values, n, v)
		return 0, nil
	})
}

// SharedBudgetOptions: the budget's key in the store and its fallback.
type SharedBudgetOptions struct {
	Key            string
	Fallback       bool // reserve against a local allowance while the store is down
	FallbackTokens int64
	FallbackMoney  int64
	LeaseMS        int64 // 0: the default (600000)
	IDTTLSeconds   int64 // 0: the default (172800)
}

// NewSharedBudget makes a budget whose hard limits hold across every
// process using the same store (a Store or NativeStore) and key.
func NewSharedBudget(o BudgetOptions, shared SharedBudgetOptions, store interface{}, parent *Budget) (*Budget, error) {
	defer pin()()
	table, release, err := storeTable(store)
	if err != nil {
		return nil, err
	}
	var sh C.tkn_budget_shared_options
	C.tkn_budget_shared_options_init(&sh, C.TKN_BUDGET_SHARED_OPTIONS_VERSION)
	key := C.CString(shared.Key)
	defer C.free(unsafe.Pointer(key))
	sh.key, sh.key_len = key, C.size_t(len(shared.Key))
	if shared.Fallback {
		sh.fallback = 1
	}
	sh.fallback_tokens, sh.fallback_money = C.int64_t(shared.FallbackTokens), C.int64_t(shared.FallbackMoney)
	if shared.LeaseMS > 0 {
		sh.lease_ms = C.int64_t(shared.LeaseMS)
	}
	if shared.IDTTLSeconds > 0 {
		sh.id_ttl_seconds = C.int64_t(shared.IDTTLSeconds)
	}
	b, err := newBudget(o, parent, func(c *C.tkn_budget_options, out **C.tkn_budget, pp *C.tkn_budget) C.int {
		return C.tkn_budget_new_shared(out, c, &sh, &table, pp)
	})
	if err != nil {
		release()
		return nil, err
	}
	// C uses the store while the budget lives; the budget's C object lives
	// until its Go reference count (children and open reservations included)
	// reaches zero, then the store is given back
	b.ref.Keep(release)
	b.store = store
	return b, nil
}

// Pending is the number of fallback commits not yet replayed to the store.
func (b *Budget) Pending() uint64 {
	self, done := b.use()
	defer done()
	defer runtime.KeepAlive(b)
	return uint64(C.tkn_budget_shared_pending(self))
}

// Dropped is the number of fallback commits the store refused outright when
// replayed: dropped from the queue, still counted against the local allowance.
func (b *Budget) Dropped() uint64 {
	self, done := b.use()
	defer done()
	return uint64(C.tkn_budget_shared_dropped(self))
}

// Flush replays the fallback commits to the store.
func (b *Budget) Flush() error {
	defer pin()()
	self, done := b.use()
	defer done()
	if self == nil {
		return b.closedErr()
	}
	defer runtime.KeepAlive(b)
	return b.err(C.tkn_budget_shared_flush(self))
}

// SetStore shares the cache's entries through a store (nil detaches).
// Call before the cache is used from several goroutines.
func (tc *ToolCache) SetStore(store interface{}, prefix string) error {
	defer pin()()
	self, done := tc.use()
	defer done()
	if self == nil {
		return tc.closedErr()
	}
	defer runtime.KeepAlive(tc)
	if store == nil {
		return tc.err(C.tkn_toolcache_set_store(self, nil, nil, 0))
	}
	table, release, err := storeTable(store)
	if err != nil {
		return err
	}
	p, n := cstr(prefix)
	rc := C.tkn_toolcache_set_store(self, &table, p, n)
	runtime.KeepAlive(prefix)
	if rc != 0 {
		release()
		return tc.err(rc)
	}
	tc.ref.Keep(release) // C may use the table until the cache is freed
	tc.store = store
	return nil
}

// SetStore adds every record to fleet-wide totals in a store (nil detaches).
func (m *Meter) SetStore(store interface{}, prefix string) error {
	defer pin()()
	self, done := m.use()
	defer done()
	if self == nil {
		return m.closedErr()
	}
	defer runtime.KeepAlive(m)
	if store == nil {
		return m.err(C.tkn_meter_set_store(self, nil, nil, 0))
	}
	table, release, err := storeTable(store)
	if err != nil {
		return err
	}
	p, n := cstr(prefix)
	rc := C.tkn_meter_set_store(self, &table, p, n)
	runtime.KeepAlive(prefix)
	if rc != 0 {
		release()
		return m.err(rc)
	}
	m.ref.Keep(release) // C may use the table until the meter is freed
	m.store = store
	return nil
}

// Flush sends the records the store has not taken yet.
func (m *Meter) Flush() error {
	defer pin()()
	self, done := m.use()
	defer done()
	if self == nil {
		return m.closedErr()
	}
	defer runtime.KeepAlive(m)
	return m.err(C.tkn_meter_flush(self))
}

// SharedDropped is the number of store adds dropped: refused outright by the
// store, beyond the 65536 kept, or out of memory (each record makes 7).
func (m *Meter) SharedDropped() uint64 {
	self, done := m.use()
	defer done()
	return uint64(C.tkn_meter_shared_dropped(self))
}

// SharedStats are the fleet-wide statistics from the store.
func (m *Meter) SharedStats(dim Dimension, key string) (Stats, error) {
	defer pin()()
	self, done := m.use()
	defer done()
	if self == nil {
		return Stats{}, m.closedErr()
	}
	var s C.tkn_meter_stats
	C.tkn_meter_stats_init(&s, C.TKN_METER_STATS_VERSION)
	p, n := cstr(key)
	rc := C.tkn_meter_shared_stats(self, C.int(dim), p, n, &s)
	runtime.KeepAlive(key)
	defer runtime.KeepAlive(m)
	if rc != 0 {
		return Stats{}, m.err(rc)
	}
	return statsFrom(&s), nil
}
