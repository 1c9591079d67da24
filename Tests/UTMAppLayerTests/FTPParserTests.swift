import Testing
import UTMCore
@testable import UTMAppLayer

/// The FTP control-channel parser: commands and replies split anywhere, multi-line replies,
/// data-channel ports, the line cap, gaps, pipelining and AUTH TLS.
@Suite struct FTPParserTests {
    /// One direction's bytes, in the order they were sent.
    typealias Script = [(Direction, String)]

    /// A transaction as text: `COMMAND arg -> 150,226 [port] reply-lines`.
    static func summary(_ tx: FTPTransaction) -> String {
        var s = ""
        if tx.hasCommand {
            s += tx.withField(tx.commandName) { String(decoding: $0.bytes, as: UTF8.self) }
            if tx.argument.isPresent { s += " " + tx.withField(tx.argument) { String(decoding: $0.bytes, as: UTF8.self) } }
        } else {
            s += "-"
        }
        let lines = tx.replyLines.map { f in tx.withField(f) { String(decoding: $0.bytes, as: UTF8.self) } }
        s += " -> " + lines.joined(separator: "|")
        if tx.dynamicPort != 0 { s += " port \(tx.dynamicPort)" + (tx.active ? " active" : "") }
        if !tx.replyReceived { s += " (no reply)" }
        if tx.replyTruncated { s += " (reply truncated)" }
        if tx.commandTruncated { s += " (command truncated)" }
        return s
    }

    /// Feeds every direction's bytes in pieces of `chunk` bytes (0: whole), returns the summaries.
    static func run(_ script: Script, chunk: Int = 0, config: FTPConfig = .init(),
                    parser: inout FTPParser) -> [String] {
        var out: [String] = []
        for (dir, text) in script {
            let bytes = Array(text.utf8)
            var at = 0
            repeat {
                let n = chunk == 0 ? bytes.count : min(chunk, bytes.count - at)
                Array(bytes[at ..< at + n]).withByteView { v in
                    parser.feed(v, direction: dir, gap: false) { out.append(summary($0)) }
                }
                at += n
            } while at < bytes.count
        }
        parser.finish { out.append(summary($0)) }
        return out
    }

    static func run(_ script: Script, chunk: Int = 0, config: FTPConfig = .init()) -> [String] {
        var p = FTPParser(config: config)
        return run(script, chunk: chunk, config: config, parser: &p)
    }

    /// The session of nDPI's ftp.pcap (vsFTPd 3.0.3), as tshark dissects it.
    static let session: Script = [
        (.toClient, "220 (vsFTPd 3.0.3)\r\n"),
        (.toServer, "USER anonymous\r\n"), (.toClient, "331 Please specify the password.\r\n"),
        (.toServer, "PASS NcFTP@\r\n"), (.toClient, "230 Login successful.\r\n"),
        (.toServer, "FEAT\r\n"), (.toClient, "211-Features:\r\n EPRT\r\n EPSV\r\n PASV\r\n211 End\r\n"),
        (.toServer, "PASV\r\n"), (.toClient, "227 Entering Passive Mode (90,130,70,73,100,85).\r\n"),
        (.toServer, "RETR 1MB.zip\r\n"),
        (.toClient, "150 Opening BINARY mode data connection for 1MB.zip (1048576 bytes).\r\n226 Transfer complete.\r\n"),
        (.toServer, "EPSV\r\n"), (.toClient, "229 Entering Extended Passive Mode (|||40001|)\r\n"),
        (.toServer, "EPRT |1|132.235.1.2|6275|\r\n"), (.toClient, "200 EPRT command successful.\r\n"),
        (.toServer, "port 192,168,1,10,4,1\r\n"), (.toClient, "200 PORT command successful.\r\n"),
        (.toServer, "QUIT\r\n"), (.toClient, "221 Goodbye.\r\n"),
    ]

    static let expected = [
        "- -> 220 (vsFTPd 3.0.3)",
        "USER anonymous -> 331 Please specify the password.",
        "PASS NcFTP@ -> 230 Login successful.",
        "FEAT -> 211-Features:| EPRT| EPSV| PASV|211 End",
        "PASV -> 227 Entering Passive Mode (90,130,70,73,100,85). port 25685",
        "RETR 1MB.zip -> 150 Opening BINARY mode data connection for 1MB.zip (1048576 bytes).|226 Transfer complete.",
        "EPSV -> 229 Entering Extended Passive Mode (|||40001|) port 40001",
        "EPRT |1|132.235.1.2|6275| -> 200 EPRT command successful. port 6275 active",
        "PORT 192,168,1,10,4,1 -> 200 PORT command successful. port 1025 active",
        "QUIT -> 221 Goodbye.",
    ]

    @Test func sessionInAnySplit() {
        #expect(Self.run(Self.session) == Self.expected)
        for chunk in [1, 2, 3, 5, 7, 13] {
            #expect(Self.run(Self.session, chunk: chunk) == Self.expected, "chunk \(chunk)")
        }
    }

    @Test func truncatedSessionNeverTrapsAndLendsOpenCommands() {
        let all = Self.session.flatMap { (d, t) in Array(t.utf8).map { (d, $0) } }
        for cut in stride(from: 0, through: all.count, by: 3) {
            var p = FTPParser()
            var n = 0
            for (d, b) in all.prefix(cut) {
                [b].withByteView { v in p.feed(v, direction: d, gap: false) { _ in n += 1 } }
            }
            p.finish { _ in n += 1 }
            #expect(n <= Self.expected.count)
        }
    }

    @Test func commandStateForBounce() {
        var p = FTPParser()
        _ = Self.run([(.toServer, "PORT 10,0,0,99,4,1\r\n")], parser: &p)
        #expect(p.lastCommand == .port && p.lastPortAddress == 0x0a00_0063)
        var q = FTPParser()
        _ = Self.run([(.toServer, "PORT 10,0,0,999,4,1\r\n")], parser: &q)
        #expect(q.lastCommand == .port && q.lastPortAddress == nil)
        var r = FTPParser()
        _ = Self.run([(.toServer, "PORT 10,0,0,99,4,1\r\nNOOP\r\n")], parser: &r)
        #expect(r.lastCommand == .other && r.lastPortAddress == nil)
        let spaced = Array(" 1, 2 ,3,4,5,6".utf8).withByteView { FTPParser.parseHostPort($0) }
        #expect(spaced?.0 == 0x0102_0304 && spaced?.1 == 0x0506)
        #expect(Array("1,2,3,4,5".utf8).withByteView { FTPParser.parseHostPort($0) } == nil)
    }

    @Test func longLinesAreCutNotGrown() {
        var c = FTPConfig()
        c.maxLine = 16
        c.maxTransactionBytes = 64
        let long = String(repeating: "A", count: 100)
        let out = Self.run([(.toServer, "STOR \(long)\r\n"), (.toClient, "226 \(long)\r\n")], chunk: 7, config: c)
        #expect(out.count == 1)
        #expect(out.first?.hasPrefix("STOR AAAAAAAAAAA -> 226 AAAAAAAAAAAA") == true)
        #expect(out.first?.contains("(reply truncated)") == true && out.first?.contains("(command truncated)") == true)
        // Whole in one piece too.
        #expect(Self.run([(.toServer, "STOR \(long)\r\n"), (.toClient, "226 \(long)\r\n")], config: c) == out)
    }

    @Test func gapDropsTheLineInProgress() {
        var p = FTPParser()
        var out: [String] = []
        Array("USER al".utf8).withByteView { v in p.feed(v, direction: .toServer, gap: false) { out.append(Self.summary($0)) } }
        Array("ice\r\nUSER bob\r\n".utf8).withByteView { v in p.feed(v, direction: .toServer, gap: true) { out.append(Self.summary($0)) } }
        Array("331 ok\r\n".utf8).withByteView { v in p.feed(v, direction: .toClient, gap: false) { out.append(Self.summary($0)) } }
        #expect(out == ["USER bob -> 331 ok"])
        #expect(p.events.contains(.gap))
    }

    @Test func pipelinedCommandsAndOverflow() {
        var c = FTPConfig()
        c.maxPending = 2
        let out = Self.run([(.toServer, "NOOP\r\nNOOP\r\nSYST\r\n"), (.toClient, "200 a\r\n200 b\r\n")], config: c)
        #expect(out == ["NOOP ->  (no reply)", "NOOP -> 200 a", "SYST -> 200 b"])
    }

    @Test func authTLSStopsTheParser() {
        var p = FTPParser()
        let out = Self.run([(.toClient, "220-Hello\r\n220 there\r\n"), (.toServer, "AUTH TLS\r\n"),
                            (.toClient, "234 Proceed with negotiation.\r\n"), (.toServer, "\u{16}\u{03}\u{01}junk\r\nUSER x\r\n")],
                           parser: &p)
        #expect(out == ["- -> 220-Hello|220 there", "AUTH TLS -> 234 Proceed with negotiation."])
        #expect(p.encrypted)
    }

    @Test func probe() {
        #expect(Array("220 (vsFTPd 3.0.3)\r\n".utf8).withByteView { FTPParser.probeGreeting($0) })
        #expect(Array("220-multi\r\n".utf8).withByteView { FTPParser.probeGreeting($0) })
        #expect(!Array("230 ok".utf8).withByteView { FTPParser.probeGreeting($0) })
        #expect(!Array("22".utf8).withByteView { FTPParser.probeGreeting($0) })
    }
}
