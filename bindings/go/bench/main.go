// Command bench is the Go side of the bindings benchmark
// (bindings/bench/run.py): the operations bench_c times, through the
// Go binding, printed as "name ns_per_op".
//
//	go run ./bench SHORT_TEXT_FILE CONVERSATION_JSON_FILE TOKENIZER
package main

import (
	"fmt"
	"os"
	"syscall"
	"time"

	tokenomy "github.com/tokenomy/tokenomy/bindings/go"
)

// cpuNS is the process's CPU time (user + system, all threads, GC included):
// a busy machine's waits do not count, as in the C and Python runners.
func cpuNS() int64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		panic(err)
	}
	return ru.Utime.Nano() + ru.Stime.Nano()
}

func bench(op func() error) float64 {
	iters := 1
	for {
		t0 := cpuNS()
		for i := 0; i < iters; i++ {
			if err := op(); err != nil {
				fmt.Fprintln(os.Stderr, "bench:", err)
				os.Exit(1)
			}
		}
		if cpuNS()-t0 > int64(100*time.Millisecond) {
			break
		}
		iters *= 2
	}
	best := 1e30
	for r := 0; r < 5; r++ {
		t0 := cpuNS()
		for i := 0; i < iters; i++ {
			_ = op()
		}
		ns := float64(cpuNS()-t0) / float64(iters)
		if ns < best {
			best = ns
		}
	}
	return best
}

func main() {
	if len(os.Args) != 4 {
		fmt.Fprintln(os.Stderr, "usage: bench SHORT_TEXT_FILE CONVERSATION_JSON_FILE TOKENIZER")
		os.Exit(2)
	}
	text, err1 := os.ReadFile(os.Args[1])
	js, err2 := os.ReadFile(os.Args[2])
	if err1 != nil || err2 != nil {
		fmt.Fprintln(os.Stderr, "bench: cannot read the inputs")
		os.Exit(1)
	}
	short, conversation := string(text), string(js)
	var tok *tokenomy.Tokenizer
	var err error
	if os.Args[3] == "estimator" {
		tok, err = tokenomy.NewEstimator()
	} else {
		tok, err = tokenomy.NewEncoding(os.Args[3])
	}
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
