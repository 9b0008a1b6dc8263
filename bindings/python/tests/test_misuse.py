"""Ordinary mistakes raise a Python exception; none crashes the interpreter.

Each class of the binding is probed with the wrong type where a handle is
expected (TypeError), with its own handle closed (ValueError), with a part it
borrows closed under it (the borrower keeps working: the free is deferred),
with close() while another thread is inside C, with out-of-range integers
(OverflowError) and with text holding a NUL (kept whole, or ValueError where
C reads up to a NUL).  The `python-asan` test runs this file with the library
built with AddressSanitizer preloaded, so a use after free fails it even where
it would not crash.
"""
import gc
import threading
import unittest

import tokenomy
from tokenomy import (Agent, Budget, CachePlan, Cascade, Conversation, Meter, Prices, Pruner,
                      PromptBuilder, Router, RouterBuilder, Schema, Task, Tokenizer, ToolCache,
                      BatchReader, BatchWriter, LLMResponse, Usage)

from .util import CONV

ROUTER = {"tiers": [{"name": "small", "models": ["gpt-4o-mini"]}], "default_tier": "small"}
WRONG = [b"x", "x", 12345, 2 ** 70, 1.5, object(), [1, 2], {}]


def reply(req, resp):
    return {"content": "ok", "usage": {"prompt_tokens": 10, "completion_tokens": 2}}


def conv():
    return Conversation(CONV)


def makers():
    """One fresh open object of every handle class."""
    return {
        "Conversation": conv,
        "Tokenizer": Tokenizer.estimator,
        "Budget": lambda: Budget(hard_tokens=10 ** 6),
        "Pruner": lambda: Pruner(Tokenizer.estimator()),
        "Prices": Prices,
        "Meter": Meter,
        "Router": lambda: Router(ROUTER),
        "RouterBuilder": RouterBuilder,
        "Cascade": lambda: Cascade(Router(ROUTER)),
        "Schema": lambda: Schema({"type": "object"}),
        "Task": lambda: Task({"kind": "chat"}),
        "ToolCache": ToolCache,
        "PromptBuilder": PromptBuilder,
        "CachePlan": lambda: CachePlan(price_input=3),
        "BatchWriter": lambda: BatchWriter(write=lambda b: None),
        "BatchReader": BatchReader,
        "LLMResponse": LLMResponse,
        "Agent": lambda: Agent(reply, model="gpt-4o-mini"),
    }


class WrongTypes(unittest.TestCase):
    """Anything but the right handle where one is expected: TypeError."""

    def test_handle_arguments(self):
        tok, a = Tokenizer.estimator(), Agent(reply, model="gpt-4o-mini")
        p, r = Pruner(Tokenizer.estimator()), Router(ROUTER)
        calls = [
            lambda x: a.turn(x),
            lambda x: tok.count_conv(x),
            lambda x: tok.count_message(x, 0),
            lambda x: p.run(x, 10),
            lambda x: Pruner(x),
            lambda x: Budget(parent=x),
            lambda x: Budget().set_parent(x),
            lambda x: Meter(prices=x),
            lambda x: ToolCache(tokenizer=x),
            lambda x: BatchReader(prices=x),
            lambda x: Cascade(x),
            lambda x: PromptBuilder().set_history(x),
            lambda x: PromptBuilder().assemble(x),
            lambda x: Schema({"type": "object"}).output_cap(x),
            lambda x: a.turn(conv(), schema=x),
        ]
        for name in ("tokenizer", "router", "budget", "prices", "meter", "toolcache"):
            calls.append(lambda x, name=name: Agent(reply, **{name: x}))
        tries = 0
        for call in calls:
            for x in WRONG + [RouterBuilder(), CachePlan(price_input=3)]:
                with self.subTest(call=call, x=x):
                    with self.assertRaises((TypeError, ValueError)):
                        call(x)
                    tries += 1
        self.assertGreaterEqual(tries, 190)

    def test_the_wrong_handle_is_a_type_error(self):
        tok = Tokenizer.estimator()
        with self.assertRaises(TypeError) as cm:
            tok.count_conv(Meter())
        self.assertIn("Conversation", str(cm.exception))
        with self.assertRaises(TypeError):
            Budget(parent=Meter())
        with self.assertRaises(TypeError):
            Agent(reply, budget=Meter())
        with self.assertRaises(TypeError):
            tokenomy.lib.tkn_conv_count(12345)
        with self.assertRaises(TypeError):
            tokenomy.lib.tkn_conv_count(b"x")

    def test_no_constructor_takes_a_pointer(self):
        # each of these read or wrote the address 12345 (a segfault)
        for make in (lambda: Tokenizer(12345), lambda: tokenomy.Prompt(12345),
                     lambda: LLMResponse(12345), lambda: Tokenizer(Tokenizer.estimator().raw())):
            with self.subTest(make=make):
                with self.assertRaises(TypeError):
                    make()
        self.assertEqual(Tokenizer.estimator().count("hello"), 1)
        self.assertIn("open", repr(LLMResponse()))

    def test_a_callback_that_cannot_be_called(self):
        for kw in ({"complete": None}, {"complete": "gpt-4o"}, {"complete": reply, "sleep": 5},
                   {"complete": reply, "count_tokens": "o200k_base"}):
            with self.subTest(kw=kw):
                with self.assertRaises(TypeError):
                    Agent(model="gpt-4o-mini", **kw)

    def test_what_is_not_a_callback_or_mapping_is_refused_at_once(self):
        # these were accepted and failed later, inside the first call
        for make in (lambda: BatchWriter(12345), lambda: BatchWriter(write=None),
                     lambda: BatchWriter(lambda b: None, end_file="x"),
                     lambda: BatchReader(12345), lambda: Task(12345), lambda: Task("kind")):
            with self.subTest(make=make):
                with self.assertRaises(TypeError):
                    make()

    def test_prices_cost_takes_usage_as_usage_parse_does(self):
        # a dict was an AttributeError ('dict' object has no attribute '_c')
        p, u = Prices(), {"prompt_tokens": 1000, "completion_tokens": 100}
        self.assertEqual(p.cost("gpt-4o", u).total, p.cost("gpt-4o", Usage.parse(u)).total)
        for bad in (12345, None, object(), [1, 2]):
            with self.subTest(bad=bad):
                with self.assertRaises((TypeError, tokenomy.TokenomyError)):
                    p.cost("gpt-4o", bad)

    def test_raw_api_still_takes_pointers_it_owns(self):
        import ctypes
        c = conv()
        self.assertEqual(tokenomy.lib.tkn_conv_count(c), 5)
        self.assertEqual(tokenomy.lib.tkn_conv_count(ctypes.c_void_p(c.raw())), 5)


class Closed(unittest.TestCase):
    """A closed handle: ValueError, closing again does nothing."""

    def test_every_class(self):
        for name, make in makers().items():
            with self.subTest(cls=name):
                h = make()
                self.assertIn("open", repr(h))
                h.close()
                h.close()
                self.assertTrue(h.closed)
                self.assertIn("closed", repr(h))
                with self.assertRaises(ValueError):
                    h.raw()

    def test_methods_on_closed_handles(self):
        c, tok, b, m = conv(), Tokenizer.estimator(), Budget(hard_tokens=100), Meter()
        r, s = Router(ROUTER), Schema({"type": "object"})
        for h in (c, tok, b, m, r, s):
            h.close()
        for call in (lambda: len(c), lambda: c.text(0), lambda: c.append("user", "x"),
                     lambda: tok.count("x"), lambda: Tokenizer.estimator().count_conv(c),
                     lambda: b.charge(1), lambda: b.status(), lambda: b.reserve(1),
                     lambda: m.record(Usage(input_tokens=1), model="gpt-4o"),
                     lambda: r.decide({"a": 1}), lambda: s.validate("{}"),
                     lambda: Agent(reply, tokenizer=tok), lambda: Pruner(tok),
                     lambda: Budget(parent=b)):
            with self.subTest(call=call):
                with self.assertRaises(ValueError) as cm:
                    call()
                self.assertIn("closed", str(cm.exception))

    def test_with_closes(self):
        with Budget(hard_tokens=5) as b:
            b.charge(1)
        with self.assertRaises(ValueError):
            b.charge(1)


class Borrowed(unittest.TestCase):
    """Closing a part still borrowed defers its free until the borrower is
    closed: the borrower keeps working, the part raises ValueError."""

    def test_agent_parts(self):
        for part in ("budget", "meter", "tokenizer", "router", "prices", "toolcache"):
            with self.subTest(part=part):
                parts = {"budget": Budget(hard_tokens=10 ** 6), "meter": Meter(),
                         "tokenizer": Tokenizer.estimator(), "router": Router(ROUTER),
                         "prices": Prices(), "toolcache": ToolCache()}
                a = Agent(reply, model="gpt-4o-mini", **parts)
                parts[part].close()
                self.assertTrue(parts[part].closed)
                gc.collect()
                c = Conversation('[{"role":"user","content":"hi"}]')
                for _ in range(3):
                    res = a.turn(c)
                    self.assertEqual(res.content, "ok")
                with self.assertRaises(ValueError):
                    parts[part].raw()
                a.close()
                for p in parts.values():
                    p.close()

    def test_all_parts_closed_then_dropped(self):
        b, m, t = Budget(hard_tokens=10 ** 6), Meter(Prices()), Tokenizer.estimator()
        a = Agent(reply, model="gpt-4o-mini", budget=b, meter=m, tokenizer=t, prices=Prices(),
                  router=Router(ROUTER), toolcache=ToolCache(tokenizer=t))
        for h in (b, m, t):
            h.close()
        del b, m, t
        gc.collect()
        res = a.turn(Conversation('[{"role":"user","content":"hi"}]'))
        self.assertEqual(res.finish_reason, "stop")
        del a
        gc.collect()

    def test_pruner_tokenizer(self):
        t = Tokenizer.estimator()
        p = Pruner(t)
        t.close()
        c = conv()
        rep = p.run(c, 30)
        self.assertLessEqual(rep.tokens_after, 30)
        p.close()

    def test_budget_parent_and_reservation(self):
        parent = Budget(hard_tokens=100)
        child = Budget(parent=parent, hard_tokens=50)
        r = child.reserve(10)
        parent.close()
        child.close()
        r.commit(5)  # the reservation still holds its budget
        with self.assertRaises(ValueError):
            r.commit(5)
        with self.assertRaises(ValueError):
            child.status()

    def test_meter_prices_cascade_router_cache_tokenizer(self):
        p = Prices()
        m = Meter(prices=p)
        p.close()
        m.record(Usage(input_tokens=1000, output_tokens=10), model="gpt-4o")
        self.assertGreater(m.stats().cost, 0)
        r = Router(ROUTER)
        c = Cascade(r)
        r.close()
        self.assertEqual(c.next(), (0, "gpt-4o-mini"))
        t = Tokenizer.estimator()
        tc = ToolCache(tokenizer=t)
        t.close()
        tc.close()
        br_p = Prices()
        br = BatchReader(prices=br_p)
        br_p.close()
        br.close()

    def test_prompt_builder_history(self):
        c = conv()
        b = PromptBuilder()
        b.add_text("static", "be terse")
        b.set_history(c)
        c.close()
        p = b.assemble(Tokenizer.estimator())
        self.assertGreater(p.tokens, 0)


class Threads(unittest.TestCase):
    """close() while other threads are inside C: the free waits for them."""

    def test_close_during_counts(self):
        text = "lorem ipsum dolor sit amet " * 300
        for _ in range(5):
            tok = Tokenizer.estimator()
            c = conv()
            errors, ok = [], [0]
            start = threading.Barrier(5)

            def work():
                start.wait()
                try:
                    while True:
                        tok.count(text)
                        tok.count_conv(c)
                        ok[0] += 1
                except ValueError:
                    pass  # closed: the expected end
                except BaseException as e:
                    errors.append(e)
            ts = [threading.Thread(target=work) for _ in range(4)]
            for t in ts:
                t.start()
            start.wait()
            while ok[0] < 3:
                pass
            tok.close()
            c.close()
            for t in ts:
                t.join()
            self.assertEqual(errors, [])

    def test_close_budget_under_agents_turning(self):
        b = Budget(hard_tokens=10 ** 9)
        agents = [Agent(reply, model="gpt-4o-mini", budget=b) for _ in range(3)]
        stop, errors = threading.Event(), []

        def work(a):
            try:
                c = Conversation('[{"role":"user","content":"hi"}]')
                while not stop.is_set():
                    a.turn(c)
            except BaseException as e:
                errors.append(e)
        ts = [threading.Thread(target=work, args=(a,)) for a in agents]
        for t in ts:
            t.start()
        b.close()
        stop.set()
        for t in ts:
            t.join()
        self.assertEqual(errors, [])


class Integers(unittest.TestCase):
    """Out-of-range integers: OverflowError, never a wrapped value."""

    def test_budget_amounts_and_limits(self):
        b = Budget(hard_tokens=100)
        for bad in (2 ** 64 + 5, 2 ** 63, -2 ** 63 - 1):
            with self.assertRaises(OverflowError):
                b.charge(input_tokens=bad)
            with self.assertRaises(OverflowError):
                b.reserve(output_tokens=bad)
            with self.assertRaises(OverflowError):
                Budget(hard_tokens=bad)
        self.assertEqual(b.status().tokens_committed, 0)
        with self.assertRaises(TypeError):
            b.charge(input_tokens="5")
        with self.assertRaises(TypeError):
            b.charge(input_tokens=1.5)

    def test_function_arguments(self):
        c = conv()
        with self.assertRaises((OverflowError, IndexError)):
            c.text(2 ** 64 + 1)
        with self.assertRaises(OverflowError):
            tokenomy.lib.tkn_conv_count(c) and tokenomy.lib.tkn_conv_role(c, 2 ** 64 + 1)
        with self.assertRaises(OverflowError):
            tokenomy.lib.tkn_conv_role(c, -1)
        with self.assertRaises(OverflowError):
            Usage(input_tokens=2 ** 64 + 5)

    def test_struct_fields(self):
        a = tokenomy.ffi.tkn_budget_amount()
        with self.assertRaises(OverflowError):
            a.input_tokens = 2 ** 64 + 5
        with self.assertRaises(OverflowError):
            tokenomy.ffi.tkn_budget_amount(1, 2 ** 63)
        o = tokenomy.ffi.tkn_router_rule()
        with self.assertRaises(OverflowError):
            o.when_len = -1


class Nul(unittest.TestCase):
    """Text with an embedded NUL: passed whole (lengths), or ValueError where
    C reads a NUL-terminated string."""

    def test_token_ids_are_range_checked(self):
        # ctypes wrapped 2**32 + 65 to 65: a token nobody asked for
        enc = tokenomy.encoding_for_model("gpt-4o")
        tok = Tokenizer.encoding("o200k_base")
        for decode in (enc.decode, enc.decode_bytes, tok.decode):
            with self.subTest(decode=decode):
                for ids in ([2 ** 32 + 65], [65, 2 ** 40], [-1]):
                    with self.assertRaises(OverflowError):
                        decode(ids)
                for ids in ([1.5], ["a"], [None]):
                    with self.assertRaises(TypeError):
                        decode(ids)
                self.assertIn(decode([65, 66]), ("bc", b"bc"))

    def test_text_is_not_cut(self):
        tok = Tokenizer.estimator()
        self.assertGreater(tok.count("a\0" + "b" * 400), tok.count("a"))
        c = Conversation()
        c.append("user", "before\0after")
        self.assertEqual(c.text(0), "before\0after")

    def test_nul_terminated_strings_refuse_nul(self):
        with self.assertRaises(ValueError):
            Tokenizer.load_ranks("cl100k_base", path="/nonexistent\0/x")
        o = tokenomy.ffi.tkn_ranks_options()
        with self.assertRaises(ValueError):
            o.path = b"a\0b"


if __name__ == "__main__":
    unittest.main()
