package tokenomy

import (
	"errors"
	"go/ast"
	"go/parser"
	"go/token"
	"reflect"
	"sort"
	"strings"
	"testing"
)

// closers makes one live value of every handle type of the binding (the
// keys are the Go type names), each with the values it was made from.
func closers(t *testing.T) map[string]func() interface{ Close() } {
	tok := func() *Tokenizer { return ok(NewEstimator()) }
	router := func() *Router { return ok(NewRouter(misuseRouterJSON, nil)) }
	return map[string]func() interface{ Close() }{
		"Conv":      func() interface{ Close() } { return ok(ParseConv(`[{"role":"user","content":"hi"}]`, FormatAuto)) },
		"Tokenizer": func() interface{ Close() } { return tok() },
		"Budget":    func() interface{ Close() } { return ok(NewBudget(BudgetOptions{HardTokens: 100}, nil)) },
		"Pruner":    func() interface{ Close() } { return ok(NewPruner(tok())) },
		"Prices":    func() interface{ Close() } { return ok(DefaultPrices()) },
		"Meter":     func() interface{ Close() } { return ok(NewMeter(nil, MeterOptions{})) },
		"Task": func() interface{ Close() } {
			return ok(NewTask(map[string]interface{}{"kind": "chat"}))
		},
		"Router":        func() interface{ Close() } { return router() },
		"RouterBuilder": func() interface{ Close() } { return ok(NewRouterBuilder()) },
		"Cascade":       func() interface{ Close() } { return ok(router().NewCascade(0, nil)) },
		"Schema":        func() interface{ Close() } { return ok(CompileSchema(`{"type":"object"}`)) },
		"PromptBuilder": func() interface{ Close() } { return ok(NewPromptBuilder(false)) },
		"Prompt": func() interface{ Close() } {
			b := ok(NewPromptBuilder(false))
			ok(b.AddText(TextPart{Kind: SegStatic, Stability: StableStatic, Name: "s", Text: "x"}))
			return ok(b.Assemble(tok()))
		},
		"CachePlan": func() interface{ Close() } {
			return ok(NewCachePlan(CachePlanOptions{Provider: ProviderAnthropic,
				Model: "claude-sonnet-4-5", PriceInput: 3000000, MinCacheTokens: 100}))
		},
		"ToolCache": func() interface{ Close() } { return ok(NewToolCache(ToolCacheOptions{})) },
		"BatchWriter": func() interface{ Close() } {
			return ok(NewBatchWriter(BatchWriterOptions{Provider: ProviderOpenAI,
				Write: func([]byte) error { return nil }}))
		},
		"BatchReader": func() interface{ Close() } {
			return ok(NewBatchReader(ProviderOpenAI, nil, func(BatchResult) error { return nil }))
		},
		"LLMResponse": func() interface{ Close() } { return ok(NewLLMResponse()) },
		"ToolCatalogue": func() interface{ Close() } {
			return ok(NewToolCatalogue(ToolCatalogueOptions{}))
		},
		"Agent": func() interface{ Close() } {
			return ok(NewAgent(AgentOptions{Model: "m",
				Complete: func(*LLMRequest, *LLMResponse) error { return nil }}))
		},
	}
}

// handleTypes are the Go types handles_gen.go generates the handle layer for.
func handleTypes(t *testing.T, file string) []string {
	f, err := parser.ParseFile(token.NewFileSet(), file, nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, d := range f.Decls {
		fd, isFunc := d.(*ast.FuncDecl)
		if !isFunc || fd.Name.Name != "closedErr" || fd.Recv == nil {
			continue
		}
		names = append(names, fd.Recv.List[0].Type.(*ast.StarExpr).X.(*ast.Ident).Name)
	}
	sort.Strings(names)
	return names
}

// notZero are the methods without an error result whose "nothing" on a
// closed value is not the Go zero value, and what it is instead.
var notZero = map[string]string{
	"LLMResponse.Error": "FailNone (-1) and \"\": no error class",
}

// callAll calls every exported method of v (a pointer to a handle type) with
// zero arguments and checks what comes back from a closed or nil value: an
// error that errors.Is ErrClosed, worded "tokenomy: T is closed" (or "is
// nil"), where the method returns an error; zero values where it does not.
// It returns the number of methods called.
func callAll(t *testing.T, typ string, v reflect.Value, want string) int {
	n := 0
	for i := 0; i < v.NumMethod(); i++ {
		m := v.Type().Method(i)
		if m.Name == "Close" || m.Name == "Closed" {
			continue
		}
		mt := v.Method(i).Type()
		args := make([]reflect.Value, mt.NumIn())
		for j := range args {
			args[j] = reflect.Zero(mt.In(j))
		}
		var out []reflect.Value
		func() {
			defer func() {
				if r := recover(); r != nil {
					t.Errorf("%s.%s on a %s value panicked: %v", typ, m.Name, want, r)
				}
			}()
			if mt.IsVariadic() {
				out = v.Method(i).CallSlice(args)
			} else {
				out = v.Method(i).Call(args)
			}
		}()
		if out == nil {
			continue
		}
		n++
		last := mt.NumOut() - 1
		hasErr := last >= 0 && mt.Out(last) == reflect.TypeOf((*error)(nil)).Elem()
		if hasErr {
			err, _ := out[last].Interface().(error)
			text := "tokenomy: " + typ + " is " + want
			if !errors.Is(err, ErrClosed) || !errors.Is(err, ErrInvalid) || err.Error() != text {
				t.Errorf("%s.%s on a %s value: %v, want %q (errors.Is ErrClosed)",
					typ, m.Name, want, err, text)
			}
			out = out[:last]
		}
		if _, skip := notZero[typ+"."+m.Name]; skip {
			continue
		}
		for k, o := range out {
			if !o.IsZero() {
				t.Errorf("%s.%s on a %s value: result %d is %v, want its zero value",
					typ, m.Name, want, k, o.Interface())
			}
		}
	}
	return n
}

// Every method of every handle type, on a closed value and on a nil pointer,
// fails with the one closed-handle error (or returns zero values); the table
// covers exactly the types handles_gen.go wraps.
func TestClosedErrorEveryType(t *testing.T) {
	makers := closers(t)
	var table []string
	for name := range makers {
		table = append(table, name)
	}
	sort.Strings(table)
	if gen := handleTypes(t, "handles_gen.go"); strings.Join(gen, ",") != strings.Join(table, ",") {
		t.Fatalf("the table covers %v, handles_gen.go wraps %v", table, gen)
	}
	for _, name := range table {
		t.Run(name, func(t *testing.T) {
			x := makers[name]()
			v := reflect.ValueOf(x)
			if got := v.Elem().Type().Name(); got != name {
				t.Fatalf("the maker of %s made a %s", name, got)
			}
			x.Close()
			x.Close()
			if n := callAll(t, name, v, "closed"); n == 0 {
				t.Fatalf("%s has no method to call", name)
			}
			callAll(t, name, reflect.Zero(v.Type()), "nil")
			closed := v.MethodByName("Closed").Call(nil)[0].Bool()
			if !closed {
				t.Errorf("%s.Closed() is false after Close", name)
			}
		})
	}
}

// A closed value given as an argument (not as the receiver) is refused with
// the same error, naming the argument's type.
func TestClosedArgument(t *testing.T) {
	tok := ok(NewEstimator())
	defer tok.Close()
	conv := ok(ParseConv(`[{"role":"user","content":"hi"}]`, FormatAuto))
	conv.Close()
	if _, err := tok.CountConv(conv, nil); !errors.Is(err, ErrClosed) ||
		err.Error() != "tokenomy: Conv is closed" {
		t.Fatalf("CountConv of a closed Conv: %v", err)
	}
	r := ok(NewRouter(misuseRouterJSON, nil))
	defer r.Close()
	task := ok(NewTask(map[string]interface{}{"kind": "chat"}))
	task.Close()
	if _, err := r.Decide(task); !errors.Is(err, ErrClosed) ||
		err.Error() != "tokenomy: Task is closed" {
		t.Fatalf("Decide on a closed Task: %v", err)
	}
	b := ok(NewBudget(BudgetOptions{}, nil))
	b.Close()
	if _, err := NewBudget(BudgetOptions{}, b); !errors.Is(err, ErrClosed) ||
		err.Error() != "tokenomy: Budget is closed" {
		t.Fatalf("a child of a closed Budget: %v", err)
	}
}
