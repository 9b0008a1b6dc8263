package redis

import (
	"errors"
	"go/ast"
	"go/parser"
	"go/token"
	"reflect"
	"sync"
	"testing"

	tokenomy "github.com/tokenomy/tokenomy/bindings/go"
)

// unreachable is a store on a port nothing listens on: New does not
// connect, and each call fails fast with ErrUnavailable.
func unreachable(t *testing.T) *Store {
	s, err := New(Options{Port: 1, ConnectTimeoutMS: 50, Retries: -1})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// The handle types handles_gen.go wraps here are exactly the ones tested.
func TestClosedErrorEveryType(t *testing.T) {
	f, err := parser.ParseFile(token.NewFileSet(), "handles_gen.go", nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	var gen []string
	for _, d := range f.Decls {
		if fd, isFunc := d.(*ast.FuncDecl); isFunc && fd.Name.Name == "closedErr" {
			gen = append(gen, fd.Recv.List[0].Type.(*ast.StarExpr).X.(*ast.Ident).Name)
		}
	}
	if len(gen) != 1 || gen[0] != "Store" {
		t.Fatalf("handles_gen.go wraps %v; this test covers [Store]", gen)
	}
	s := unreachable(t)
	s.Close()
	s.Close()
	for _, c := range []struct {
		v    *Store
		want string
	}{{s, "tokenomy: redis.Store is closed"}, {nil, "tokenomy: redis.Store is nil"}} {
		v := reflect.ValueOf(c.v)
		for i := 0; i < v.NumMethod(); i++ {
			m := v.Type().Method(i)
			mt := v.Method(i).Type()
			if m.Name == "Close" || m.Name == "Closed" {
				continue
			}
			args := make([]reflect.Value, mt.NumIn())
			for j := range args {
				args[j] = reflect.Zero(mt.In(j))
			}
			out := v.Method(i).Call(args)
			last := len(out) - 1
			if mt.Out(last) == reflect.TypeOf((*error)(nil)).Elem() {
				err, _ := out[last].Interface().(error)
				if !errors.Is(err, tokenomy.ErrClosed) || err.Error() != c.want {
					t.Errorf("Store.%s: %v, want %q", m.Name, err, c.want)
				}
				out = out[:last]
			}
			for k, o := range out {
				if o.Kind() == reflect.Func {
					continue // FillStore's release: a no-op
				}
				if !o.IsZero() {
					t.Errorf("Store.%s: result %d is %v, want its zero value", m.Name, k, o)
				}
			}
		}
	}
	if !s.Closed() {
		t.Fatal("Closed() is false after Close")
	}
	// a closed store handed to a part
	if _, err := tokenomy.NewSharedBudget(tokenomy.BudgetOptions{HardTokens: 10},
		tokenomy.SharedBudgetOptions{Key: "k"}, s, nil); !errors.Is(err, tokenomy.ErrClosed) {
		t.Fatalf("NewSharedBudget on a closed store: %v", err)
	}
	m, err := tokenomy.NewMeter(nil, tokenomy.MeterOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	if err := m.SetStore(s, "p:"); !errors.Is(err, tokenomy.ErrClosed) {
		t.Fatalf("Meter.SetStore of a closed store: %v", err)
	}
	tc, err := tokenomy.NewToolCache(tokenomy.ToolCacheOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer tc.Close()
	if err := tc.SetStore(s, "p:"); !errors.Is(err, tokenomy.ErrClosed) {
		t.Fatalf("ToolCache.SetStore of a closed store: %v", err)
	}
}

// Close while other goroutines are inside calls on the store and on a
// budget, a meter and a tool cache made on it: the store is freed only once
// the last call has left and the last part is gone (run under -race and
// cgocheck2 by run-tests.sh; ASan/valgrind see the C side).  Without a
// server every store call fails fast (ErrUnavailable), so this needs none.
func TestCloseDuringCalls(t *testing.T) {
	for round := 0; round < 10; round++ {
		s := unreachable(t)
		b, err := tokenomy.NewSharedBudget(tokenomy.BudgetOptions{HardTokens: 1000},
			tokenomy.SharedBudgetOptions{Key: "k", Fallback: true, FallbackTokens: 1 << 20}, s, nil)
		if err != nil {
			t.Fatal(err)
		}
		var wg sync.WaitGroup
		start := make(chan struct{})
		for g := 0; g < 4; g++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-start
				for i := 0; i < 5; i++ {
					if err := s.Ping(); err != nil && !errors.Is(err, tokenomy.ErrClosed) &&
						!errors.Is(err, tokenomy.ErrUnavailable) {
						t.Errorf("Ping: %v", err)
						return
					}
					_ = s.Reconnects()
					// the budget goes on after its store was closed
					if err := b.Charge(tokenomy.Amount{InputTokens: 1}); err != nil &&
						!errors.Is(err, tokenomy.ErrUnavailable) && !errors.Is(err, tokenomy.ErrClosed) {
						t.Errorf("Charge: %v", err)
						return
					}
				}
			}()
		}
		close(start)
		s.Close()
		wg.Wait()
		if !s.Closed() {
			t.Fatal("store not closed")
		}
		// the budget still reaches the store (its reference keeps it)
		if err := b.Charge(tokenomy.Amount{InputTokens: 1}); err != nil &&
			!errors.Is(err, tokenomy.ErrUnavailable) {
			t.Fatalf("Charge after the store was closed: %v", err)
		}
		b.Close()
	}
}

// Options C holds as uint32 are refused out of range instead of wrapping
// (DB 2^32+1 was database 1), and a path with a NUL is refused instead of
// being cut at it.
func TestOptionsRangesAndNUL(t *testing.T) {
	for _, o := range []Options{
		{DB: 1<<32 + 1}, {Port: 1<<32 + 6379}, {PoolSize: -1}, {PoolSize: 1 << 40},
		{Retries: -2}, {Retries: 1 << 33}, {DB: -1},
		{TLS: true, TLSCAFile: "ca.pem\x00ignored"}, {TLSServerName: "a\x00b"},
	} {
		s, err := New(o)
		if !errors.Is(err, tokenomy.ErrInvalid) || s != nil {
			t.Errorf("New(%+v): %v, want ErrInvalid", o, err)
			s.Close()
		}
	}
	s, err := New(Options{Retries: -1, DB: 15, PoolSize: 2, Port: 1})
	if err != nil {
		t.Fatalf("in-range options refused: %v", err)
	}
	s.Close()
}
