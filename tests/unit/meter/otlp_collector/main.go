// The meter's OTLP JSON through the OpenTelemetry Collector's own decoder:
// pmetricotlp.ExportRequest.UnmarshalJSON is what the collector's OTLP/HTTP
// receiver runs on an application/json POST to /v1/metrics.  The helper's
// output (calls as JSON lines, "----", Prometheus, "----", OTLP JSON, ...) is
// read from the program named first; the checks compare what the collector
// decoded with the calls the helper recorded.
//
// usage: go run . HELPER_EXE   (from a module that requires collector/pdata)
package main

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"strings"

	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/collector/pdata/pmetric/pmetricotlp"
)

type call struct {
	In      int64 `json:"input"`
	Out     int64 `json:"output"`
	Lat     int64 `json:"latency_us"`
	Success int   `json:"success"`
	Cost    int64 `json:"cost"`
}

func main() {
	out, err := exec.Command(os.Args[1]).Output()
	if err != nil {
		fmt.Println("FAIL the helper:", err)
		os.Exit(1)
	}
	parts := strings.Split(string(out), "\n----\n")
	var calls []call
	for _, l := range strings.Split(strings.TrimSpace(parts[0]), "\n") {
		var c call
		if json.Unmarshal([]byte(l), &c) != nil {
			fmt.Println("FAIL a call line:", l)
			os.Exit(1)
		}
		calls = append(calls, c)
	}
	passed, failed := 0, 0
	check := func(ok bool, what string) {
		if ok {
			passed++
		} else {
			failed++
			fmt.Println("FAIL", what)
		}
	}
	req := pmetricotlp.NewExportRequest()
	if err := req.UnmarshalJSON([]byte(parts[2])); err != nil {
		fmt.Println("FAIL the collector's OTLP/JSON decoder refuses the export:", err)
		fmt.Println("0 passed, 1 failed")
		os.Exit(1)
	}
	bare := pmetricotlp.NewExportRequest()
	check(bare.UnmarshalJSON([]byte(`{"metrics":[{"name":"x"}]}`)) != nil ||
		bare.Metrics().DataPointCount() == 0, "a bare metrics array carries nothing")
	md := req.Metrics()
	check(md.ResourceMetrics().Len() == 1, "one resource")
	sm := md.ResourceMetrics().At(0).ScopeMetrics()
	check(sm.Len() == 1 && sm.At(0).Scope().Name() == "tokenomy", "scope tokenomy")
	byName := map[string]pmetric.Metric{}
	if sm.Len() == 1 {
		ms := sm.At(0).Metrics()
		for i := 0; i < ms.Len(); i++ {
			byName[ms.At(i).Name()] = ms.At(i)
		}
	}
	n := int64(len(calls))
	var in, outTok, lat int64
	var succ int64
	var cost int64
	for _, c := range calls {
		in += c.In
		outTok += c.Out
		lat += c.Lat
		succ += int64(c.Success)
		cost += c.Cost
	}
	// the GenAI histograms
	m, ok := byName["gen_ai.client.token.usage"]
	check(ok && m.Type() == pmetric.MetricTypeHistogram, "gen_ai.client.token.usage is a histogram")
	if ok {
		var cnt uint64
		var sum float64
		dps := m.Histogram().DataPoints()
		for i := 0; i < dps.Len(); i++ {
			tt, _ := dps.At(i).Attributes().Get("gen_ai.token.type")
			if tt.Str() == "input" {
				cnt += dps.At(i).Count()
				sum += dps.At(i).Sum()
			}
			check(dps.At(i).StartTimestamp() > 0 && dps.At(i).Timestamp() >= dps.At(i).StartTimestamp(),
				"token usage: start and time stamps")
		}
		check(int64(cnt) == n, "token usage: input counts add up to the calls")
		check(int64(sum) == in, "token usage: input sums add up to the input tokens")
		check(m.Histogram().AggregationTemporality() == pmetric.AggregationTemporalityCumulative,
			"token usage is cumulative")
	}
	m, ok = byName["gen_ai.client.operation.duration"]
	check(ok && m.Type() == pmetric.MetricTypeHistogram,
		"gen_ai.client.operation.duration is a histogram")
	if ok {
		var cnt uint64
		var sum float64
		dps := m.Histogram().DataPoints()
		for i := 0; i < dps.Len(); i++ {
			cnt += dps.At(i).Count()
			sum += dps.At(i).Sum()
			check(dps.At(i).ExplicitBounds().Len() == 14 && dps.At(i).ExplicitBounds().At(0) == 0.01,
				"duration: the spec's bounds")
		}
		check(int64(cnt) == n, "duration: counts add up to the calls")
		check(sum-float64(lat)/1e6 < 1e-6 && float64(lat)/1e6-sum < 1e-6, "duration: seconds add up")
	}
	sumOf := func(name, attr, val string) (float64, bool) {
		m, ok := byName[name]
		if !ok || m.Type() != pmetric.MetricTypeSum || !m.Sum().IsMonotonic() {
			return 0, false
		}
		t := 0.0
		dps := m.Sum().DataPoints()
		for i := 0; i < dps.Len(); i++ {
			if attr != "" {
				v, _ := dps.At(i).Attributes().Get(attr)
				if v.Str() != val {
					continue
				}
			}
			if dps.At(i).ValueType() == pmetric.NumberDataPointValueTypeInt {
				t += float64(dps.At(i).IntValue())
			} else {
				t += dps.At(i).DoubleValue()
			}
		}
		return t, true
	}
	v, ok := sumOf("tokenomy.calls", "", "")
	check(ok && int64(v) == n, "tokenomy.calls adds up to the calls")
	v, ok = sumOf("tokenomy.calls", "tokenomy.outcome", "success")
	check(ok && int64(v) == succ, "tokenomy.calls: successes")
	v, ok = sumOf("tokenomy.tokens", "", "")
	check(ok && int64(v) == in+outTok, "tokenomy.tokens adds up to every token")
	v, ok = sumOf("tokenomy.cost", "", "")
	check(ok && v-float64(cost)/1e12 < 1e-9 && float64(cost)/1e12-v < 1e-9, "tokenomy.cost in USD")
	m, ok = byName["tokenomy.workflow.tokens_per_call"]
	check(ok && m.Type() == pmetric.MetricTypeSummary, "tokenomy.workflow.tokens_per_call is a summary")
	if ok {
		var cnt uint64
		for i := 0; i < m.Summary().DataPoints().Len(); i++ {
			dp := m.Summary().DataPoints().At(i)
			cnt += dp.Count()
			check(dp.QuantileValues().Len() == 3, "three quantiles")
		}
		check(int64(cnt) == n, "summary counts add up to the calls")
	}
	m, ok = byName["tokenomy.workflow.suggested_budget.tokens"]
	check(ok && m.Type() == pmetric.MetricTypeGauge && m.Gauge().DataPoints().Len() > 0,
		"suggested budgets are gauges")
	fmt.Printf("meter OTLP JSON export vs the OpenTelemetry Collector's decoder (pdata): %d calls, "+
		"%d data points\n", n, md.DataPointCount())
	fmt.Printf("%d passed, %d failed\n", passed, failed)
	if failed > 0 {
		os.Exit(1)
	}
}
