import Testing
import UTMCore
@testable import UTMAppLayer

/// PostgreSQL protocol 3 messages built after the PostgreSQL documentation's "Message Formats".
enum PgBuild {
    static func be32(_ v: Int) -> [UInt8] { [UInt8(v >> 24 & 0xff), UInt8(v >> 16 & 0xff), UInt8(v >> 8 & 0xff), UInt8(v & 0xff)] }
    static func be16(_ v: Int) -> [UInt8] { [UInt8(v >> 8 & 0xff), UInt8(v & 0xff)] }
    static func cstr(_ s: String) -> [UInt8] { Array(s.utf8) + [0] }
    static func msg(_ type: Character, _ body: [UInt8]) -> [UInt8] { [type.asciiValue!] + be32(body.count + 4) + body }
    static func untyped(_ body: [UInt8]) -> [UInt8] { be32(body.count + 4) + body }

    static let sslRequest = untyped(be32(80_877_103))
    static let startup = untyped(be32(0x0003_0000) + cstr("user") + cstr("sato") + cstr("database") + cstr("office")
                                 + cstr("application_name") + cstr("psql") + [0])
    static func query(_ q: String) -> [UInt8] { msg("Q", cstr(q)) }
    static let terminate = msg("X", [])

    static let authOK = msg("R", be32(0))
    static func status(_ n: String, _ v: String) -> [UInt8] { msg("S", cstr(n) + cstr(v)) }
    static let keyData = msg("K", be32(4242) + be32(99))
    static let ready = msg("Z", [UInt8(ascii: "I")])
    static func complete(_ tag: String) -> [UInt8] { msg("C", cstr(tag)) }
    static let rowDescription = msg("T", be16(2) + cstr("name") + [UInt8](repeating: 0, count: 18)
                                    + cstr("email") + [UInt8](repeating: 0, count: 18))
    static func row(_ values: [String?]) -> [UInt8] {
        var b = be16(values.count)
        for v in values {
            if let v { b += be32(v.utf8.count) + Array(v.utf8) } else { b += be32(-1 & 0xffff_ffff) }
        }
        return msg("D", b)
    }
    static let error = msg("E", [UInt8(ascii: "S")] + cstr("ERROR") + [UInt8(ascii: "V")] + cstr("ERROR")
                           + [UInt8(ascii: "C")] + cstr("22012") + [UInt8(ascii: "M")] + cstr("division by zero")
                           + [UInt8(ascii: "R")] + cstr("int4div") + [0])

    /// A whole session: SSL refused, trust login, a select with two rows (one NULL), an error,
    /// terminate. The client's and the server's bytes, in the order they are sent.
    static let session: [(Direction, [UInt8])] = [
        (.toServer, sslRequest), (.toClient, [UInt8(ascii: "N")]),
        (.toServer, startup),
        (.toClient, authOK + status("server_version", "16.1") + status("TimeZone", "Asia/Tokyo") + keyData + ready),
        (.toServer, query("SELECT name, email FROM staff;")),
        (.toClient, rowDescription + row(["Sato", "sato@example.jp"]) + row(["Ito", nil]) + complete("SELECT 2") + ready),
        (.toServer, query("SELECT 1/0;")),
        (.toClient, error + ready),
        (.toServer, terminate),
    ]
}

/// What a test compares of a transaction (copied out of the parser's store).
struct PgTx: Equatable, CustomStringConvertible {
    var id: UInt64, kind: PgSQLRequestKind, query: String?, tag: String?, code: String?
    var rows: UInt64, size: UInt64, fields: Int?, params: [String], ssl: UInt8, truncated: Bool
    init(_ p: borrowing PgSQLParser) {
        let t = p.tx
        id = t.id; kind = t.request; query = p.store.string(t.query); tag = p.store.string(t.commandCompleted)
        code = p.store.string(t.error.code); rows = t.dataRows; size = t.dataSize; fields = t.fieldCount
        ssl = t.sslAnswer; truncated = t.truncated
        params = (t.startupParameters.lowerBound ..< t.parameterStatus.upperBound).compactMap { i in
            p.withParameter(i) { n, v in String(decoding: n.bytes, as: UTF8.self) + "=" + String(decoding: v.bytes, as: UTF8.self) }
        }
    }
    var description: String { "#\(id) \(kind) \(query ?? "-") → \(tag ?? "-") \(code ?? "") rows \(rows)/\(size) \(params)" }
}

@Suite struct PgSQLParserTests {
    /// Feeds each piece of the session cut into `chunk`-byte segments (0: whole).
    func run(_ session: [(Direction, [UInt8])], chunk: Int = 0, config: PgSQLConfig = .init()) -> (PgSQLParser, [PgTx]) {
        var p = PgSQLParser(config: config)
        var out: [PgTx] = []
        for (d, bytes) in session {
            var i = 0
            while i < bytes.count {
                let n = chunk == 0 ? bytes.count : min(chunk, bytes.count - i)
                Array(bytes[i ..< i + n]).withByteView { v in p.feed(v, direction: d, gap: false) { out.append(PgTx($0)) } }
                i += n
            }
        }
        p.finish { out.append(PgTx($0)) }
        return (p, out)
    }

    @Test func session() {
        let (p, txs) = run(PgBuild.session)
        #expect(txs.count == 5, "\(txs)")
        guard txs.count == 5 else { return }
        #expect(txs[0].kind == .sslRequest && txs[0].ssl == UInt8(ascii: "N"))
        #expect(txs[1].kind == .startup)
        #expect(txs[1].params == ["user=sato", "database=office", "application_name=psql",
                                  "server_version=16.1", "TimeZone=Asia/Tokyo"])
        #expect(txs[2].query == "SELECT name, email FROM staff;" && txs[2].tag == "SELECT 2")
        #expect(txs[2].rows == 2 && txs[2].fields == 2 && txs[2].size == 4 + 15 + 3, "NULL counts nothing")
        #expect(txs[3].query == "SELECT 1/0;" && txs[3].code == "22012" && txs[3].tag == nil)
        #expect(txs[4].kind == .terminate, "logged at the end, with no answer")
        #expect(txs.map(\.id) == [1, 2, 3, 4, 5])
        #expect(p.malformed == 0 && !p.encrypted)
    }

    /// Any segmentation gives the same transactions: byte by byte and odd sizes.
    @Test func splitAnywhere() {
        let (_, whole) = run(PgBuild.session)
        for chunk in [1, 2, 3, 5, 7, 13] {
            let (_, split) = run(PgBuild.session, chunk: chunk)
            #expect(split == whole, "chunk \(chunk)")
        }
    }

    /// The client's stream cut at every length (the server's answers withheld after the cut):
    /// never a trap, never more transactions than the whole session, ids stay in order.
    @Test func truncatedAtEveryLength() {
        let client = PgBuild.session.filter { $0.0 == .toServer }.flatMap(\.1)
        for n in 0 ... client.count {
            var p = PgSQLParser()
            var ids: [UInt64] = []
            Array(client.prefix(n)).withByteView { p.feed($0, direction: .toServer, gap: false) { ids.append($0.tx.id) } }
            p.finish { ids.append($0.tx.id) }
            #expect(ids.count <= 1, "length \(n): a client alone completes nothing until the end")
        }
        let server = PgBuild.session.filter { $0.0 == .toClient }.flatMap(\.1)
        for n in 0 ... server.count {
            var p = PgSQLParser()
            var count = 0
            PgBuild.sslRequest.withByteView { p.feed($0, direction: .toServer, gap: false) { _ in count += 1 } }
            Array(server.prefix(n)).withByteView { p.feed($0, direction: .toClient, gap: false) { _ in count += 1 } }
            #expect(count <= 4, "length \(n)")
        }
    }

    /// A DataRow far larger than the buffer: read from its prefix, the rest skipped, the
    /// value bytes still counted and the transaction marked truncated.
    @Test func hugeRow() {
        var config = PgSQLConfig()
        config.maxMessageBuffer = 64
        let big = String(repeating: "x", count: 5000)
        let session: [(Direction, [UInt8])] = [
            (.toServer, PgBuild.query("SELECT blob FROM files;")),
            (.toClient, PgBuild.row([big, "ab"]) + PgBuild.complete("SELECT 1") + PgBuild.ready),
        ]
        for chunk in [0, 100, 1] {
            let (_, txs) = run(session, chunk: chunk, config: config)
            #expect(txs.count == 1)
            #expect(txs.first?.size == 5000 + 2, "chunk \(chunk): a cut row counts its remaining bytes less the column headers")
            #expect(txs.first?.tag == "SELECT 1")
            #expect(txs.first?.truncated == (chunk != 0), "one segment is read in place, whole")
        }
    }

    /// A length below the header's own size stops the direction; a gap does too.
    @Test func badLengthAndGap() {
        var p = PgSQLParser()
        var n = 0
        ([UInt8(ascii: "Q"), 0, 0, 0, 2] + PgBuild.query("SELECT 1;")).withByteView {
            p.feed($0, direction: .toServer, gap: false) { _ in n += 1 }
        }
        #expect(p.malformed == 1 && p.tx.query == .absent)
        var q = PgSQLParser()
        PgBuild.startup.withByteView { q.feed($0, direction: .toServer, gap: false) { _ in n += 1 } }
        PgBuild.query("SELECT 1;").withByteView { q.feed($0, direction: .toServer, gap: true) { _ in n += 1 } }
        #expect(q.tx.request == .startup && q.tx.requestMessages == 1, "nothing read after the gap")
        #expect(n == 0)
    }

    /// Picked up midway: the first client byte is a message type, not a startup length.
    @Test func midstream() {
        let (_, txs) = run([(.toServer, PgBuild.query("DELETE FROM t;")), (.toClient, PgBuild.complete("DELETE 3") + PgBuild.ready)])
        #expect(txs.count == 1 && txs.first?.query == "DELETE FROM t;" && txs.first?.tag == "DELETE 3")
    }

    /// SSL accepted: the parser stops (the rest is TLS).
    @Test func sslAccepted() {
        var p = PgSQLParser()
        var txs: [PgTx] = []
        PgBuild.sslRequest.withByteView { p.feed($0, direction: .toServer, gap: false) { txs.append(PgTx($0)) } }
        ([UInt8(ascii: "S")] + [0x16, 0x03, 0x01]).withByteView { p.feed($0, direction: .toClient, gap: false) { txs.append(PgTx($0)) } }
        #expect(p.encrypted && txs.count == 1 && txs.first?.ssl == UInt8(ascii: "S"))
    }

    /// A server that does not know SSLRequest answers with an ErrorResponse, then closes.
    @Test func sslRequestRefusedWithError() {
        let (p, txs) = run([(.toServer, PgBuild.sslRequest), (.toClient, PgBuild.error)])
        #expect(txs.count == 1 && txs.first?.kind == .sslRequest && txs.first?.code == "22012" && txs.first?.ssl == 0)
        #expect(p.malformed == 0 && !p.encrypted)
    }

    @Test func probe() {
        #expect(PgBuild.sslRequest.withByteView { PgSQLParser.probe($0, toServer: true, serverPort: 15432) })
        #expect(PgBuild.startup.withByteView { PgSQLParser.probe($0, toServer: true, serverPort: 6000) })
        #expect(PgBuild.query("SELECT 1;").withByteView { PgSQLParser.probe($0, toServer: true, serverPort: 5432) })
        #expect(!PgBuild.query("SELECT 1;").withByteView { PgSQLParser.probe($0, toServer: true, serverPort: 80) })
        #expect(PgBuild.ready.withByteView { PgSQLParser.probe($0, toServer: false, serverPort: 5432) })
        #expect(!Array("GET / HTTP/1.1\r\n".utf8).withByteView { PgSQLParser.probe($0, toServer: true, serverPort: 5432) })
        #expect(!([0, 0, 0, 8] + PgBuild.be32(1234)).withByteView { PgSQLParser.probe($0, toServer: true, serverPort: 5432) })
    }

    /// A pooled parser reused for the next flow starts from scratch.
    @Test func reset() {
        var p = PgSQLParser()
        PgBuild.startup.prefix(10).map { $0 }.withByteView { p.feed($0, direction: .toServer, gap: false) { _ in } }
        p.reset()
        var txs: [PgTx] = []
        for (d, b) in PgBuild.session { b.withByteView { p.feed($0, direction: d, gap: false) { txs.append(PgTx($0)) } } }
        #expect(txs.count == 4 && txs.first?.id == 1)
    }
}
