#!/usr/bin/env python3
"""The most suricata-verify tests that any one fixed engine command can pass.

sv-check.py runs every test folder with one command line filled in with {pcap} {rules} {eve}.
Tests that hand the command the same capture and the same rules file (byte for byte) get the
same output from any deterministic engine, yet some of them expect different results because
Suricata runs them under different settings (`--simulate-ips`, `stream.midstream`,
exception policies, a threshold.config, a suricata.yaml of their own). Within such a group a
fixed command can satisfy only tests whose checks agree. This script groups the judged tests
by (capture bytes, rules bytes), finds checks that cannot hold together, and prints the upper
bound on the pass count for the fixed command; a command that may also read the folder's
settings ({dir}, as tools/sv-replay.py does) is not bound by it.

It reads the tests' checks only to count conflicts; it runs nothing.

usage: sv-ceiling.py --tests DIR [--verbose]
"""
import argparse, hashlib, itertools, os, sys

import yaml

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "shared", "tools"))


def load_sv_check(tools_dir):
    import importlib.util
    spec = importlib.util.spec_from_file_location("sv_check", os.path.join(tools_dir, "sv-check.py"))
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def digest(path):
    if path is None or not os.path.exists(path):
        return "empty"
    return hashlib.sha256(open(path, "rb").read()).hexdigest()


def constraints(spec, supported):
    """Judged filters as (frozenset of match items, low, high) count ranges; None if not judged."""
    out = []
    for check in spec.get("checks", []) or []:
        if not isinstance(check, dict) or "filter" not in check:
            continue
        flt = check["filter"]
        match = flt.get("match", {}) or {}
        if any(k not in supported for k in match):
            continue
        low, high = 0, float("inf")
        if "count" in flt:
            low = high = flt["count"]
        if "lt" in flt:
            high = min(high, flt["lt"] - 1)
        if "gt" in flt:
            low = max(low, flt["gt"] + 1)
        key = frozenset((k, str(v).lower()) for k, v in match.items())
        out.append((key, low, high))
    return out


def compatible(tests):
    """Whether one event stream can satisfy all these tests' constraints (necessary conditions:
    equal filters must overlap; a filter that names more keys counts no more than a broader one)."""
    cons = [c for t in tests for c in t]
    for (k1, lo1, hi1), (k2, lo2, hi2) in itertools.combinations(cons, 2):
        if k1 == k2 and (max(lo1, lo2) > min(hi1, hi2)):
            return False
        if k1 < k2 and lo2 > hi1:   # narrower k2 needs more events than broader k1 allows
            return False
        if k2 < k1 and lo1 > hi2:
            return False
    return True


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--tests", required=True)
    ap.add_argument("--sv-check", default=None, help="path of sv-check.py (default ../shared/tools next to the repo)")
    ap.add_argument("--verbose", action="store_true")
    a = ap.parse_args()
    tools_dir = os.path.dirname(a.sv_check) if a.sv_check else os.path.join(
        os.path.dirname(os.path.abspath(__file__)), "..", "..", "shared", "tools")
    sv = load_sv_check(tools_dir)
    groups = {}
    judged = 0
    for root, _, files in sorted(os.walk(a.tests)):
        if "test.yaml" not in files:
            continue
        spec = yaml.safe_load(open(os.path.join(root, "test.yaml"))) or {}
        pcap = sv.find_pcap(root, spec)
        cons = constraints(spec, sv.SUPPORTED_KEYS)
        if not pcap or not cons:
            continue
        judged += 1
        rules = os.path.join(root, "test.rules")
        key = (digest(pcap), digest(rules if os.path.exists(rules) else None))
        groups.setdefault(key, []).append((os.path.relpath(root, a.tests), cons))
    ceiling = 0
    for members in groups.values():
        best = 0
        for size in range(len(members), 0, -1):
            if any(compatible([m[1] for m in combo]) for combo in itertools.combinations(members, size)):
                best = size
                break
        ceiling += best
        if a.verbose and best < len(members):
            print("%d of %d can pass together: %s" % (best, len(members), ", ".join(m[0] for m in members)))
    print("judged %d, fixed-command ceiling %d (%.0f%%)" % (judged, ceiling, 100.0 * ceiling / max(judged, 1)))


if __name__ == "__main__":
    main()
