import Foundation
import LiveTestSupport
import Testing

/// The box as it ships: a bridge between the router and the office, zones from the physical
/// port, the zone matrix, flow bypass, IPv4 and IPv6 active responses (issue 6). Five network
/// namespaces, one bridge:
///
///     l2-wan (servers: HTTP, HTTPS, DNS; 10.74.0.2, fd00:74::2) ── l2bw ┐
///     l2-lan (office client 10.74.0.10, fd00:74::10) ─────────── l2bl ├ l2br in l2-box (utmd; 10.74.0.1)
///     l2-ln2 (office printer, HTTP 10.74.0.11) ────────────────── l2bp ┤
///     l2-gst (guest SSID client 10.74.0.20) ─────────────────── l2bg ┘
///
/// Zones: wan = l2bw, lan = l2bl l2bp, ssid2 = l2bg, with `policy.ssid2.lan = deny`.
/// Every address is inside 10.74.0.0/24 and fd00:74::/64 in these namespaces: nothing leaves
/// them. Queues 740-741. Needs root and `ip netns`; skipped with a note elsewhere, a failure
/// when CI=true.
@Suite(.serialized) struct LiveBridgeTests {
    static let root = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    static let namespaces = ["l2-wan", "l2-lan", "l2-ln2", "l2-gst", "l2-box"]
    static let utmd = root.appendingPathComponent(".build/debug/utmd").path
    static let utmctl = root.appendingPathComponent(".build/debug/utmctl").path
    static let wan = "10.74.0.2", wan6 = "fd00:74::2", printer = "10.74.0.11"

    typealias Run = Shell.Run

    @discardableResult
    static func sh(_ command: String, seconds: Int = 20) -> Run { Shell.sh(command, seconds: seconds) }
    static func spawn(_ args: [String], log: String) throws -> Process { try Shell.spawn(args, log: log) }

    static func inNS(_ ns: String, _ args: [String]) -> [String] { ["/usr/sbin/ip", "netns", "exec", ns] + args }

    static func teardown() { Shell.deleteNamespaces(namespaces) }

    static func unavailable() -> String? {
        if getuid() != 0 { return "not root" }
        for tool in ["ip", "iptables", "iptables-restore", "curl", "python3", "openssl", "timeout"] where sh("command -v \(tool)").status != 0 {
            return "\(tool) not installed"
        }
        if !FileManager.default.isExecutableFile(atPath: utmd) { return "\(utmd) not built (swift build)" }
        let probe = sh("""
            ip netns add l2-probe && ip netns exec l2-probe sh -c 'ip link add l2pb type bridge && ip link add l2pv type veth peer name l2pw && ip link set l2pv master l2pb && test -e /proc/sys/net/bridge/bridge-nf-call-iptables && iptables -A FORWARD -m physdev --physdev-in l2pv -m connmark --mark 1/1 -j NFQUEUE --queue-num 740 --queue-bypass'; r=$?; ip netns del l2-probe; exit $r
            """)
        if probe.status != 0 { return "no netns/bridge/br_netfilter/NFQUEUE support: \(probe.err.prefix(200))" }
        return nil
    }

    static func skipOrFail(_ reason: String) {
        if ProcessInfo.processInfo.environment["CI"] == "true" {
            Issue.record("live bridge test cannot run on CI: \(reason)")
        } else {
            print("skipped LiveBridgeTests: \(reason)")
        }
    }

    static func read(_ path: String) -> String { (try? String(contentsOfFile: path, encoding: .utf8)) ?? "" }

    static func waitFor(_ seconds: Double, _ condition: () -> Bool) -> Bool { Shell.waitFor(seconds, condition) }

    static let resolve = ["files.example", "casino.example"].flatMap { host in
        ["--resolve", "\(host):8080:\(wan)", "--resolve", "\(host):8443:\(wan)"]
    }.joined(separator: " ")

    static func curl(_ args: String, ns: String = "l2-lan", seconds: Int = 10) -> Run {
        sh("ip netns exec \(ns) curl -sS --noproxy '*' -m \(seconds) \(resolve) \(args)", seconds: seconds + 5)
    }

    /// One DNS query over UDP from `ns` to the WAN resolver (the client script `dnsq.py` in
    /// `dir`): "RCODE ANSWERS", empty on timeout.
    static func dns(_ dir: String, _ ns: String, _ name: String) -> String {
        sh("ip netns exec \(ns) python3 \(dir)/dnsq.py \(name)", seconds: 8).out.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    @Test func bridgeZonesBypassResponsesAndRestart() throws {
        if let reason = Self.unavailable() { Self.skipOrFail(reason); return }
        Self.teardown()
        defer { Self.teardown() }
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("mimamori-live2-\(getpid())")
        try? FileManager.default.removeItem(at: dir)
        try FileManager.default.createDirectory(at: dir.appendingPathComponent("www"), withIntermediateDirectories: true)
        try FileManager.default.createDirectory(at: dir.appendingPathComponent("printer"), withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let d = dir.path

        // The bridge with four ports; the box's management address on the bridge.
        let setup = Self.sh("""
            set -e
            for n in \(Self.namespaces.joined(separator: " ")); do ip netns add $n; ip -n $n link set lo up; done
            ip -n l2-box link add l2br type bridge
            ip -n l2-box link set l2br type bridge forward_delay 0 stp_state 0
            for p in wan:l2bw:10.74.0.2:fd00:74::2 lan:l2bl:10.74.0.10:fd00:74::10 ln2:l2bp:10.74.0.11:fd00:74::11 gst:l2bg:10.74.0.20:fd00:74::20; do
              ns=l2-${p%%:*}; rest=${p#*:}; port=${rest%%:*}; rest=${rest#*:}; v4=${rest%%:*}; v6=${rest#*:}
              ip link add l2h0 netns $ns type veth peer name $port netns l2-box
              ip -n $ns addr add $v4/24 dev l2h0
              ip -n $ns addr add $v6/64 dev l2h0 nodad
              ip -n $ns link set l2h0 up
              ip -n l2-box link set $port master l2br
              ip -n l2-box link set $port up
            done
            ip -n l2-box addr add 10.74.0.1/24 dev l2br
            for k in 1 2 3 4 5 6 7 8; do ip -n l2-wan addr add 10.74.0.$((100 + k))/24 dev l2h0; done
            ip -n l2-box addr add fd00:74::1/64 dev l2br nodad
            ip -n l2-box link set l2br up
            """)
        try #require(setup.status == 0, "namespace setup failed: \(setup.err)")

        // Content and definitions.
        let clean = (0 ..< 3_000_000).map { i in UInt8(truncatingIfNeeded: (i &* 2_654_435_761) >> 13) }
        try Data(clean).write(to: dir.appendingPathComponent("www/clean.bin"))
        let eicar = #"X5O!P%@AP[4\PZX54(P^)7CC)7}$EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*"#
        try Data(eicar.utf8).write(to: dir.appendingPathComponent("www/eicar.com"))
        try Data("<html>ips</html>\n".utf8).write(to: dir.appendingPathComponent("www/ips-drop.html"))
        try Data("printer status ok\n".utf8).write(to: dir.appendingPathComponent("printer/status.txt"))
        try Data("44d88612fea8a8f36de82e1278abb02f:68:Eicar-Test-Signature\n".utf8)
            .write(to: URL(fileURLWithPath: "\(d)/eicar.hdb"))
        try FileManager.default.createDirectory(atPath: "\(d)/ut1/gambling", withIntermediateDirectories: true)
        try Data("casino.example\nexample.com\n".utf8).write(to: URL(fileURLWithPath: "\(d)/ut1/gambling/domains"))
        // The RFC 9001 A.2 client Initial (SNI example.com), read from the engine tests' copy.
        let vector = try String(contentsOf: Self.root.appendingPathComponent("Tests/UTMEngineTests/WebFilterQUICVector.swift"), encoding: .utf8)
        let hex = vector.components(separatedBy: "\"\"\"").dropFirst().first?.replacingOccurrences(of: "\\\n", with: "")
            .trimmingCharacters(in: .whitespacesAndNewlines) ?? ""
        try #require(hex.count > 2000, "QUIC vector not found")
        try Data(hex.utf8).write(to: URL(fileURLWithPath: "\(d)/quic-initial.hex"))
        let compile = Self.sh("\(Self.utmctl) defs compile --categories \(d)/ut1 -o \(d)/categories.db")
        try #require(compile.status == 0, "defs compile failed: \(compile.err)")
        try Data(#"{"level": "standard", "answerBlockedDNSWithNXDOMAIN": true}"#.utf8)
            .write(to: URL(fileURLWithPath: "\(d)/webfilter.json"))
        try Data(("""
            drop http any any -> any any (msg:"live2 drop"; content:"/ips-drop"; http_uri; sid:1000002; rev:1;)
            reject udp any any -> any 5999 (msg:"live2 udp reject"; sid:1000003; rev:1;)
            alert udp any any -> any 5997 (msg:"live2 udp scan"; content:"ping"; detection_filter:track by_src, count 5, seconds 600; sid:1000004; rev:1;)
            """).utf8)
            .write(to: URL(fileURLWithPath: "\(d)/local.rules"))
        let conf = """
            # LiveBridgeTests
            queues = 740-741
            mode = bridge
            zone.wan = l2bw
            zone.lan = l2bl l2bp
            zone.ssid2 = l2bg
            policy.ssid2.lan = deny
            rules = \(d)/local.rules
            av_db = \(d)/eicar.hdb
            categories = \(d)/categories.db
            webfilter = \(d)/webfilter.json
            eve = \(d)/eve.json
            """
        try Data(conf.utf8).write(to: URL(fileURLWithPath: "\(d)/utmd.conf"))

        // Servers: HTTP (dual stack), HTTPS (Python ssl over the same files), DNS, the printer.
        let cert = Self.sh("openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 1 -subj /CN=files.example -keyout \(d)/key.pem -out \(d)/cert.pem")
        try #require(cert.status == 0, "openssl: \(cert.err)")
        try Data("""
            import http.server, socket, ssl, threading
            class H(http.server.SimpleHTTPRequestHandler):
                def log_message(self, *a): pass
            class S6(http.server.ThreadingHTTPServer):
                address_family = socket.AF_INET6
            c = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER); c.load_cert_chain('\(d)/cert.pem', '\(d)/key.pem')
            def run(cls, addr):
                s = cls((addr, 8443), lambda *a: H(*a, directory='\(d)/www'))
                s.socket = c.wrap_socket(s.socket, server_side=True)
                s.serve_forever()
            threading.Thread(target=run, args=(S6, '\(Self.wan6)'), daemon=True).start()
            run(http.server.ThreadingHTTPServer, '\(Self.wan)')
            """.utf8).write(to: URL(fileURLWithPath: "\(d)/https.py"))
        try Data("""
            import socket, struct
            s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(('\(Self.wan)', 53))
            while True:
                q, a = s.recvfrom(512)
                end = 12
                while q[end]: end += q[end] + 1
                end += 5
                r = q[:2] + struct.pack('>HHHHH', 0x8180, 1, 1, 0, 0) + q[12:end] + b'\\xc0\\x0c' + struct.pack('>HHIH', 1, 1, 60, 4) + socket.inet_aton('\(Self.wan)')
                s.sendto(r, a)
            """.utf8).write(to: URL(fileURLWithPath: "\(d)/dns.py"))
        try Data("""
            import socket, struct, sys
            q = struct.pack('>HHHHHH', 0x1234, 0x0100, 1, 0, 0, 0) + b''.join(bytes([len(p)]) + p.encode() for p in sys.argv[1].split('.')) + b'\\0' + struct.pack('>HH', 1, 1)
            s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.settimeout(3); s.sendto(q, ('\(Self.wan)', 53))
            r = s.recv(512); print(r[3] & 15, struct.unpack('>H', r[6:8])[0])
            """.utf8).write(to: URL(fileURLWithPath: "\(d)/dnsq.py"))
        // UDP echo on port 5999 (both families) and 443 (QUIC), and a client that says what came back.
        try Data("""
            import socket, threading
            def serve(family, addr, port):
                s = socket.socket(family, socket.SOCK_DGRAM); s.bind((addr, port))
                while True:
                    m, a = s.recvfrom(4096); s.sendto(m, a)
            threading.Thread(target=serve, args=(socket.AF_INET6, '\(Self.wan6)', 5999), daemon=True).start()
            threading.Thread(target=serve, args=(socket.AF_INET, '\(Self.wan)', 443), daemon=True).start()
            serve(socket.AF_INET, '\(Self.wan)', 5999)
            """.utf8).write(to: URL(fileURLWithPath: "\(d)/udpecho.py"))
        try Data("""
            import socket, sys
            fam = socket.AF_INET6 if ':' in sys.argv[1] else socket.AF_INET
            s = socket.socket(fam, socket.SOCK_DGRAM); s.settimeout(3); s.connect((sys.argv[1], int(sys.argv[2])))
            m = bytes.fromhex(open(sys.argv[3]).read()) if len(sys.argv) > 3 else b'ping'
            s.send(m)
            try:
                print('echo' if s.recv(4096) == m else 'other')
            except ConnectionRefusedError:
                print('refused')
            except socket.timeout:
                print('timeout')
            """.utf8).write(to: URL(fileURLWithPath: "\(d)/udpq.py"))
        var servers: [Process] = []
        defer { for s in servers { s.terminate() } }
        servers.append(try Self.spawn(Self.inNS("l2-wan", ["python3", "-m", "http.server", "8080", "--bind", "::", "--directory", "\(d)/www"]), log: "\(d)/http.log"))
        servers.append(try Self.spawn(Self.inNS("l2-wan", ["python3", "\(d)/https.py"]), log: "\(d)/https.log"))
        servers.append(try Self.spawn(Self.inNS("l2-wan", ["python3", "\(d)/dns.py"]), log: "\(d)/dns.log"))
        servers.append(try Self.spawn(Self.inNS("l2-wan", ["python3", "\(d)/udpecho.py"]), log: "\(d)/udpecho.log"))
        servers.append(try Self.spawn(Self.inNS("l2-ln2", ["python3", "-m", "http.server", "8081", "--bind", Self.printer, "--directory", "\(d)/printer"]), log: "\(d)/printer.log"))
        let http = "http://files.example:8080", https = "https://files.example:8443"
        #expect(Self.waitFor(10) {
            Self.curl("-o /dev/null \(http)/ips-drop.html", seconds: 2).status == 0
                && Self.curl("-k -o /dev/null \(https)/ips-drop.html", seconds: 2).status == 0
                && Self.curl("-o /dev/null http://\(Self.printer):8081/status.txt", ns: "l2-gst", seconds: 2).status == 0
                && Self.sh("ip netns exec l2-lan python3 \(d)/udpq.py \(Self.wan6) 5999", seconds: 5).out.hasPrefix("echo")
                && Self.sh("ip netns exec l2-lan python3 \(d)/udpq.py \(Self.wan) 443 \(d)/quic-initial.hex", seconds: 5).out.hasPrefix("echo")
        }, "servers not reachable through the bridge without utmd")

        // Bad configuration: one line, exit 1, nothing installed.
        func bad(_ extra: String, _ expected: String) {
            let path = "\(d)/bad.conf"
            try? Data((conf.replacingOccurrences(of: "\(d)/eve.json", with: "\(d)/bad-eve.json") + "\n" + extra).utf8)
                .write(to: URL(fileURLWithPath: path))
            let r = Self.sh("ip netns exec l2-box \(Self.utmd) --config \(path)")
            let lines = r.err.split(separator: "\n").filter { !$0.hasPrefix("utmd: antivirus") && !$0.hasPrefix("utmd: rules") }
            #expect(r.status == 1 && lines.count == 1 && r.err.contains(expected),
                    "bad config \(extra): status \(r.status), stderr \(r.err)")
            #expect(Self.sh("ip netns exec l2-box iptables -S MIMAMORI").status != 0, "bad config \(extra) installed rules")
        }
        bad("zone.ssid1 = l2nosuch", "unknown interface l2nosuch")
        bad("zone.ssid1 = l2bl", "in zone lan already")
        bad("policy.ssid1.lan = deny", "zone ssid1 has no interfaces")
        bad("zone.ssid1 = l2br", "not a bridge port")
        try Data("suppress gen_id 1, sig_id 1000001, track by_dst, ip 10.0.0.0/8\nsuppress gen_id 1, sig_id x\n".utf8)
            .write(to: URL(fileURLWithPath: "\(d)/bad-threshold.config"))
        bad("threshold_file = \(d)/bad-threshold.config", "bad-threshold.config:2:")
        bad("threshold_file = \(d)/no-such-threshold.config", "threshold_file: cannot read")

        // utmd in the box.
        func startUtmd(_ log: String) throws -> Process {
            let p = try Self.spawn(Self.inNS("l2-box", [Self.utmd, "--config", "\(d)/utmd.conf"]), log: log)
            let up = Self.waitFor(20) { Self.read(log).contains("utmd: running") || !p.isRunning }
            try #require(up && p.isRunning, "utmd did not start: \(Self.read(log))")
            return p
        }
        var daemon = try startUtmd("\(d)/utmd.log")
        defer { if daemon.isRunning { kill(daemon.processIdentifier, SIGKILL) } }
        let chain = Self.sh("ip netns exec l2-box iptables -S MIMAMORI").out
        #expect(chain.contains("--physdev-in l2bw --physdev-out l2bl") && chain.contains("queue-bypass")
                && chain.contains("--physdev-in l2bg --physdev-out l2bl") && chain.contains("-j DROP")
                && !chain.contains("--physdev-in l2bl --physdev-out l2bp"), "rules: \(chain)")
        #expect(Self.sh("ip netns exec l2-box ip6tables -S MIMAMORI").out.contains("NFQUEUE"), "no IPv6 rules")

        // A second daemon on the same queues: one line, exit 1, the first keeps its rules.
        let taken = Self.sh("ip netns exec l2-box \(Self.utmd) --config \(d)/utmd.conf")
        #expect(taken.status == 1 && taken.err.contains("nfqueue 740"), "queue taken: \(taken.status) \(taken.err)")
        #expect(Self.sh("ip netns exec l2-box iptables -S MIMAMORI").status == 0, "the second daemon removed the rules")
        let check = Self.sh("ip netns exec l2-box \(Self.utmd) --config \(d)/utmd.conf --check")
        #expect(check.status == 1 && check.err.contains("nfqueue 740"), "--check with the queue taken: \(check.status) \(check.err)")

        // 1. Clean downloads arrive byte-identical, over HTTP, HTTPS and IPv6.
        for (name, args) in [("http", "\(http)/clean.bin"), ("https", "-k \(https)/clean.bin"),
                             ("ipv6", "-g 'http://[\(Self.wan6)]:8080/clean.bin'")] {
            let got = Self.curl("-o \(d)/got-\(name).bin -w '%{http_code}' \(args)", seconds: 20)
            #expect(got.out == "200" && (try? Data(contentsOf: URL(fileURLWithPath: "\(d)/got-\(name).bin"))) == Data(clean),
                    "clean \(name) download: \(got.out) \(got.err)")
        }

        // 2. The EICAR download is cut: the client never holds the file.
        let av = Self.curl("-o \(d)/eicar.got \(http)/eicar.com", seconds: 5)
        #expect(av.status != 0 && !Self.read("\(d)/eicar.got").contains("EICAR"), "EICAR arrived: \(av.status) \(av.err)")

        // 3. The IPS drop rule drops.
        let dropped = Self.curl("-o /dev/null -w '%{http_code}' \(http)/ips-drop.html", seconds: 3)
        #expect(dropped.status != 0 && dropped.out != "200", "IPS drop: \(dropped.out)")

        // 4. A blocked category: block page over HTTP (IPv4 and IPv6), reset over HTTPS, NXDOMAIN in DNS.
        let page = Self.curl("-o \(d)/page.html -w '%{http_code}' http://casino.example:8080/clean.bin")
        #expect(page.out == "403" && Self.read("\(d)/page.html").contains("gambling"), "block page: \(page.out) \(page.err)")
        let page6 = Self.curl("-g -o \(d)/page6.html -w '%{http_code}' -H 'Host: casino.example' 'http://[\(Self.wan6)]:8080/clean.bin'")
        #expect(page6.out == "403" && Self.read("\(d)/page6.html").contains("gambling"), "IPv6 block page: \(page6.out) \(page6.err)")
        let reset = Self.curl("-k -o /dev/null -w '%{http_code}' https://casino.example:8443/clean.bin", seconds: 5)
        // 35: TLS handshake failed (reset), 56: receive failure; never a timeout (28) or a page.
        #expect(reset.status == 35 || reset.status == 56, "HTTPS to a blocked category: \(reset.status) \(reset.err)")
        let over6 = "ip netns exec l2-lan curl -sS -k --noproxy '*' -m 10 --resolve 'casino.example:8443:[\(Self.wan6)]' --resolve 'files.example:8443:[\(Self.wan6)]'"
        let reset6 = Self.sh("\(over6) -o /dev/null https://casino.example:8443/clean.bin")
        #expect(reset6.status == 35 || reset6.status == 56, "HTTPS over IPv6 to a blocked category: \(reset6.status) \(reset6.err)")
        let clean6 = Self.sh("\(over6) -o \(d)/got-https6.bin https://files.example:8443/clean.bin")
        #expect(clean6.status == 0 && (try? Data(contentsOf: URL(fileURLWithPath: "\(d)/got-https6.bin"))) == Data(clean),
                "clean HTTPS download over IPv6: \(clean6.err)")
        #expect(Self.dns(d, "l2-lan", "casino.example") == "3 0", "DNS for a blocked name: \(Self.dns(d, "l2-lan", "casino.example"))")
        #expect(Self.dns(d, "l2-lan", "files.example") == "0 1", "DNS for a clean name")

        // An IPS reject of UDP: ICMP / ICMPv6 port unreachable to the client, nothing reaches the server.
        for server in [Self.wan, Self.wan6] {
            let udp = Self.sh("ip netns exec l2-lan python3 \(d)/udpq.py \(server) 5999", seconds: 8).out
                .trimmingCharacters(in: .whitespacesAndNewlines)
            #expect(udp == "refused", "UDP reject to \(server): \(udp)")
        }

        // A host's attempts count together whichever of the two queues' workers sees them: one
        // datagram to each of eight WAN addresses (the kernel spreads queues 740-741 by address
        // pair) against `detection_filter: track by_src, count 5` alert on the 6th, 7th and 8th
        // (and a 9th after two reloads; checked in EVE below). Per worker, as before session 8,
        // each saw about four: none.
        for k in 101 ... 108 {
            _ = Self.sh("ip netns exec l2-lan python3 \(d)/udpq.py 10.74.0.\(k) 5997", seconds: 5)
        }

        // QUIC Initial with a blocked SNI: dropped silently (no answer), so browsers fall back to TCP.
        let quic = Self.sh("ip netns exec l2-lan python3 \(d)/udpq.py \(Self.wan) 443 \(d)/quic-initial.hex", seconds: 8).out
            .trimmingCharacters(in: .whitespacesAndNewlines)
        #expect(quic == "timeout", "QUIC Initial to a blocked name: \(quic)")

        // 5. The box's own traffic is never queued: it reaches the blocked host unfiltered.
        let own = Self.curl("-o /dev/null -w '%{http_code}' http://casino.example:8080/ips-drop.html", ns: "l2-box")
        #expect(own.out == "200", "the box's own request was filtered: \(own.out) \(own.err)")
        #expect(Self.dns(d, "l2-box", "casino.example") == "0 1", "the box's own DNS was filtered")

        // 6. The zone matrix: guest → LAN denied; guest → WAN inspected; LAN → LAN not queued.
        let denied = Self.curl("-o /dev/null http://\(Self.printer):8081/status.txt", ns: "l2-gst", seconds: 3)
        #expect(denied.status != 0, "guest reached the LAN printer")
        let guestWeb = Self.curl("-o /dev/null -w '%{http_code}' http://casino.example:8080/clean.bin", ns: "l2-gst")
        #expect(guestWeb.out == "403", "guest → WAN not inspected: \(guestWeb.out)")
        let office = Self.curl("-o /dev/null -w '%{http_code}' http://\(Self.printer):8081/status.txt")
        #expect(office.out == "200", "LAN → LAN printer: \(office.out) \(office.err)")

        // 7. SIGHUP during a download: definitions swap, the download completes intact.
        let hup = try Self.spawn(Self.inNS("l2-lan", ["curl", "-sS", "-m", "20", "--limit-rate", "1500k", "-o", "\(d)/hup.bin"]
                                        + Self.resolve.split(separator: " ").map(String.init) + ["\(http)/clean.bin"]),
                                 log: "\(d)/curl-hup.log")
        usleep(600_000)
        kill(daemon.processIdentifier, SIGHUP)
        hup.waitUntilExit()
        #expect(hup.terminationStatus == 0 && (try? Data(contentsOf: URL(fileURLWithPath: "\(d)/hup.bin"))) == Data(clean),
                "download across SIGHUP failed or differs: \(Self.read("\(d)/curl-hup.log"))")
        #expect(Self.waitFor(3) { Self.read("\(d)/utmd.log").contains("definitions reloaded") }, "no reload")

        // A request split by a SIGHUP: its first line before, the rest (and the whole download)
        // after. The running engines adopt the new definitions and keep their flows: one flow
        // record, the request parsed, the file scanned whole. (A whole-engine swap ended the flow
        // at the reload and picked the rest up mid-stream: two records, no request, no file.)
        try Data("""
            import os, socket, sys, time
            s = socket.create_connection((sys.argv[1], 8080), timeout=10, source_address=("", 45123))
            s.sendall(b"GET /clean.bin HTTP/1.1\\r\\n")
            print("half", flush=True)
            while not os.path.exists(sys.argv[2]):
                time.sleep(0.05)
            s.sendall(b"Host: files.example\\r\\nUser-Agent: split-by-reload\\r\\n\\r\\n")
            n = 0
            while True:
                b = s.recv(65536)
                if not b:
                    break
                n += len(b)
            print("got", n, flush=True)
            """.utf8).write(to: URL(fileURLWithPath: "\(d)/split.py"))
        let reloadsBefore = Self.read("\(d)/utmd.log").components(separatedBy: "flows kept").count
        let split = try Self.spawn(Self.inNS("l2-lan", ["python3", "\(d)/split.py", Self.wan, "\(d)/split.go"]), log: "\(d)/split.log")
        #expect(Self.waitFor(5) { Self.read("\(d)/split.log").contains("half") }, "split request: \(Self.read("\(d)/split.log"))")
        kill(daemon.processIdentifier, SIGHUP)
        #expect(Self.waitFor(10) { Self.read("\(d)/utmd.log").components(separatedBy: "flows kept").count >= reloadsBefore + 2 },
                "no reload keeping flows: \(Self.read("\(d)/utmd.log"))")
        FileManager.default.createFile(atPath: "\(d)/split.go", contents: Data())
        split.waitUntilExit()
        let received = Self.read("\(d)/split.log").components(separatedBy: "got ").last.flatMap { Int($0.prefix { $0.isNumber }) } ?? 0
        #expect(received > clean.count, "split request: \(Self.read("\(d)/split.log"))")

        // SIGHUP with a new zone policy: the chain is replaced, the guest may now reach the printer.
        try Data(conf.replacingOccurrences(of: "policy.ssid2.lan = deny", with: "policy.ssid2.lan = pass").utf8)
            .write(to: URL(fileURLWithPath: "\(d)/utmd.conf"))
        kill(daemon.processIdentifier, SIGHUP)
        #expect(Self.waitFor(10) { Self.read("\(d)/utmd.log").contains("zone policy replaced") }, "no policy reload: \(Self.read("\(d)/utmd.log"))")
        let allowed = Self.curl("-o /dev/null -w '%{http_code}' http://\(Self.printer):8081/status.txt", ns: "l2-gst", seconds: 5)
        #expect(allowed.out == "200", "guest → printer after the policy became pass: \(allowed.out) \(allowed.err)")

        // The detection_filter count survived both reloads (carried over): a 9th attempt alerts.
        _ = Self.sh("ip netns exec l2-lan python3 \(d)/udpq.py 10.74.0.101 5997", seconds: 5)

        // EVE: LAN → WAN and guest → WAN inspected; LAN → LAN printer never seen.
        kill(daemon.processIdentifier, SIGTERM)
        #expect(Self.waitFor(10) { !daemon.isRunning }, "utmd did not stop on SIGTERM")
        #expect(daemon.terminationStatus == 0, "utmd exit status \(daemon.terminationStatus)")
        let eve = Self.read("\(d)/eve.json")
        #expect(eve.contains("\"src_ip\":\"10.74.0.10\"") && eve.contains("\"src_ip\":\"10.74.0.20\""), "inspected pairs missing in EVE")
        // The guest's connections to the printer were never queued either (denied, then pass).
        #expect(!eve.contains("\"dest_ip\":\"10.74.0.11\"") && !eve.contains("\"src_ip\":\"10.74.0.11\""),
                "same-zone or pass traffic was queued: \(eve.split(separator: "\n").filter { $0.contains("10.74.0.11") }.prefix(3))")
        #expect(eve.contains("\"signature_id\":1000002"), "no IPS alert")
        let scans = eve.split(separator: "\n").filter { $0.contains("\"signature_id\":1000004") }.count
        #expect(scans == 4, "detection_filter across workers and reloads: \(scans) alerts, expected 4")
        #expect(eve.contains("Eicar-Test-Signature"), "no antivirus event")
        let splitFlow = eve.split(separator: "\n").filter { $0.contains("\"src_port\":45123") || $0.contains("\"dest_port\":45123") }
        let splitRecords = splitFlow.filter { $0.contains("\"event_type\":\"flow\"") }
        #expect(splitRecords.count == 1 && !splitRecords[0].contains("midstream"), "request split by a reload: \(splitRecords)")
        #expect(splitFlow.contains { $0.contains("\"event_type\":\"http\"") && $0.contains("split-by-reload") },
                "request split by a reload not parsed: \(splitFlow)")
        #expect(splitFlow.contains { $0.contains("\"event_type\":\"fileinfo\"") && $0.contains("\"size\":\(clean.count)") && $0.contains("CLOSED") },
                "file after a reload not scanned whole: \(splitFlow)")
        #expect(eve.contains("\"event_type\":\"quic\"") && eve.contains("\"sni\":\"example.com\""), "no quic event")
        // The HTTPS download was bypassed after its handshake.
        let bypassed = Self.read("\(d)/utmd.log").split(separator: "\n").filter { $0.contains(" accepted (") }
            .compactMap { line -> Int? in
                guard let r = line.range(of: "accepted (") else { return nil }
                return Int(line[r.upperBound...].prefix { $0.isNumber })
            }.reduce(0, +)
        #expect(bypassed > 0, "no packet carried the bypass mark: \(Self.read("\(d)/utmd.log"))")
        #expect(Self.sh("ip netns exec l2-box iptables -S MIMAMORI").status != 0, "MIMAMORI chain left behind")

        // 8. SIGKILL under traffic: queue bypass keeps traffic flowing; restarting resumes.
        daemon = try startUtmd("\(d)/utmd2.log")
        let during = try Self.spawn(Self.inNS("l2-lan", ["curl", "-sS", "-m", "20", "--limit-rate", "1500k", "-o", "\(d)/kill.bin"]
                                           + Self.resolve.split(separator: " ").map(String.init) + ["\(http)/clean.bin"]),
                                    log: "\(d)/curl-kill.log")
        usleep(600_000)
        kill(daemon.processIdentifier, SIGKILL)
        daemon.waitUntilExit()
        during.waitUntilExit()
        #expect(during.terminationStatus == 0 && (try? Data(contentsOf: URL(fileURLWithPath: "\(d)/kill.bin"))) == Data(clean),
                "download across SIGKILL failed or differs: \(Self.read("\(d)/curl-kill.log"))")
        let open = Self.curl("-o /dev/null -w '%{http_code}' http://casino.example:8080/ips-drop.html")
        #expect(open.out == "200", "without utmd traffic should pass uninspected: \(open.out) \(open.err)")
        daemon = try startUtmd("\(d)/utmd3.log")
        let jumps = Self.sh("ip netns exec l2-box iptables -S FORWARD").out.components(separatedBy: "-j MIMAMORI").count - 1
        #expect(jumps == 1, "FORWARD should jump to MIMAMORI once, not \(jumps) times")
        let again = Self.curl("-o /dev/null -w '%{http_code}' http://casino.example:8080/clean.bin")
        #expect(again.out == "403", "after restart: \(again.out) \(again.err)")
        kill(daemon.processIdentifier, SIGTERM)
        #expect(Self.waitFor(10) { !daemon.isRunning }, "utmd did not stop")
    }

    /// Configuration errors that need no network: one line naming file and line, exit 1.
    @Test func badConfigurationsAreOneLine() throws {
        guard FileManager.default.isExecutableFile(atPath: Self.utmd) else { Self.skipOrFail("\(Self.utmd) not built"); return }
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("live2-bad-\(getpid()).conf").path
        defer { try? FileManager.default.removeItem(atPath: path) }
        for (text, expected) in [
            ("queues = 745\nmode = router\nzone.lan = lo\nzone.wan = lo\n", ":4: interface lo is in zone lan already"),
            ("queues = 745\nmode = router\nzone.guest = lo\n", ":3: unknown zone guest"),
            ("queues = 745\nmode = router\nzone.lan = lo\npolicy.lan.lan = deny\n", ":4: policy.lan.lan: traffic inside one zone"),
            ("queues = 745\nmode = router\nzone.lan = lo\npolicy.wan.lan = block\n", ":4: policy.wan.lan must be inspect, pass or deny"),
            ("queues = 745\nmode = router\nzone.lan = lo;rm\n", ":3: lo;rm is not an interface name"),
            ("queues = 745\nmode = router\nbypass_mark = 3\n", ":3: bypass_mark must be one bit"),
            ("queues = 745\nmode = router\nflow_table_policy = sometimes\n", ":3: flow_table_policy: 'sometimes' is not one of auto, ignore"),
            ("queues = 745\nmode = router\nzone.lan = l2-no-such\n", "unknown interface l2-no-such"),
        ] {
            try Data(text.utf8).write(to: URL(fileURLWithPath: path))
            let r = Self.sh("\(Self.utmd) --config \(path) --check")
            #expect(r.status == 1 && r.err.split(separator: "\n").count == 1 && r.err.contains(expected),
                    "\(text): status \(r.status), stderr \(r.err)")
        }
        try Data("queues = 745\nmode = router\nzone.lan = lo\n".utf8).write(to: URL(fileURLWithPath: path))
        let ok = Self.sh("\(Self.utmd) --config \(path) --check")
        #expect(ok.status == 0 && ok.err.contains("configuration ok"), "good config: \(ok.err)")
    }
}
