#!/usr/bin/env python3
# inv_targets.py - helpers of bench_inventory.sh (issue 5 benchmark): the
# inventory CSV (N distinct loopback targets 127.1.x.y over C clients), the
# wait for an audit to be done (read-only SQL on the controller's database,
# so the wait itself costs the controller nothing), the checks of the
# reports, and the closing table. Loopback only; no network I/O here.
import csv
import json
import os
import sqlite3
import statistics
import sys
import time


def target(i):
    """The i-th target address: 127.1.0.1 ... 127.1.249.250 (62,500 at most)."""
    return "127.1.%d.%d" % (i // 250, i % 250 + 1)


def cmd_csv(n, port, clients):
    n, clients = int(n), int(clients)
    per = (n + clients - 1) // clients
    w = csv.writer(sys.stdout, lineterminator="\n")
    w.writerow(["client", "target", "port", "tags"])
    for i in range(n):
        c = i // per
        w.writerow(["client%02d" % c, target(i), port, "bench;c%02d" % c])


STATUS_SQL = """SELECT a.status,
 (SELECT count(*) FROM orders o WHERE o.audit_id = a.id),
 (SELECT count(*) FROM orders o WHERE o.audit_id = a.id AND o.state = 'done'),
 (SELECT count(*) FROM results r JOIN orders o ON o.id = r.order_id WHERE o.audit_id = a.id)
 FROM audits a WHERE a.id = ?"""


def cmd_wait(db, audit, timeout):
    """Polls every 0.1 s until the audit is done; prints
    'status orders done results' and exits 0, or 1 on timeout."""
    end = time.monotonic() + float(timeout)
    last = None
    con = sqlite3.connect("file:%s?mode=ro" % db, uri=True, timeout=5)
    while True:
        try:
            last = con.execute(STATUS_SQL, (int(audit),)).fetchone()
        except sqlite3.OperationalError as e:  # busy: try again
            last = ("error:%s" % e, 0, 0, 0)
        if last and last[0] == "done":
            print("%s %d %d %d" % last)
            return 0
        if time.monotonic() > end:
            print("%s %s %s %s" % (last if last else ("missing", 0, 0, 0)))
            return 1
        time.sleep(0.1)


def cmd_check_json(path, n, vantages):
    """The JSON report: n targets, every one open from every vantage."""
    rep = json.load(open(path))
    n, vantages = int(n), int(vantages)
    bad = []
    if rep.get("status") != "done":
        bad.append("status %r" % rep.get("status"))
    if len(rep.get("targets", [])) != n:
        bad.append("%d targets (want %d)" % (len(rep.get("targets", [])), n))
    not_open = [t["target"] for t in rep.get("targets", []) if t.get("verdict") != "open"]
    if not_open:
        bad.append("%d targets not open (first %s)" % (len(not_open), not_open[0]))
    cells = sum(1 for t in rep.get("targets", []) for v in t["cells"].values() if v == "open")
    if cells != n * vantages:
        bad.append("%d open cells (want %d)" % (cells, n * vantages))
    if bad:
        print("; ".join(bad))
        return 1
    return 0


def cmd_table(out, n, runs, agents):
    """The closing table from the files bench_inventory.sh left in OUT."""
    n, runs, agents = int(n), int(runs), int(agents)
    # the last line: /usr/bin/time puts "Command exited with non-zero status"
    # before its own when the command exits non-zero (report: 1 = open found)
    rd = lambda name: (open(os.path.join(out, name)).read().strip().splitlines() or [""])[-1].split()
    print()
    print("inventory benchmark: %d targets (%d clients), smtp-sink on loopback, %d agent(s), "
          "--tests basic" % (n, 10, agents))
    def cpu(name):
        """(CLI CPU s, controller CPU s) of one step, '' where not measured."""
        t = rd(name + ".time")
        cli = "%.2f" % (float(t[2]) + float(t[3])) if len(t) > 3 else ""
        c = rd(name + ".ctlcpu")
        return cli, "%.2f" % (int(c[0]) / int(c[1]))

    print("%-40s %8s %9s %8s %8s  %s" % ("step", "wall s", "CLI RSS", "CLI CPU", "ctl CPU", "output"))
    for name, label in (("import1", "targets import (%d rows, all new)" % n),
                        ("import2", "targets import again (all updates)"),
                        ("audit", "schedule run-now --all, until done")):
        t = rd(name + ".time")
        rss = "%5.1f MiB" % (int(t[1]) / 1024) if len(t) > 1 else ""
        print("%-40s %8.2f %9s %8s %8s" % ((label, float(t[0]), rss) + cpu(name)))
    for fmt in ("text", "json", "csv", "html"):
        t = rd("report-%s.time" % fmt)
        size = os.path.getsize(os.path.join(out, "report.%s" % fmt))
        print("%-40s %8.2f %5.1f MiB %8s %8s  %.1f MiB" %
              (("report --format %s" % fmt, float(t[0]), int(t[1]) / 1024) + cpu("report-" + fmt) +
               (size / 1048576,)))
    t = rd("report-last.time")
    print("%-40s %8.2f %5.1f MiB %8s %8s" %
          (("report --json of the last run (%d)" % (n // 10), float(t[0]), int(t[1]) / 1024) +
           cpu("report-last")))
    walls = [float(x) for x in open(os.path.join(out, "runs.wall")).read().split()]
    if walls:
        print("%-40s %8.2f   (min %.2f, max %.2f, %d runs)" %
              ("one client (%d targets), median run" % (n // 10),
               statistics.median(walls), min(walls), max(walls), len(walls)))
    print()
    print("controller memory (/proc/PID/status) across %d scheduled runs of %d targets" %
          (runs, n // 10))
    print("%-22s %12s %12s" % ("after", "VmRSS MiB", "VmHWM MiB"))
    rss = {}
    for line in open(os.path.join(out, "memory.txt")):
        label, r, h = line.split()
        rss[label] = int(r)
        print("%-22s %12.1f %12.1f" % (label.replace("_", " "), int(r) / 1024, int(h) / 1024))
    a, b = rss.get("run_10"), rss.get("run_%d" % runs)
    if a and b:
        print("VmRSS run %d / run 10: %.2f (flat = about 1.0; growth %+.1f MiB)" %
              (runs, b / a, (b - a) / 1024))
    db = rd("db.size")
    print("controller database at the end: %.1f MiB (%s audits)" % (int(db[0]) / 1048576, db[1]))
    return 0


def main(argv):
    cmds = {"csv": (cmd_csv, 3), "wait": (cmd_wait, 3), "check-json": (cmd_check_json, 3),
            "table": (cmd_table, 4)}
    if len(argv) < 2 or argv[1] not in cmds or len(argv) - 2 != cmds[argv[1]][1]:
        print("usage: inv_targets.py csv N PORT CLIENTS | wait DB AUDIT TIMEOUT | "
              "check-json FILE N VANTAGES | table OUT N RUNS AGENTS", file=sys.stderr)
        return 2
    return cmds[argv[1]][0](*argv[2:])


if __name__ == "__main__":
    sys.exit(main(sys.argv))
