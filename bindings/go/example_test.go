package tokenomy_test

import (
	"errors"
	"fmt"

	tokenomy "github.com/tokenomy/tokenomy/bindings/go"
)

// The README's example.
func Example() {
	tok, err := tokenomy.NewEstimator()
	if err != nil {
		panic(err)
	}
	defer tok.Close()
	conv, err := tokenomy.ParseConv(`[{"role":"system","content":"Be brief."},
		{"role":"user","content":"Where is my order 1234?"}]`, tokenomy.FormatAuto)
	if err != nil {
		panic(err)
	}
	defer conv.Close()
	n, _ := tok.CountConv(conv, nil) // the whole conversation in one call
	fmt.Println("counted:", n > 0)   // the estimator's count; an exact encoding is exact

	o := tokenomy.DefaultBudgetOptions()
	o.HardTokens = 10
	budget, _ := tokenomy.NewBudget(o, nil)
	defer budget.Close()
	_, err = budget.Reserve(tokenomy.Amount{InputTokens: n})
	fmt.Println(errors.Is(err, tokenomy.ErrBudget))
	// Output:
	// counted: true
	// true
}
