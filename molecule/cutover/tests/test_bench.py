"""`make bench-cutover`: the same web-only deploy (zd-2 -> zd-3) under load, zero downtime on, then off.

Prints (and writes to tests/output/bench-cutover.txt) requests, failed requests (no answer or
non-2xx), the worst latency and the longest gap between two successful answers, per mode."""
from conftest import BENCH_FIGURES, playbook, under_load

OFF = '{"berth_zero_downtime": []}'


def measure(host, mode, extra):
    back = playbook("rollback", "-e", "ref=zd-2", *extra)
    assert back.rc == 0, back.out
    run, stats = under_load(host, "bench " + mode, lambda: playbook("deploy", "-e", "ref=zd-3", *extra))
    assert run.rc == 0, run.out
    return ("zero downtime %-3s  requests %6d  failed %4d  longest gap %6.3f s  worst latency %6.3f s  "
            "(keep-alive retries %d, deploy %.1f s)" % (
                mode, stats["requests"], stats["failed"] + stats["non_2xx"], stats["longest_gap_s"],
                stats["worst_latency_s"], stats.get("retried", 0), run.seconds))


def test_bench_web_only_deploy_on_and_off(host):
    lines = ["web-only deploy zd-2 -> zd-3 under constant load through Caddy (2 clients, 10 ms pause)",
             measure(host, "on", []), measure(host, "off", ["-e", OFF])]
    with open(BENCH_FIGURES, "w") as handle:
        handle.write("\n".join(lines) + "\n")
    print("\n".join(lines))
