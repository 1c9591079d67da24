import Testing
import UTMCore
@testable import UTMAppLayer

/// SMB2 messages built after [MS-SMB2] 2.2 and NTLMSSP after [MS-NLMP] 2.2.1.3.
enum SMBBuild {
    static func le16(_ v: Int) -> [UInt8] { [UInt8(v & 0xff), UInt8(v >> 8 & 0xff)] }
    static func le32(_ v: Int) -> [UInt8] { le16(v & 0xffff) + le16(v >> 16 & 0xffff) }
    static func le64(_ v: UInt64) -> [UInt8] { le32(Int(v & 0xffff_ffff)) + le32(Int(v >> 32)) }
    static func utf16(_ s: String) -> [UInt8] { s.utf16.flatMap { le16(Int($0)) } }

    /// The 64-byte SMB2 header.
    static func header(command: Int, messageID: UInt64, response: Bool, status: Int = 0, tree: Int = 0,
                       session: UInt64 = 0, next: Int = 0) -> [UInt8] {
        [0xfe, 0x53, 0x4d, 0x42] + le16(64) + le16(1) + le32(status) + le16(command) + le16(1)
            + le32(response ? 1 : 0) + le32(next) + le64(messageID) + le32(0) + le32(tree) + le64(session)
            + [UInt8](repeating: 0, count: 16)
    }
    /// NetBIOS session message around SMB messages.
    static func record(_ smb: [UInt8]) -> [UInt8] { [0, UInt8(smb.count >> 16), UInt8(smb.count >> 8 & 0xff), UInt8(smb.count & 0xff)] + smb }

    static let negotiateRequest = record(header(command: 0, messageID: 0, response: false)
        + le16(36) + le16(3) + le16(1) + le16(0) + le32(0) + [UInt8](repeating: 0xab, count: 16) + le64(0)
        + le16(0x0202) + le16(0x0300) + le16(0x0311))
    static let negotiateResponse = record(header(command: 0, messageID: 0, response: true)
        + le16(65) + le16(1) + le16(0x0311) + le16(0)
        + [0x33, 0x22, 0x11, 0x00, 0x55, 0x44, 0x77, 0x66, 0x88, 0x99, 0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0xff]
        + [UInt8](repeating: 0, count: 40))

    /// SESSION_SETUP with a bare NTLMSSP AUTHENTICATE (Unicode) as the security buffer.
    static var sessionSetupRequest: [UInt8] {
        let domain = utf16("OFFICE"), user = utf16("sato"), host = utf16("PC-014")
        var ntlm: [UInt8] = Array("NTLMSSP".utf8) + [0] + le32(3)
        let payloadStart = 64 + 8
        var payload: [UInt8] = []
        func field(_ b: [UInt8]) -> [UInt8] {
            let f = le16(b.count) + le16(b.count) + le32(payloadStart + payload.count)
            payload += b
            return f
        }
        ntlm += field([]) + field([])                 // LM, NT responses
        ntlm += field(domain) + field(user) + field(host)
        ntlm += field([]) + le32(0x1)                 // session key, flags: UNICODE
        ntlm += [UInt8](repeating: 0, count: payloadStart - ntlm.count) + payload
        let body = le16(25) + [0, 1] + le32(0) + le32(0) + le16(64 + 24) + le16(ntlm.count) + le64(0)
        return record(header(command: 1, messageID: 1, response: false) + body + ntlm)
    }
    static let sessionSetupResponse = record(header(command: 1, messageID: 1, response: true, session: 0x1122)
        + le16(9) + le16(0) + le16(72) + le16(0))

    static var treeConnectRequest: [UInt8] {
        let path = utf16("\\\\files\\共有")
        return record(header(command: 3, messageID: 2, response: false, session: 0x1122)
            + le16(9) + le16(0) + le16(64 + 8) + le16(path.count) + path)
    }
    static let treeConnectResponse = record(header(command: 3, messageID: 2, response: true, tree: 7, session: 0x1122)
        + le16(16) + [1, 0] + le32(0) + le32(0) + le32(0x1f01ff))

    /// CREATE and CLOSE in one compound record (NextCommand), answered by one record with an
    /// error for the CREATE.
    static var compoundRequest: [UInt8] {
        let name = utf16("report.xlsx")
        var create = header(command: 5, messageID: 3, response: false, tree: 7, session: 0x1122, next: 0)
        create += le16(57) + [0, 0] + le32(2) + le64(0) + le64(0) + le32(0x80) + le32(0) + le32(7) + le32(1) + le32(0)
            + le16(64 + 56) + le16(name.count) + le32(0) + le32(0) + name
        while create.count % 8 != 0 { create.append(0) }
        let next = create.count
        create.replaceSubrange(20 ..< 24, with: le32(next))
        let close = header(command: 6, messageID: 4, response: false, tree: 7, session: 0x1122) + le16(24) + le16(0) + le32(0) + [UInt8](repeating: 0xff, count: 16)
        return record(create + close)
    }
    static let createResponse = record(header(command: 5, messageID: 3, response: true, status: 0xc000_0034, tree: 7, session: 0x1122) + le16(9) + [0, 0, 0, 0, 0, 0, 0])
    static let closeResponse = record(header(command: 6, messageID: 4, response: true, tree: 7, session: 0x1122) + le16(60) + [UInt8](repeating: 0, count: 58))

    static var session: [(Direction, [UInt8])] {
        [(.toServer, negotiateRequest), (.toClient, negotiateResponse),
         (.toServer, sessionSetupRequest), (.toClient, sessionSetupResponse),
         (.toServer, treeConnectRequest), (.toClient, treeConnectResponse),
         (.toServer, compoundRequest), (.toClient, createResponse + closeResponse)]
    }
}

struct SMBTx: Equatable, CustomStringConvertible {
    var id: UInt64, command: UInt16, status: UInt32, request: Bool, response: Bool, session: UInt64, tree: UInt32
    var share: String?, file: String?, user: String?, domain: String?, host: String?, guid: String?, dialects: [UInt16], dialect: UInt16
    init(_ p: borrowing SMBParser, _ t: SMBTransaction) {
        id = t.id; command = t.command; status = t.status; request = t.hasRequest; response = t.hasResponse
        session = t.sessionID; tree = t.treeID
        share = p.store.string(t.share); file = p.store.string(t.filename); user = p.store.string(t.ntlmUser)
        domain = p.store.string(t.ntlmDomain); host = p.store.string(t.ntlmHost); guid = p.store.string(t.serverGUID)
        dialects = t.clientDialects.map { p.dialects[$0] }; dialect = p.dialect
    }
    var description: String { "#\(id) cmd \(command) status \(status) \(share ?? "") \(file ?? "") \(user ?? "")" }
}

@Suite struct SMBParserTests {
    func run(_ session: [(Direction, [UInt8])], chunk: Int = 0, config: SMBConfig = .init()) -> (SMBParser, [SMBTx]) {
        var p = SMBParser(config: config)
        var out: [SMBTx] = []
        for (d, bytes) in session {
            var i = 0
            while i < bytes.count {
                let n = chunk == 0 ? bytes.count : min(chunk, bytes.count - i)
                Array(bytes[i ..< i + n]).withByteView { v in p.feed(v, direction: d, gap: false) { out.append(SMBTx($0, $1)) } }
                i += n
            }
        }
        p.finish { out.append(SMBTx($0, $1)) }
        return (p, out)
    }

    @Test func session() {
        let (p, txs) = run(SMBBuild.session)
        #expect(txs.count == 5, "\(txs)")
        guard txs.count == 5 else { return }
        #expect(txs[0].command == 0 && txs[0].dialects == [0x0202, 0x0300, 0x0311] && txs[0].dialect == 0x0311)
        #expect(txs[0].guid == "00112233-4455-6677-8899-aabbccddeeff")
        #expect(txs[1].command == 1 && txs[1].user == "sato" && txs[1].domain == "OFFICE" && txs[1].host == "PC-014")
        #expect(txs[1].session == 0x1122, "the session id comes with the response")
        #expect(txs[2].share == "\\\\files\\共有" && txs[2].tree == 7)
        #expect(txs[3].command == 5 && txs[3].file == "report.xlsx" && txs[3].status == 0xc000_0034)
        #expect(txs[4].command == 6 && txs[4].status == 0 && txs[4].request && txs[4].response)
        #expect(p.malformed == 0 && p.records == 9, "the CREATE+CLOSE compound is one record")
        #expect(SMBNames.status(0xc000_0034)?.description == "STATUS_OBJECT_NAME_NOT_FOUND")
        #expect(SMBNames.command(version: 2, 3).description == "SMB2_COMMAND_TREE_CONNECT")
    }

    /// Any segmentation gives the same transactions.
    @Test func splitAnywhere() {
        let (_, whole) = run(SMBBuild.session)
        for chunk in [1, 2, 3, 7, 64, 100] {
            let (_, split) = run(SMBBuild.session, chunk: chunk)
            #expect(split == whole, "chunk \(chunk)")
        }
    }

    /// Both streams cut at every length: never a trap, requests without a response still come
    /// out at the end, nothing appears twice.
    @Test func truncatedAtEveryLength() {
        let client = SMBBuild.session.filter { $0.0 == .toServer }.flatMap(\.1)
        let server = SMBBuild.session.filter { $0.0 == .toClient }.flatMap(\.1)
        for n in stride(from: 0, through: client.count, by: 3) {
            let (_, txs) = run([(.toServer, Array(client.prefix(n))), (.toClient, server)])
            #expect(Set(txs.map(\.id)).count == txs.count, "length \(n)")
            #expect(txs.count <= 5)
        }
        for n in stride(from: 0, through: server.count, by: 3) {
            let (_, txs) = run([(.toServer, client), (.toClient, Array(server.prefix(n)))])
            #expect(txs.count == 5, "length \(n): every request is logged, answered or not")
        }
    }

    /// A record larger than the buffer (a WRITE) is read from its prefix and skipped; a gap
    /// stops the direction; garbage stops it too.
    @Test func bigRecordGapAndGarbage() {
        var config = SMBConfig()
        config.maxRecordBuffer = 128
        let write = SMBBuild.record(SMBBuild.header(command: 9, messageID: 9, response: false) + [UInt8](repeating: 0x41, count: 70_000))
        let (_, txs) = run([(.toServer, write + SMBBuild.negotiateRequest)], chunk: 1460, config: config)
        #expect(txs.map(\.command) == [9, 0])
        var p = SMBParser()
        var n = 0
        SMBBuild.negotiateRequest.withByteView { p.feed($0, direction: .toServer, gap: true) { _, _ in n += 1 } }
        Array("GET / HTTP/1.1\r\n".utf8).withByteView { p.feed($0, direction: .toClient, gap: false) { _, _ in n += 1 } }
        p.finish { _, _ in n += 1 }
        #expect(n == 0 && p.malformed == 1)
    }

    /// Review 12A (3): a pipe WRITE whose data starts beyond the record buffer (DataOffset
    /// padded) and one straddling it are lent whole as they stream, uncut, the same bytes for
    /// any segmentation; data within the buffer still comes from the record.
    @Test func pipeDataStreamsPastTheRecordBuffer() {
        var config = SMBConfig()
        config.maxRecordBuffer = 256
        let path = SMBBuild.utf16("\\\\fs\\IPC$")
        let connect = SMBBuild.record(SMBBuild.header(command: 3, messageID: 1, response: false)
            + SMBBuild.le16(9) + SMBBuild.le16(0) + SMBBuild.le16(72) + SMBBuild.le16(path.count) + path)
        let connected = SMBBuild.record(SMBBuild.header(command: 3, messageID: 1, response: true, tree: 5)
            + SMBBuild.le16(16) + [2, 0] + SMBBuild.le32(0) + SMBBuild.le32(0) + SMBBuild.le32(0x1f01ff))
        func write(_ id: UInt64, pad: Int, _ data: [UInt8]) -> [UInt8] {
            SMBBuild.record(SMBBuild.header(command: 9, messageID: id, response: false, tree: 5)
                + SMBBuild.le16(49) + SMBBuild.le16(112 + pad) + SMBBuild.le32(data.count) + SMBBuild.le64(0)
                + SMBBuild.le64(0x77) + SMBBuild.le64(0x99) + SMBBuild.le32(0) + SMBBuild.le32(0) + SMBBuild.le16(0)
                + SMBBuild.le16(0) + SMBBuild.le32(0) + [UInt8](repeating: 0, count: pad) + data)
        }
        let a = (0 ..< 300).map { UInt8($0 & 0xff) }, b = [UInt8](repeating: 0x42, count: 40), c: [UInt8] = [1, 2, 3]
        let client = connect + write(2, pad: 500, a) + write(3, pad: 100, b) + write(4, pad: 0, c)
        for chunk in [0, 1, 7, 100, 1460] {
            var p = SMBParser(config: config)
            var got: [UInt8] = [], cuts = 0, files: Set<UInt64> = []
            for (d, bytes) in [(Direction.toServer, connect), (.toClient, connected), (.toServer, Array(client.dropFirst(connect.count)))] {
                var i = 0
                while i < bytes.count {
                    let n = chunk == 0 ? bytes.count : min(chunk, bytes.count - i)
                    Array(bytes[i ..< i + n]).withByteView { v in
                        p.feed(v, direction: d, gap: false, onTransaction: { _, _ in }) { _, file, data, cut in
                            got += data.bytes
                            cuts += cut ? 1 : 0
                            files.insert(file)
                        }
                    }
                    i += n
                }
            }
            #expect(got == a + b + c && cuts == 0 && files == [0x99], "chunk \(chunk): \(got.count) bytes, \(cuts) cut")
        }
    }

    /// A full pending table logs its oldest request without a response.
    @Test func pendingLimit() {
        var config = SMBConfig()
        config.maxPending = 2
        let reqs = (0 ..< 4).map { SMBBuild.record(SMBBuild.header(command: 0x0d, messageID: UInt64($0), response: false) + SMBBuild.le16(4) + [0, 0]) }
        let (_, txs) = run([(.toServer, reqs.flatMap { $0 })], config: config)
        #expect(txs.map(\.id) == [1, 2, 3, 4])
    }

    /// A request that never gets its answer (a CHANGE_NOTIFY held open) does not starve later
    /// transactions of string space: the store is compacted to what waiting requests hold.
    @Test func storeCompaction() {
        var config = SMBConfig()
        config.maxStoreBytes = 256
        let notify = SMBBuild.record(SMBBuild.header(command: 0x0f, messageID: 99, response: false) + SMBBuild.le16(32) + [UInt8](repeating: 0, count: 30))
        var session: [(Direction, [UInt8])] = [(.toServer, notify)]
        for k in 0 ..< 20 {
            let path = SMBBuild.utf16("\\\\files\\share\(k)")
            session.append((.toServer, SMBBuild.record(SMBBuild.header(command: 3, messageID: UInt64(k), response: false)
                + SMBBuild.le16(9) + SMBBuild.le16(0) + SMBBuild.le16(72) + SMBBuild.le16(path.count) + path)))
            session.append((.toClient, SMBBuild.record(SMBBuild.header(command: 3, messageID: UInt64(k), response: true, tree: k + 1)
                + SMBBuild.le16(16) + [1, 0] + SMBBuild.le32(0) + SMBBuild.le32(0) + SMBBuild.le32(0))))
        }
        let (_, txs) = run(session, config: config)
        #expect(txs.count == 21)
        #expect(txs.dropLast().enumerated().allSatisfy { $0.element.share == "\\\\files\\share\($0.offset)" },
                "\(txs.map { $0.share ?? "nil" })")
        #expect(txs.last?.command == 0x0f && txs.last?.response == false)
    }

    @Test func probe() {
        #expect(SMBBuild.negotiateRequest.withByteView { SMBParser.probe($0) })
        #expect(SMBBuild.negotiateResponse.withByteView { SMBParser.probe($0) })
        #expect(!Array("GET / HTTP/1.1\r\n".utf8).withByteView { SMBParser.probe($0) })
        #expect(!([0, 0, 0, 4, 0x16, 0x53, 0x4d, 0x42] as [UInt8]).withByteView { SMBParser.probe($0) })
    }
}
