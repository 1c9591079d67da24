#!/usr/bin/env python3
"""Run one suricata-verify test through `utmctl replay` under the test's own settings.

sv-check.py (../shared/tools, third-party, unchanged) runs every test with one fixed command.
Suricata's tests, though, are written for Suricata's default configuration plus what each
test folder asks for: arguments in test.yaml (`--simulate-ips`, `--set stream.midstream=true`,
`--set threshold-file=...`) and overrides in its suricata.yaml. This wrapper reads those and
passes the matching `utmctl replay` flags, so a test is judged under the settings it was
written for. It is usable as sv-check's engine command:

  sv-check.py --tests ../shared/corpus/suricata-verify/tests \
      --engine 'tools/sv-replay.py --utmctl .build/debug/utmctl {dir} {pcap} {rules} {eve}'

What is translated (everything else is ignored, and listed with --explain):
  - IDS unless --simulate-ips (Suricata's default): `utmctl replay --ids`. suricata-verify's
    own runner (run.py) also adds --simulate-ips when the test's folder name contains "ips"
    (eve-overlap-payload-03-ips has no other IPS setting), so this does too.
  - host-os-policy from suricata.yaml (policy: [networks]): `--set host-os-policy.NAME=a,b`.
  - flow-timeouts: a folder with its own suricata.yaml runs on Suricata's built-in timeouts
    (flow-private.h: tcp new 30, established 300, closed 10; udp and default 30/300) plus what
    that file sets; without one, suricata.yaml.in's (the engine's defaults). `--set` per key.
  - exception-policy: `auto` unless the test sets it (suricata.yaml.in's value; also what
    Suricata does without one: drop-flow in IPS mode, ignore in IDS mode).
  - stream.midstream (Suricata's default false), stream.midstream-policy, exception-policy,
    stream.reassembly.depth: from test.yaml `--set` arguments and suricata.yaml, as `--set`.
  - detect.guess-applayer-tx, detect.stream-tx-log-limit: from suricata.yaml or `--set`.
  - threshold-file: from `--set threshold-file=...` or suricata.yaml, as `--threshold-file`.
  - drop log `flows: all` in suricata.yaml's eve-log types: `--drop-log-flows`.
  - action-order from suricata.yaml, else Suricata's default pass,drop,reject,alert.
  - Rules: sv-check gives an empty rules file when the folder has no test.rules; the tests
    that name their rules otherwise (input.rules, tcp-overlap.rules, ...) keep them in the
    folder, so every *.rules file there is passed, except firewall.rules (Suricata 8's
    firewall mode, a different rule language), which goes to `--firewall-rules`.
  - firewall.policies in suricata.yaml (Suricata 8's default policies per hook): one
    `--firewall-policy KEY=ACTIONS` per leaf, KEY the dotted path below `policies`.
"""
import argparse, os, shlex, subprocess, sys

import yaml


BUILTIN_TIMEOUT_KEYS = ("tcp.new", "tcp.established", "tcp.closed", "udp.new", "udp.established",
                        "default.new", "default.established")


def test_args(spec, test_dir):
    """The test's extra Suricata arguments as one token list (${TEST_DIR} substituted)."""
    raw = spec.get("args") or []
    if isinstance(raw, str):
        raw = [raw]
    tokens = []
    for a in raw:
        tokens += shlex.split(str(a).replace("${TEST_DIR}", test_dir))
    return tokens


def suricata_yaml(test_dir):
    path = os.path.join(test_dir, "suricata.yaml")
    if not os.path.exists(path):
        return {}
    text = open(path, errors="replace").read()
    # Suricata's YAML 1.1 header and tabs upset PyYAML; the keys we read do not need them.
    lines = [l for l in text.splitlines() if not l.startswith("%YAML")]
    try:
        return yaml.safe_load("\n".join(lines).replace("\t", "    ")) or {}
    except yaml.YAMLError:
        return {}


def dig(conf, dotted):
    cur = conf
    for part in dotted.split("."):
        if not isinstance(cur, dict) or part not in cur:
            return None
        cur = cur[part]
    return cur


def drop_log_all(conf):
    for out in conf.get("outputs") or []:
        eve = out.get("eve-log") if isinstance(out, dict) else None
        if not isinstance(eve, dict):
            continue
        for t in eve.get("types") or []:
            if isinstance(t, dict) and isinstance(t.get("drop"), dict):
                if str(t["drop"].get("flows", "")).lower() == "all":
                    return True
    return False


def firewall_policies(conf):
    """firewall.policies leaves as (dotted key, "action,action") pairs."""
    out = []

    def walk(prefix, node):
        if isinstance(node, dict):
            for k, v in node.items():
                walk(prefix + [str(k)], v)
        elif node is not None:
            items = node if isinstance(node, list) else [node]
            out.append((".".join(prefix), ",".join(str(i) for i in items)))

    walk([], dig(conf, "firewall.policies") or {})
    return out


def build(args):
    spec = yaml.safe_load(open(os.path.join(args.dir, "test.yaml"))) or {}
    conf = suricata_yaml(args.dir)
    tokens = test_args(spec, args.dir)
    # run.py: `if "ips" in self.name: args.append("--simulate-ips")` (name = folder basename).
    ips = "--simulate-ips" in tokens or "ips" in os.path.basename(os.path.normpath(args.dir))
    sets = {}
    # Suricata's defaults that differ from the product's.
    sets["stream.midstream"] = "false"
    for key in ("stream.midstream", "stream.async-oneside", "stream.midstream-policy", "exception-policy", "stream.reassembly.depth",
                "threshold-file", "detect.guess-applayer-tx", "detect.stream-tx-log-limit"):
        v = dig(conf, key)
        if v is not None and not isinstance(v, (dict, list)):
            sets[key] = str(v).lower() if isinstance(v, bool) else str(v)
    i = 0
    while i < len(tokens):
        if tokens[i] == "--set" and i + 1 < len(tokens) and "=" in tokens[i + 1]:
            k, v = tokens[i + 1].split("=", 1)
            sets[k.strip()] = v.strip().strip('"')
            i += 2
            continue
        i += 1
    if "exception-policy" not in sets:
        sets["exception-policy"] = "auto"
    timeouts = {}
    if os.path.exists(os.path.join(args.dir, "suricata.yaml")):
        timeouts = {"tcp.new": "30", "tcp.established": "300", "tcp.closed": "10",
                    "udp.new": "30", "udp.established": "300", "default.new": "30", "default.established": "300"}
    ft = conf.get("flow-timeouts")
    if isinstance(ft, dict):
        for proto, states in ft.items():
            if isinstance(states, dict):
                for state, v in states.items():
                    if "%s.%s" % (proto, state) in BUILTIN_TIMEOUT_KEYS and v is not None:
                        timeouts["%s.%s" % (proto, state)] = str(v)
    for k, v in sets.items():
        if k.startswith("flow-timeouts.") and k[len("flow-timeouts."):] in BUILTIN_TIMEOUT_KEYS:
            timeouts[k[len("flow-timeouts."):]] = v
    known = ("stream.midstream", "stream.async-oneside", "stream.midstream-policy", "exception-policy", "stream.reassembly.depth",
             "detect.guess-applayer-tx", "detect.stream-tx-log-limit")
    cmd = [args.utmctl, "replay", args.pcap, "--eve", args.eve]
    rules = [args.rules]
    if os.path.getsize(args.rules) == 0 and not os.path.exists(os.path.join(args.dir, "test.rules")):
        rules = [os.path.join(args.dir, n) for n in sorted(os.listdir(args.dir))
                 if n.endswith(".rules") and n != "firewall.rules"] or rules
    for r in rules:
        cmd += ["--rules", r]
    if not ips:
        cmd.append("--ids")
    for k in known:
        if k in sets:
            cmd += ["--set", "%s=%s" % (k, sets[k])]
    if "threshold-file" in sets:
        path = sets["threshold-file"]
        if not os.path.isabs(path):
            path = os.path.join(args.dir, path)
        if os.path.exists(path):
            cmd += ["--threshold-file", path]
    for k in sorted(timeouts):
        cmd += ["--set", "flow-timeouts.%s=%s" % (k, timeouts[k])]
    hosts = conf.get("host-os-policy")
    if isinstance(hosts, dict):
        for name, nets in hosts.items():
            if isinstance(nets, str):
                nets = [n.strip() for n in nets.strip("[]").split(",")]
            nets = [str(n).strip() for n in (nets or []) if str(n).strip()]
            if nets:
                cmd += ["--set", "host-os-policy.%s=%s" % (name, ",".join(nets))]
    order = conf.get("action-order")
    cmd += ["--action-order", ",".join(str(a) for a in order) if isinstance(order, list) else "pass,drop,reject,alert"]
    if drop_log_all(conf):
        cmd.append("--drop-log-flows")
    fw_rules = os.path.join(args.dir, "firewall.rules")
    if os.path.exists(fw_rules):
        cmd += ["--firewall-rules", fw_rules]
    for k, v in firewall_policies(conf):
        cmd += ["--firewall-policy", "%s=%s" % (k, v)]
    return cmd


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--utmctl", default=os.environ.get("UTMCTL", "utmctl"))
    ap.add_argument("--explain", action="store_true", help="print the utmctl command to stderr")
    ap.add_argument("dir")
    ap.add_argument("pcap")
    ap.add_argument("rules")
    ap.add_argument("eve")
    args = ap.parse_args()
    # Paths inside test.yaml (${TEST_DIR}, a relative threshold file) are resolved against the
    # folder; sv-check passes it as given on its --tests, so make it absolute once here.
    args.dir = os.path.abspath(args.dir)
    cmd = build(args)
    if args.explain:
        print(" ".join(shlex.quote(c) for c in cmd), file=sys.stderr)
    return subprocess.run(cmd).returncode


if __name__ == "__main__":
    sys.exit(main())
