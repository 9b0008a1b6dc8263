"""Shared stores: a store written in Python, and the Redis adapter (when the
tests run under tests/redis/redis_fixture.py, which sets TKN_REDIS_PORT)."""
import os
import threading
import unittest

import tokenomy


class DictStore(tokenomy.Store):
    """The store semantics of store.h over a dict, enough for the tests (no
    leases or expiry)."""

    def __init__(self):
        self.lock = threading.Lock()
        self.counters = {}   # key -> [committed list, {id: amounts}]
        self.committed_ids = set()
        self.values = {}
        self.sums = {}
        self.calls = 0

    def _entry(self, key, n):
        e = self.counters.setdefault(key, [[0] * n, {}])
        return e

    def _used(self, e, n):
        return [e[0][j] + sum(r[j] for r in e[1].values()) for j in range(n)]

    def reserve(self, key, id, amounts, limits, lease_ms, ttl_seconds):
        with self.lock:
            self.calls += 1
            e = self._entry(key, len(amounts))
            used = self._used(e, len(amounts))
            if id in e[1] or id in self.committed_ids:
                return True, used
            if any(used[j] + amounts[j] > limits[j] for j in range(len(amounts))):
                return False, used
            e[1][id] = list(amounts)
            return True, self._used(e, len(amounts))

    def commit(self, key, id, actual, id_ttl_seconds, ttl_seconds):
        with self.lock:
            e = self._entry(key, len(actual))
            if id in self.committed_ids:
                return self._used(e, len(actual)), True
            self.committed_ids.add(id)
            e[1].pop(id, None)
            for j, a in enumerate(actual):
                e[0][j] += a
            return self._used(e, len(actual)), False

    def release(self, key, id):
        with self.lock:
            self.counters.get(key, [None, {}])[1].pop(id, None)

    def usage(self, key, n):
        with self.lock:
            e = self._entry(key, n)
            return e[0], [sum(r[j] for r in e[1].values()) for j in range(n)]

    def get(self, key):
        return self.values.get(key)

    def set(self, key, value, ttl_ms):
        self.values[key] = value

    def add(self, key, id, deltas, id_ttl_seconds):
        with self.lock:
            if id is not None and (key, id) in self.committed_ids:
                return self.sums.get(key, [0] * len(deltas)), True
            self.committed_ids.add((key, id))
            s = self.sums.setdefault(key, [0] * len(deltas))
            s.extend([0] * (len(deltas) - len(s)))
            for j, d in enumerate(deltas):
                s[j] += d
            return s[:len(deltas)], False

    def read(self, key, n):
        s = self.sums.get(key, [])
        return (s + [0] * n)[:n]


class Unreachable(DictStore):
    def reserve(self, *a):
        raise tokenomy.UnavailableError(tokenomy.ffi.TKN_ERR_UNAVAILABLE, "connection refused")


class PythonStoreTest(unittest.TestCase):
    def test_two_budgets_on_one_key_share_the_hard_limit(self):
        store = DictStore()
        a = tokenomy.Budget(store=store, key="tenant-1", hard_tokens=1000)
        b = tokenomy.Budget(store=store, key="tenant-1", hard_tokens=1000)
        a.charge(input_tokens=600)
        with self.assertRaises(tokenomy.BudgetError):
            b.reserve(input_tokens=500)
        b.charge(input_tokens=400)
        self.assertEqual(a.status().tokens_committed, 1000)
        self.assertGreater(store.calls, 0)

    def test_unreachable_store_fails_closed_with_its_message(self):
        b = tokenomy.Budget(store=Unreachable(), key="k", hard_tokens=10)
        with self.assertRaises(tokenomy.UnavailableError) as cm:
            b.reserve(input_tokens=1)
        self.assertIn("connection refused", cm.exception.message)

    def test_exception_in_a_store_method_reaches_the_caller(self):
        class Broken(DictStore):
            def reserve(self, *a):
                raise ZeroDivisionError("bug in the store")
        b = tokenomy.Budget(store=Broken(), key="k", hard_tokens=10)
        with self.assertRaises(ZeroDivisionError):
            b.reserve(input_tokens=1)

    def test_tool_caches_share_entries_through_the_store(self):
        store = DictStore()
        caches = [tokenomy.ToolCache() for _ in range(2)]
        for c in caches:
            c.set_policy("search", ttl_ms=60000, scope="global")
            c.set_store(store, "tc:")
        caches[0].put("search", {"q": "x"}, "shared result", tokens=3)
        self.assertEqual(caches[1].get("search", {"q": "x"}), "shared result")

    def test_what_the_store_refuses_outright_is_dropped_and_counted(self):
        class Refusing(DictStore):
            down = False

            def _gate(self, big):
                if self.down:
                    raise tokenomy.UnavailableError(tokenomy.ffi.TKN_ERR_UNAVAILABLE, "down")
                if big:
                    raise tokenomy.OverflowError_(tokenomy.ffi.TKN_ERR_OVERFLOW, "too big")

            def reserve(self, *a):
                self._gate(False)
                return super().reserve(*a)

            def commit(self, key, id, actual, *a):
                self._gate(max(actual) >= 1000)
                return super().commit(key, id, actual, *a)

            def add(self, key, id, deltas, *a):
                self._gate(max(deltas) >= 1000)
                return super().add(key, id, deltas, *a)

        store = Refusing()
        b = tokenomy.Budget(store=store, key="k", hard_tokens=10**6, fallback=True,
                            shared={"fallback_tokens": 5000})
        store.down = True
        b.charge(input_tokens=1000)  # on the fallback, queued
        b.charge(input_tokens=7)
        self.assertEqual(b.pending, 2)
        store.down = False
        with self.assertRaises(tokenomy.OverflowError_):
            b.flush()
        self.assertEqual((b.pending, b.dropped), (0, 1))
        self.assertEqual(b.status().tokens_committed, 7)
        m = tokenomy.Meter()
        m.set_store(store, "m:")
        m.record(tokenomy.Usage(input_tokens=10, output_tokens=2), model="gpt-4o", cost=5000)
        m.record(tokenomy.Usage(input_tokens=10, output_tokens=2), model="gpt-4o", cost=5)
        self.assertEqual(m.shared_dropped, 7)
        self.assertEqual(m.shared_stats().calls, 1)

    def test_meters_add_up_in_the_store(self):
        store = DictStore()
        meters = [tokenomy.Meter() for _ in range(2)]
        for m in meters:
            m.set_store(store, "m:")
            m.record(tokenomy.Usage(input_tokens=10, output_tokens=2), model="gpt-4o", cost=5)
        self.assertEqual(meters[0].stats().calls, 1)
        shared = meters[0].shared_stats()
        self.assertEqual((shared.calls, shared.cost), (2, 10))


@unittest.skipUnless(os.environ.get("TKN_REDIS_PORT"), "no Redis server (run under redis_fixture.py)")
class RedisStoreTest(unittest.TestCase):
    def setUp(self):
        self.redis = tokenomy.RedisStore(port=int(os.environ["TKN_REDIS_PORT"]),
                                         prefix="pytest:%d:" % os.getpid())
        self.redis.ping()

    def tearDown(self):
        self.redis.close()

    def test_budgets_share_a_limit_through_redis(self):
        a = tokenomy.Budget(store=self.redis, key="t", hard_tokens=100)
        b = tokenomy.Budget(store=self.redis, key="t", hard_tokens=100)
        with a.reserve(input_tokens=70) as r:
            with self.assertRaises(tokenomy.BudgetError):
                b.reserve(input_tokens=40)
            r.commit(input_tokens=60)
        b.charge(input_tokens=40)
        self.assertEqual(b.status().tokens_committed, 100)

    def test_unreachable_redis_is_unavailable(self):
        dead = tokenomy.RedisStore(port=1, connect_timeout_ms=100, retries=0)
        with self.assertRaises(tokenomy.UnavailableError):
            dead.ping()


if __name__ == "__main__":
    unittest.main()
