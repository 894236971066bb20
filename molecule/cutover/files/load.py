"""Constant HTTPS load through Caddy on the VM's own loopback, bounded in requests and seconds.

    load.py --out FILE [--stop FILE] [--host sample.test] [--ca PATH] [--threads 2]
            [--max-requests 40000] [--max-seconds 120] [--pause 0.01]

Each thread keeps one connection (reconnecting after an error) and sends GET / until the
stop file appears, --max-seconds pass or --max-requests are sent. FILE.started appears after
the first answer. FILE gets: requests, ok (2xx), non_2xx, failed (no HTTP answer), retried
(a kept-alive connection closed by the server before it answered, retried once on a new one as
HTTP clients do for GET), the worst latency and the longest gap between two successful answers
(any thread), in seconds.
"""
import argparse
import http.client
import json
import os
import socket
import ssl
import threading
import time


class LoopbackHTTPS(http.client.HTTPSConnection):
    """HTTPS to 127.0.0.1:443 with SNI and Host of the site name."""

    def connect(self):
        sock = socket.create_connection(("127.0.0.1", 443), self.timeout)
        self.sock = self._context.wrap_socket(sock, server_hostname=self.host)


def worker(args, context, state, lock, deadline):
    conn = None
    while True:
        with lock:
            if state["requests"] >= args.max_requests or time.monotonic() >= deadline or os.path.exists(args.stop):
                return
            state["requests"] += 1
        started = time.monotonic()
        status = None
        error = None
        for attempt in (1, 2):
            reused = conn is not None
            try:
                if conn is None:
                    conn = LoopbackHTTPS(args.host, timeout=10, context=context)
                conn.request("GET", "/")
                response = conn.getresponse()
                response.read()
                status = response.status
                break
            except (OSError, http.client.HTTPException) as exc:
                if conn is not None:
                    conn.close()
                conn = None
                error = type(exc).__name__
                # A kept-alive connection the server closed before answering (Caddy closes idle
                # connections when it reloads): retry the GET once on a new connection, as browsers,
                # Go's net/http (hey) and curl do for an idempotent request. Counted in "retried".
                if attempt == 1 and reused and isinstance(exc, (http.client.RemoteDisconnected, ConnectionResetError,
                                                                BrokenPipeError)):
                    with lock:
                        state["retried"] += 1
                    continue
                break
        done = time.monotonic()
        with lock:
            state["worst_latency_s"] = max(state["worst_latency_s"], done - started)
            if status is None:
                state["failed"] += 1
                state["errors"][error] = state["errors"].get(error, 0) + 1
            elif 200 <= status < 300:
                state["ok"] += 1
                if state["last_ok"] is not None:
                    state["longest_gap_s"] = max(state["longest_gap_s"], done - state["last_ok"])
                state["last_ok"] = done
                if not state["started"]:
                    state["started"] = True
                    with open(args.out + ".started", "w") as handle:
                        handle.write("started\n")
            else:
                state["non_2xx"] += 1
                state["statuses"][str(status)] = state["statuses"].get(str(status), 0) + 1
        if args.pause:
            time.sleep(args.pause)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--out", required=True)
    parser.add_argument("--stop", default="/root/load.stop")
    parser.add_argument("--host", default="sample.test")
    parser.add_argument("--ca", default="/var/lib/caddy/.local/share/caddy/pki/authorities/local/root.crt")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--max-requests", type=int, default=40000)
    parser.add_argument("--max-seconds", type=float, default=120)
    parser.add_argument("--pause", type=float, default=0.01)
    args = parser.parse_args()
    context = ssl.create_default_context(cafile=args.ca)
    state = dict(requests=0, ok=0, non_2xx=0, failed=0, retried=0, worst_latency_s=0.0, longest_gap_s=0.0, last_ok=None,
                 started=False, errors={}, statuses={})
    lock = threading.Lock()
    began = time.monotonic()
    deadline = began + args.max_seconds
    threads = [threading.Thread(target=worker, args=(args, context, state, lock, deadline))
               for index in range(args.threads)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    state["seconds"] = time.monotonic() - began
    state.pop("last_ok")
    for key in ("worst_latency_s", "longest_gap_s", "seconds"):
        state[key] = round(state[key], 3)
    tmp = args.out + ".tmp"
    with open(tmp, "w") as handle:
        json.dump(state, handle, sort_keys=True)
    os.replace(tmp, args.out)


if __name__ == "__main__":
    main()
