#!/usr/bin/env python3
"""A whole bKash checkout against `bkash fake`, from Python's standard library.

Proof that the fake serves suites in any language: nothing here is Go, and
nothing but urllib, json and subprocess is used. It grants a token, creates a
payment, approves it through the control API (as the customer would), executes,
queries, refunds part of it, reads the refund status, then injects a fault that
drops an execute's answer after the payment was made and settles it with a
query, as a careful integration must.

Usage:
  test_fake_checkout.py --bin ./bkash     start the fake on a free port, stop it at the end
  test_fake_checkout.py --url http://127.0.0.1:9090   use a running fake

Exits 0 when every check passed; the last line is "N passed, M failed".
"""

import argparse
import http.client
import json
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request

API = "/v1.2.0-beta/tokenized/checkout/"
TIMEOUT = 10  # seconds, for every request


class Fake:
    """The fake's base URL and credentials, and the requests this test sends."""

    def __init__(self, info):
        self.base = info["base_url"].rstrip("/")
        self.creds = info["credentials"]
        self.token = None

    def request(self, method, path, body=None, headers=None):
        """Send a request; return (HTTP status, decoded JSON or None)."""
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(self.base + path, data=data, method=method)
        req.add_header("Accept", "application/json")
        if data is not None:
            req.add_header("Content-Type", "application/json")
        for k, v in (headers or {}).items():
            req.add_header(k, v)
        try:
            with urllib.request.urlopen(req, timeout=TIMEOUT) as resp:
                return resp.status, _json(resp.read())
        except urllib.error.HTTPError as e:  # 4xx/5xx still carry a body
            return e.code, _json(e.read())

    def grant(self):
        status, ans = self.request(
            "POST", API + "token/grant",
            {"app_key": self.creds["app_key"], "app_secret": self.creds["app_secret"]},
            {"username": self.creds["username"], "password": self.creds["password"]})
        self.token = ans.get("id_token") if ans else None
        return status, ans

    def call(self, path, body):
        """An authenticated bKash API call."""
        return self.request("POST", API + path, body,
                            {"Authorization": self.token, "X-APP-Key": self.creds["app_key"]})

    def control(self, method, path, body=None):
        """A control-API call (path below /_bkashtest/)."""
        return self.request(method, "/_bkashtest/" + path, body)


def _json(raw):
    try:
        return json.loads(raw) if raw else None
    except ValueError:
        return None


class Checks:
    def __init__(self):
        self.passed = 0
        self.failed = 0

    def check(self, name, ok, detail=""):
        if ok:
            self.passed += 1
            print("ok   " + name)
        else:
            self.failed += 1
            print("FAIL " + name + (": " + str(detail) if detail else ""))
        return ok


def create_payment(fake, amount, invoice):
    return fake.call("create", {
        "mode": "0011", "payerReference": "01770618575",
        "callbackURL": "https://shop.example/bkash/callback",
        "amount": amount, "currency": "BDT", "intent": "sale",
        "merchantInvoiceNumber": invoice,
    })


def checkout(fake, t):
    status, ans = fake.grant()
    if not t.check("grant token", status == 200 and ans and ans.get("statusCode") == "0000" and fake.token, ans):
        return

    status, ans = create_payment(fake, "150.50", "PY-1001")
    pid = (ans or {}).get("paymentID", "")
    t.check("create payment", status == 200 and ans.get("statusCode") == "0000" and pid
            and ans.get("transactionStatus") == "Initiated"
            and ans.get("bkashURL", "").startswith(fake.base + "/checkout?"), ans)

    status, ans = fake.call("execute", {"paymentID": pid})
    t.check("execute before approval answers 2056", status == 200 and ans.get("statusCode") == "2056", ans)

    status, ans = fake.control("POST", "payments/%s/approve" % pid, {"wallet": "01929918378"})
    t.check("approve through the control API", status == 200 and ans.get("customer_status") == "success", ans)

    status, ans = fake.call("execute", {"paymentID": pid})
    trx = (ans or {}).get("trxID", "")
    t.check("execute", status == 200 and ans.get("statusCode") == "0000"
            and ans.get("transactionStatus") == "Completed" and trx and ans.get("amount") == "150.50", ans)

    status, ans = fake.call("payment/status", {"paymentID": pid})
    t.check("query", status == 200 and ans.get("transactionStatus") == "Completed" and ans.get("trxID") == trx, ans)

    status, ans = fake.call("payment/refund", {"paymentID": pid, "trxID": trx, "amount": "50.00",
                                               "sku": "MILK-1L", "reason": "damaged"})
    refund_trx = (ans or {}).get("refundTrxID", "")
    t.check("partial refund", status == 200 and ans.get("transactionStatus") == "Completed"
            and ans.get("originalTrxID") == trx and ans.get("amount") == "50.00" and refund_trx, ans)

    status, ans = fake.call("payment/refund", {"paymentID": pid, "trxID": trx})
    t.check("refund status", status == 200 and ans.get("refundTrxID") == refund_trx
            and ans.get("transactionStatus") == "Completed", ans)

    status, ans = fake.control("GET", "payments/" + pid)
    t.check("payment state through the control API", status == 200 and ans.get("refunded") == "50.00"
            and [r.get("refund_trx_id") for r in ans.get("refunds", [])] == [refund_trx], ans)

    status, ans = fake.call("payment/refund", {"paymentID": pid, "trxID": trx, "amount": "100.51",
                                               "sku": "MILK-1L", "reason": "too much"})
    t.check("refund beyond the rest is refused", status == 200 and ans.get("statusCode") not in (None, "0000"), ans)


def dropped_execute(fake, t):
    """bKash executes the payment but its answer is lost: the query settles it."""
    status, ans = create_payment(fake, "99.00", "PY-1002")
    pid = (ans or {}).get("paymentID", "")
    fake.control("POST", "payments/%s/approve" % pid)
    status, before = fake.control("GET", "counters")
    status, ans = fake.control("POST", "faults", {"operation": "payment.execute", "drop": True, "after_apply": True})
    t.check("inject a dropped answer after apply", status == 201 and ans.get("remaining") == 1, ans)

    try:
        status, ans = fake.call("execute", {"paymentID": pid})
        t.check("execute's answer is lost", False, "got HTTP %s %s" % (status, ans))
    except (http.client.HTTPException, ConnectionError, urllib.error.URLError, OSError) as e:
        t.check("execute's answer is lost", True, e)

    status, ans = fake.call("payment/status", {"paymentID": pid})
    t.check("the query settles it: Completed", status == 200 and ans.get("transactionStatus") == "Completed"
            and ans.get("trxID"), ans)

    status, after = fake.control("GET", "counters")
    t.check("the execute was applied exactly once",
            after["applied"]["payment.execute"] - before["applied"]["payment.execute"] == 1
            and after["received"]["payment.execute"] - before["received"]["payment.execute"] == 1, after)

    status, ans = fake.control("GET", "faults")
    t.check("the fault fired and is gone", status == 200 and ans.get("faults") == [], ans)


def control_errors(fake, t):
    status, ans = fake.control("GET", "payments/TR0011nothing")
    t.check("unknown payment is a 404 with a JSON error", status == 404 and "TR0011nothing" in ans.get("error", ""), ans)
    status, ans = fake.control("POST", "faults", {"operation": "payment.exec", "drop": True})
    t.check("a bad fault is a 400 that says why", status == 400 and "payment.exec" in ans.get("error", ""), ans)


def start_fake(binary):
    proc = subprocess.Popen([binary, "fake", "--addr", "127.0.0.1:0", "--json"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    line = proc.stdout.readline()
    if not line:
        proc.kill()
        raise SystemExit("bkash fake printed nothing: " + proc.stderr.read())
    return proc, json.loads(line)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    g = ap.add_mutually_exclusive_group(required=True)
    g.add_argument("--bin", help="the bkash binary: start `bkash fake` on a free port")
    g.add_argument("--url", help="the root of a running bkash fake")
    args = ap.parse_args()

    proc = None
    if args.bin:
        started = time.monotonic()
        proc, info = start_fake(args.bin)
        print("started bkash fake at %s in %.0f ms" % (info["base_url"], (time.monotonic() - started) * 1000))
    else:
        with urllib.request.urlopen(args.url.rstrip("/") + "/_bkashtest/info", timeout=TIMEOUT) as resp:
            info = json.loads(resp.read())

    t = Checks()
    try:
        fake = Fake(info)
        for part in (checkout, dropped_execute, control_errors):
            try:
                part(fake, t)
            except Exception as e:  # a broken step fails, the next part still runs
                t.check(part.__name__ + " ran to the end", False, repr(e))
    finally:
        if proc:
            proc.send_signal(signal.SIGTERM)
            try:
                code = proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
                code = None
            t.check("bkash fake stops on SIGTERM with exit code 0", code == 0, proc.stderr.read())
    print("%d passed, %d failed" % (t.passed, t.failed))
    return 0 if t.failed == 0 and t.passed > 0 else 1


if __name__ == "__main__":
    sys.exit(main())
