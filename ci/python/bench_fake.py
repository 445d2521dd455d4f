#!/usr/bin/env python3
"""Measure bkash fake from another process (standard library only).

  bench_fake.py --bin ./bkash [--seconds 3] [--starts 5]

Prints the start-up time (process start to the first answered request) and
create+approve+execute cycles per second over one keep-alive connection,
bounded by --seconds and 100,000 cycles.
"""
import argparse, http.client, json, signal, statistics, subprocess, time, urllib.parse

API = "/v1.2.0-beta/tokenized/checkout/"


def start(binary):
    t0 = time.monotonic()
    p = subprocess.Popen([binary, "fake", "--addr", "127.0.0.1:0", "--json"], stdout=subprocess.PIPE, text=True)
    info = json.loads(p.stdout.readline())
    u = urllib.parse.urlparse(info["base_url"])
    c = http.client.HTTPConnection(u.hostname, u.port, timeout=10)
    c.request("GET", "/_bkashtest/counters")
    c.getresponse().read()
    return p, info, c, time.monotonic() - t0


def post(c, path, body, headers):
    c.request("POST", path, json.dumps(body), dict(headers, **{"Content-Type": "application/json"}))
    r = c.getresponse()
    b = r.read()
    return r.status, json.loads(b) if b else None


def stop(p):
    p.send_signal(signal.SIGTERM)
    p.wait(timeout=20)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", required=True)
    ap.add_argument("--seconds", type=float, default=3)
    ap.add_argument("--starts", type=int, default=5)
    a = ap.parse_args()
    starts = []
    for _ in range(a.starts):
        p, _, c, d = start(a.bin)
        starts.append(d * 1000)
        c.close()
        stop(p)
    print("start-up to first answer: median %.0f ms (min %.0f, max %.0f, %d starts)" % (
        statistics.median(starts), min(starts), max(starts), len(starts)))
    p, info, c, _ = start(a.bin)
    cr = info["credentials"]
    _, g = post(c, API + "token/grant", {"app_key": cr["app_key"], "app_secret": cr["app_secret"]},
                {"username": cr["username"], "password": cr["password"]})
    auth = {"Authorization": g["id_token"], "X-APP-Key": cr["app_key"]}
    n, t0 = 0, time.monotonic()
    while time.monotonic() - t0 < a.seconds and n < 100000:
        _, cp = post(c, API + "create", {"mode": "0011", "payerReference": "01770618575",
                     "callbackURL": "https://shop.example/cb", "amount": "10.00", "currency": "BDT",
                     "intent": "sale", "merchantInvoiceNumber": "B-%d" % n}, auth)
        post(c, "/_bkashtest/payments/%s/approve" % cp["paymentID"], {}, {})
        _, ex = post(c, API + "execute", {"paymentID": cp["paymentID"]}, auth)
        assert ex["transactionStatus"] == "Completed", ex
        n += 1
    el = time.monotonic() - t0
    print("create+approve+execute: %d cycles in %.2f s = %.0f cycles/s (%.0f requests/s, one connection)" % (
        n, el, n / el, 3 * n / el))
    c.close()
    stop(p)


if __name__ == "__main__":
    main()
