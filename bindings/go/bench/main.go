// Command bench is the Go side of the bindings benchmark
// (bindings/bench/run.py): the operations bench_c times, through the
// Go binding, printed as "name ns_per_op".
//
//	go run ./bench SHORT_TEXT_FILE CONVERSATION_JSON_FILE
package main

import (
	"fmt"
	"os"
	"time"

	tokenomy "example.invalid/tokenomy"
)

func bench(op func() error) float64 {
	iters := 1
	for {
		t0 := time.Now()
		for i := 0; i < iters; i++ {
			if err := op(); err != nil {
				fmt.Fprintln(os.Stderr, "bench:", err)
				os.Exit(1)
			}
		}
		if time.Since(t0) > 100*time.Millisecond {
			break
		}
		iters *= 2
	}
	best := 1e30
	for r := 0; r < 5; r++ {
		t0 := time.Now()
		for i := 0; i < iters; i++ {
			_ = op()
		}
		ns := float64(time.Since(t0).Nanoseconds()) / float64(iters)
		if ns < best {
			best = ns
		}
	}
	return best
}

func main() {
	if len(os.Args) != 3 {
		fmt.Fprintln(os.Stderr, "usage: bench SHORT_TEXT_FILE CONVERSATION_JSON_FILE")
		os.Exit(2)
	}
	text, err1 := os.ReadFile(os.Args[1])
	js, err2 := os.ReadFile(os.Args[2])
	if err1 != nil || err2 != nil {
		fmt.Fprintln(os.Stderr, "bench: cannot read the inputs")
		os.Exit(1)
	}
	short, conversation := string(text), string(js)
	tok, err := tokenomy.NewEstimator()
	if err != nil {
		panic(err)
	}
	conv, err := tokenomy.NewConv()
	if err != nil {
		panic(err)
	}
	fmt.Printf("count_short %.1f\n", bench(func() error { _, err := tok.Count(short); return err }))
	fmt.Printf("load_count_conv %.1f\n", bench(func() error {
		if err := conv.Load(conversation, tokenomy.FormatAuto); err != nil {
			return err
		}
		_, err := tok.CountConv(conv, nil)
		return err
	}))
	fmt.Printf("count_conv_cached %.1f\n", bench(func() error { _, err := tok.CountConv(conv, nil); return err }))
}
