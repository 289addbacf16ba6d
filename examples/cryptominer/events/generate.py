#!/usr/bin/env python3
"""Writes the events a host compromised by a (simulated) cryptominer produces.

host.jsonl: some benign SSH-session activity, then a cron job (every two minutes) runs
`sh -c /opt/scripts/mining-connection.sh`; the script resolves mining pools with
`nslookup`, probes each pool's stratum port with `nc` (3333, 4444, 15555) and starts a
miner with `--donate-level`/`stratum+tcp` arguments, which is killed. xmrig-exec.json:
the miner's exec in Datadog's `runtime policy eval` format.
"""
import json
import os

T0 = 1_700_000_000_000_000_000
MS = 1_000_000
UNSET = 4294967295
out = []


def ev(t, typ, values):
    out.append({"type": typ, "timestamp": T0 + t * MS, "values": values})


INIT = ("/sbin/init", "init", 1)
CRON = ("/usr/sbin/cron", "cron", 612)
SCRIPT = "/opt/scripts/mining-connection.sh"


def base(path):
    return path.rsplit("/", 1)[1]


def anc(chain):
    return {
        "process.ancestors.file.path": [c[0] for c in chain],
        "process.ancestors.file.name": [c[1] for c in chain],
        "process.ancestors.pid": [c[2] for c in chain],
    }


def proc(pid, ppid, path, chain, argv=None, auid=UNSET):
    v = {
        "process.pid": pid, "process.ppid": ppid, "process.tid": pid, "process.uid": 0, "process.gid": 0,
        "process.user": "root", "process.group": "root", "process.auid": auid,
        "process.file.path": path, "process.file.name": base(path), "process.comm": base(path)[:15],
    }
    if argv is not None:
        v["process.argv"] = argv
    v.update(anc(chain))
    return v


def exec_(t, pid, ppid, path, argv, chain, extra=None, auid=UNSET):
    v = {
        "exec.pid": pid, "exec.ppid": ppid, "exec.uid": 0, "exec.gid": 0, "exec.user": "root", "exec.auid": auid,
        "exec.file.path": path, "exec.comm": base(path)[:15], "exec.argv0": base(path), "exec.argv": argv,
    }
    v.update(anc(chain))
    v.update(extra or {})
    ev(t, "exec", v)


def exit_(t, pid, ppid, path, chain, code=0, cause="EXITED", auid=UNSET):
    v = proc(pid, ppid, path, chain, auid=auid)
    v["exit.code"] = code
    v["exit.cause"] = cause
    ev(t, "exit", v)


def cycle(t, first, full):
    sh = ("/bin/sh", "sh", first)
    script = (SCRIPT, base(SCRIPT), first + 1)
    exec_(t, first, CRON[2], "/bin/sh", ["-c", SCRIPT], [CRON, INIT])
    exec_(t + 5, first + 1, first, SCRIPT, [], [sh, CRON, INIT], {"exec.interpreter.file.path": "/bin/sh"})
    chain = [script, sh, CRON, INIT]
    pid = first + 2
    pools = ["ethermine.org", "miningocean.org", "c3pool.com"] if full else ["c3pool.com"]
    for i, pool in enumerate(pools):
        tt = t + 10 + i * 30
        exec_(tt, pid, first + 1, "/usr/bin/nslookup", [pool], chain)
        dns = {"dns.question.name": pool, "dns.question.type": 1, "dns.question.class": 1, "dns.id": 4100 + i}
        ev(tt + 3, "dns", dict(proc(pid, first + 1, "/usr/bin/nslookup", chain, [pool]), **dns))
        exit_(tt + 9, pid, first + 1, "/usr/bin/nslookup", chain)
        pid += 1
    targets = [
        ("eu1.ethermine.org", 4444, "172.65.218.238"),
        ("pool.miningocean.org", 15555, "51.75.64.249"),
        ("pool.c3pool.com", 3333, "162.19.139.184"),
    ]
    for i, (host, port, ip) in enumerate(targets if full else targets[2:]):
        tt = t + 200 + i * 40
        argv = ["-vz", "-w", "3", host, str(port)]
        exec_(tt, pid, first + 1, "/usr/bin/nc", argv, chain)
        p = proc(pid, first + 1, "/usr/bin/nc", chain, argv)
        dns = {"dns.question.name": host, "dns.question.type": 1, "dns.question.class": 1, "dns.id": 5100 + i}
        ev(tt + 2, "dns", dict(p, **dns))
        connect = {
            "connect.addr.ip": ip, "connect.addr.port": port, "connect.addr.family": 2,
            "connect.addr.is_public": True, "connect.protocol": 6, "connect.retval": 0,
            "connect.addr.hostname": [host],
        }
        ev(tt + 6, "connect", dict(p, **connect))
        exit_(tt + 30, pid, first + 1, "/usr/bin/nc", chain)
        pid += 1
    if full:
        wallet = "44AFFq5kSiGBoZ4NMDwYtN18obc8AemS33DBLWs3H7otXft3XjrpDtQGv7SqSsaBYBb98uNbr2VBBEt7f2wfn3RVGQBEP3A"
        argv = ["-o", "stratum+tcp://pool.c3pool.com:3333", "-u", wallet, "-p", "x", "--donate-level", "1", "--background"]
        exec_(t + 400, pid, first + 1, "/opt/scripts/xmrig", argv, chain)
        exit_(t + 401, pid, first + 1, "/opt/scripts/xmrig", chain, code=9, cause="SIGNALED")
    exit_(t + 500, first + 1, first, SCRIPT, [sh, CRON, INIT])
    exit_(t + 501, first, CRON[2], "/bin/sh", [CRON, INIT])


def benign(t, pid):
    """An administrator's curl in an SSH session."""
    chain = [("/usr/bin/bash", "bash", 2200), ("/usr/sbin/sshd", "sshd", 2100), INIT]
    argv = ["-sSf", "https://pypi.org/simple/requests/"]
    exec_(t, pid, 2200, "/usr/bin/curl", argv, chain, auid=1000)
    p = proc(pid, 2200, "/usr/bin/curl", chain, argv, auid=1000)
    ev(t + 2, "dns", dict(p, **{"dns.question.name": "pypi.org", "dns.question.type": 1, "dns.question.class": 1, "dns.id": 77}))
    connect = {
        "connect.addr.ip": "151.101.0.223", "connect.addr.port": 443, "connect.addr.family": 2,
        "connect.addr.is_public": True, "connect.protocol": 6, "connect.retval": 0, "connect.addr.hostname": ["pypi.org"],
    }
    ev(t + 8, "connect", dict(p, **connect))
    opened = {"open.file.path": "/etc/ssl/certs/ca-certificates.crt", "open.flags": 0, "open.file.mode": 33188, "open.retval": 5}
    ev(t + 9, "open", dict(p, **opened))
    exit_(t + 20, pid, 2200, "/usr/bin/curl", chain, auid=1000)


benign(0, 3001)
cycle(1_000, 5000, True)
benign(60_000, 3002)
cycle(121_000, 5100, False)
here = os.path.dirname(os.path.abspath(__file__))
with open(os.path.join(here, "host.jsonl"), "w") as f:
    for e in out:
        f.write(json.dumps(e) + "\n")
miner = next(e for e in out if e["type"] == "exec" and e["values"]["exec.file.path"].endswith("xmrig"))
with open(os.path.join(here, "xmrig-exec.json"), "w") as f:
    json.dump({"Type": "exec", "Values": miner["values"], "Timestamp": miner["timestamp"]}, f, indent=2)
    f.write("\n")
