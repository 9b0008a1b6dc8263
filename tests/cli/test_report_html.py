#!/usr/bin/env python3
"""`tokenomy report --html` in a real browser (Debian's headless chromium).

usage: test_report_html.py PATH/TO/tokenomy

The simulator writes the optimised and the baseline runs' meter exports; a
model and a workflow with very long names are added to the optimised one (the
longest labels are what a fixed-width page clips).  The page is rendered with
--baseline and checked twice:
  - content, from the exports themselves: each workflow's p50/p95/p99 of
    tokens and cost per call and its suggested budgets, and the baseline and
    optimised totals side by side;
  - layout, in chromium at a phone width (360 px) and a desktop width (1280 px):
    a script appended to the page measures it after layout and writes what it
    found into the DOM, which `chromium --headless --dump-dom` prints.  No
    element may stick out of the viewport (tables may scroll inside their own
    box), no label may be clipped, every bar's value must be visible.
A page with a fixed 640 px chart goes through the same script first and must be
caught, so the check can fail.  Skips (77) when chromium is not installed
(.ci/setup test installs it).
"""
import html
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile

TOOL = sys.argv[1]
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
if not CHROMIUM:
    print("SKIP: chromium is not installed (.ci/setup test installs it)")
    sys.exit(77)

failures = []
checks = 0


def check(name, cond, detail=""):
    global checks
    checks += 1
    if cond:
        print(f"ok   {name}")
    else:
        failures.append(name)
        print(f"FAIL {name} {detail}")


tmp = tempfile.mkdtemp(prefix="tokenomy-report-")
opt_path, base_path = os.path.join(tmp, "opt.json"), os.path.join(tmp, "base.json")
p = subprocess.run([TOOL, "simulate", "--seeds", "1", "--export-meter", opt_path,
                    "--export-baseline-meter", base_path], capture_output=True, text=True)
check("simulate writes both exports", p.returncode == 0 and os.path.getsize(base_path) > 0,
      p.stderr)
opt = json.load(open(opt_path))
base = json.load(open(base_path))

LONG_MODEL = "a-fine-tuned-model-" + "with-a-very-long-deployment-name-" * 4 + "v2"
LONG_WORKFLOW = "refund-triage-for-enterprise-customers-in-the-european-union-" * 2 + "x"
first_model = next(iter(opt["by_model"].values()))
opt["by_model"][LONG_MODEL] = dict(first_model)
opt["by_task_type"][LONG_MODEL] = dict(first_model)
opt["by_workflow"][LONG_WORKFLOW] = dict(next(iter(opt["by_workflow"].values())))
json.dump(opt, open(opt_path, "w"))

p = subprocess.run([TOOL, "report", "--html", "--baseline", base_path, opt_path],
                   capture_output=True, text=True)
page = p.stdout
check("report --html --baseline", p.returncode == 0 and page.startswith("<!DOCTYPE html>"),
      p.stderr)
check("no fixed pixel widths", not re.search(r'width[=:]"?\d+(px)?"?[ ;>"]', page),
      re.findall(r'width[=:]"?\d+(px)?', page)[:3])
check("a viewport for phones", 'name="viewport"' in page)


def thousands(v):
    return f"{int(v):,}"


def usd6(pico):
    pico = int(pico)
    return f"{pico // 10**12}.{(pico % 10**12) // 10**6:06d}"


# ---- content, computed from the exports ----
def row_cells(table_id, first):
    m = re.search(r'<table id="%s">(.*?)</table>' % table_id, page, re.S)
    if not m:
        return None
    for tr in re.findall(r"<tr[^>]*>(.*?)</tr>", m.group(1), re.S):
        cells = [html.unescape(c) for c in re.findall(r"<td>(.*?)</td>", tr, re.S)]
        if cells and cells[0] == first:
            return cells
    return None


for name, w in opt["by_workflow"].items():
    pc = w["percentiles"]
    want = [name, thousands(pc["count"])] + [thousands(pc["tokens"][q]) for q in
                                             ("p50", "p95", "p99")] + \
        [usd6(pc["cost"][q]) for q in ("p50", "p95", "p99")] + \
        [thousands(pc["suggested_budget"]["tokens"]), usd6(pc["suggested_budget"]["cost"])]
    got = row_cells("percentiles", name)
    check(f"percentiles and budgets of {name[:30]}", got == want, f"{got} != {want}")
cost = row_cells("compare", "cost (USD)")
check("baseline and optimised cost side by side",
      cost is not None and cost[1:3] == [usd6(base["total"]["cost"]), usd6(opt["total"]["cost"])],
      cost)
change = (opt["total"]["cost"] - base["total"]["cost"]) / base["total"]["cost"] * 100
check("the change in cost", cost is not None and cost[3] == f"{change:+.1f}%", cost)
calls = row_cells("compare", "calls")
check("calls side by side", calls is not None and calls[1:3] ==
      [thousands(base["total"]["calls"]), thousands(opt["total"]["calls"])], calls)
check("quality beside cost", row_cells("compare", "validation pass rate") is not None)
check("the longest labels are in the page", html.escape(LONG_MODEL) in page
      and html.escape(LONG_WORKFLOW) in page)

# ---- layout, in the browser ----
PROBE = r"""<script>
(function () {
  var W = document.documentElement.clientWidth, out = [];
  if (document.documentElement.scrollWidth > W) out.push('the page scrolls sideways');
  var all = document.querySelectorAll('body *');
  for (var i = 0; i < all.length; i++) {
    var el = all[i];
    if (el.tagName === 'SCRIPT' || (el.closest('.scroll') && el.tagName !== 'TD')) continue;
    var r = el.getBoundingClientRect();
    if (el.closest('.scroll') && el.cellIndex !== 0) continue;
    if (r.right > W + 0.5) out.push('sticks out: ' + el.tagName + ' ' +
                                    (el.textContent || '').slice(0, 30) + ' ' + r.right);
  }
  var labels = document.querySelectorAll('.lbl, td:first-child, th, figcaption, h1, h2');
  for (var k = 0; k < labels.length; k++) {
    var l = labels[k];
    if (l.scrollWidth > l.clientWidth + 1) out.push('clipped: ' + l.textContent.slice(0, 30));
  }
  var vals = document.querySelectorAll('.val');
  for (var v = 0; v < vals.length; v++) {
    var b = vals[v].getBoundingClientRect();
    if (b.width === 0 || b.right > W + 0.5) out.push('value hidden: ' + vals[v].textContent);
  }
  var pre = document.createElement('pre');
  pre.id = 'layout-check';
  pre.textContent = JSON.stringify({width: W, problems: out,
                                    labels: document.querySelectorAll('.lbl').length});
  document.body.appendChild(pre);
})();
</script>"""


def layout(text, width, name):
    path = os.path.join(tmp, f"{name}-{width}.html")
    with open(path, "w") as f:
        f.write(text.replace("</body>", PROBE + "</body>"))
    p = subprocess.run([CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu",
                        "--hide-scrollbars", f"--user-data-dir={tmp}/profile",
                        f"--window-size={width},900", "--dump-dom", "file://" + path],
                       capture_output=True, text=True, timeout=240)
    m = re.search(r'<pre id="layout-check">(.*?)</pre>', p.stdout, re.S)
    if not m:
        return None
    return json.loads(html.unescape(m.group(1)))


fixed = ("<!DOCTYPE html><html><head><meta name=\"viewport\" content=\"width=device-width\">"
         "</head><body><figure><figcaption>cost by model</figcaption><svg width=\"640\" "
         "height=\"40\"><text x=\"0\" y=\"15\">gpt-4o</text></svg></figure></body></html>")
r = layout(fixed, 360, "fixed")
check("the probe catches a fixed 640 px chart at 360 px", r is not None and r["problems"], r)
for width in (360, 1280):
    r = layout(page, width, "report")
    check(f"chromium laid the report out at {width} px", r is not None and r["width"] > 0, r)
    if r is not None:
        check(f"nothing sticks out or is clipped at {width} px", not r["problems"],
              r["problems"][:5])
        check(f"every bar label is there at {width} px", r["labels"] >= 8, r)

shutil.rmtree(tmp, ignore_errors=True)
print(f"{checks - len(failures)} passed, {len(failures)} failed")
sys.exit(1 if failures else 0)
