package redis

import (
	"errors"
	"fmt"
	"os"
	"strconv"
	"testing"

	tokenomy "github.com/tokenomy/tokenomy/bindings/go"
)

func store(t *testing.T) *Store {
	port, err := strconv.Atoi(os.Getenv("TKN_REDIS_PORT"))
	if err != nil {
		t.Skip("no Redis server (run under tests/redis/redis_fixture.py)")
	}
	s, err := New(Options{Port: port, Prefix: fmt.Sprintf("gotest:%d:", os.Getpid())})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Ping(); err != nil {
		t.Fatal(err)
	}
	return s
}

func TestBudgetsShareALimitThroughRedis(t *testing.T) {
	s := store(t)
	defer s.Close()
	o := tokenomy.DefaultBudgetOptions()
	o.HardTokens = 100
	a, err := tokenomy.NewSharedBudget(o, tokenomy.SharedBudgetOptions{Key: "t"}, s, nil)
	if err != nil {
		t.Fatal(err)
	}
	b, err := tokenomy.NewSharedBudget(o, tokenomy.SharedBudgetOptions{Key: "t"}, s, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := a.Charge(tokenomy.Amount{InputTokens: 70}); err != nil {
		t.Fatal(err)
	}
	if _, err := b.Reserve(tokenomy.Amount{InputTokens: 40}); !errors.Is(err, tokenomy.ErrBudget) {
		t.Fatalf("want ErrBudget, got %v", err)
	}
	st, err := b.Status()
	if err != nil || st.TokensCommitted != 70 {
		t.Fatalf("status %+v %v", st, err)
	}
	// closing the store first only drops its owner's reference: the budgets
	// made on it go on sharing the limit through it
	s.Close()
	if err := s.Ping(); !errors.Is(err, tokenomy.ErrClosed) {
		t.Fatalf("Ping on the closed store: %v", err)
	}
	if err := b.Charge(tokenomy.Amount{InputTokens: 20}); err != nil {
		t.Fatalf("Charge after the store was closed: %v", err)
	}
	if st, err := a.Status(); err != nil || st.TokensCommitted != 90 {
		t.Fatalf("status after the store was closed %+v %v", st, err)
	}
	a.Close()
	b.Close()
}

func TestUnreachableRedisIsUnavailable(t *testing.T) {
	s, err := New(Options{Port: 1, ConnectTimeoutMS: 100, Retries: -1})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if err := s.Ping(); !errors.Is(err, tokenomy.ErrUnavailable) {
		t.Fatalf("want ErrUnavailable, got %v", err)
	}
}
