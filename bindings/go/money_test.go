package tokenomy

import "testing"

// Issue 15: a "$2" budget went hard after one $0.003 call (limits read as
// micro-dollars, costs committed as picodollars).  One unit now: picodollars.
func TestBudgetInDollarsIsTheUnitTheAgentCommits(t *testing.T) {
	o := DefaultBudgetOptions()
	o.HardMoney = MustUSD("2")
	b := ok(NewBudget(o, nil))
	defer b.Close()
	a := ok(NewAgent(AgentOptions{Model: "gpt-4o", Budget: b,
		Complete: func(req *LLMRequest, resp *LLMResponse) error {
			// 800 input tokens at $2.50/M + 100 output at $10/M = $0.003
			if err := resp.SetContent("It ships today."); err != nil {
				return err
			}
			return resp.SetUsageJSON(UsageOpenAIChat, `{"prompt_tokens":800,"completion_tokens":100}`)
		}}))
	defer a.Close()
	for i := 0; i < 3; i++ {
		c := userConv(t)
		r := ok(a.Turn(c, nil))
		c.Close()
		if r.FinishReason != "stop" {
			t.Fatalf("turn %d: %s", i, r.FinishReason)
		}
	}
	st := ok(b.Status())
	if st.Level != "ok" || st.MoneyCommittedUSD() != "0.009000000000" ||
		st.MoneyRemainingUSD() != "1.991000000000" {
		t.Fatalf("state %+v", st)
	}
}

func TestUSDIsExactAndChecked(t *testing.T) {
	if MustUSD("$2") != 2*UnitsPerUSD || MustUSD("0.003") != 3000000000 {
		t.Fatal("MustUSD")
	}
	for _, bad := range []string{"0.0000000000001", "9223373", "2 USD", ""} {
		if _, err := ParseUSD(bad); err == nil {
			t.Fatalf("%q accepted", bad)
		}
	}
	defer func() {
		if recover() == nil {
			t.Fatal("MustUSD did not panic on bad text")
		}
	}()
	MustUSD("two dollars")
}
