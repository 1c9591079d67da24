import Testing
import AllocationCounter
import UTMCore
import UTMOutput
@testable import UTMEngine

/// DESIGN: no allocation per packet, for the SIP (UDP and TCP), PostgreSQL and SMB parsers too. Same method
/// as EngineAllocationTests (`steadyStateAllocations`): every round replays the same sessions one
/// virtual hour later, so flows end, parser slots are recycled and new flows start, as in steady state.
@Suite(.serialized) struct AppLayerSIPPgSQLSMBAllocationTests {
    static func be32(_ v: Int) -> [UInt8] { [UInt8(v >> 24 & 0xff), UInt8(v >> 16 & 0xff), UInt8(v >> 8 & 0xff), UInt8(v & 0xff)] }
    static func le16(_ v: Int) -> [UInt8] { [UInt8(v & 0xff), UInt8(v >> 8 & 0xff)] }
    static func le32(_ v: Int) -> [UInt8] { le16(v & 0xffff) + le16(v >> 16 & 0xffff) }
    static func pg(_ t: Character, _ body: [UInt8]) -> [UInt8] { [t.asciiValue!] + be32(body.count + 4) + body }
    static func smb2(_ command: Int, _ mid: Int, response: Bool, _ body: [UInt8]) -> [UInt8] {
        let m: [UInt8] = [0xfe, 0x53, 0x4d, 0x42] + le16(64) + le16(1) + le32(0) + le16(command) + le16(1)
            + le32(response ? 1 : 0) + le32(0) + le32(mid) + le32(0) + le32(0) + le32(3) + le32(9) + le32(0)
            + [UInt8](repeating: 0, count: 16) + body
        return [0, 0, UInt8(m.count >> 8), UInt8(m.count & 0xff)] + m
    }

    static func round() -> [[UInt8]] {
        typealias T = EngineTraffic
        var frames: [[UInt8]] = []
        for c in 0 ..< 4 {
            let port = UInt16(41000 + c)
            let startup = be32(8 + 24) + be32(0x0003_0000) + Array("user\0sato\0database\0db\0\0".utf8)
            frames += T.tcpSession(v6: false, sport: port, dport: 5432, exchanges: [
                (startup, pg("R", be32(0)) + pg("S", Array("TimeZone\0UTC\0".utf8)) + pg("K", be32(1) + be32(2)) + pg("Z", [73])),
                (pg("Q", Array("SELECT \(c);\0".utf8)), pg("T", [0, 1] + Array("a\0".utf8) + [UInt8](repeating: 0, count: 18))
                    + pg("D", [0, 1] + be32(1) + [0x31]) + pg("C", Array("SELECT 1\0".utf8)) + pg("Z", [73])),
            ])
            let path = Array("\\\\srv\\share".utf16).flatMap { le16(Int($0)) }
            frames += T.tcpSession(v6: false, sport: port, dport: 445, exchanges: [
                (smb2(0, 0, response: false, le16(36) + le16(2) + [UInt8](repeating: 0, count: 32) + le16(0x0210) + le16(0x0311)),
                 smb2(0, 0, response: true, le16(65) + le16(1) + le16(0x0311) + le16(0) + [UInt8](repeating: 7, count: 16) + [UInt8](repeating: 0, count: 40))),
                (smb2(3, 1, response: false, le16(9) + le16(0) + le16(72) + le16(path.count) + path),
                 smb2(3, 1, response: true, le16(16) + [1, 0] + le32(0) + le32(0) + le32(0))),
            ])
            let invite = Array("INVITE sip:bob@example.jp SIP/2.0\r\nCall-ID: \(c)@pc\r\nCSeq: 1 INVITE\r\n\r\n".utf8)
            let trying = Array("SIP/2.0 100 Trying\r\nCall-ID: \(c)@pc\r\nCSeq: 1 INVITE\r\n\r\n".utf8)
            func udp(_ a: UInt16, _ b: UInt16, _ p: [UInt8]) -> [UInt8] { T.be16(a) + T.be16(b) + T.be16(UInt16(8 + p.count)) + [0, 0] + p }
            frames += T.tcpSession(v6: false, sport: port, dport: 5060, exchanges: [(invite, trying), (invite, trying)])
            frames.append(T.ip(v6: false, proto: 17, toServer: true, udp(port, 5060, invite)))
            frames.append(T.ip(v6: false, proto: 17, toServer: false, udp(5060, port, trying)))
        }
        return frames
    }

    @Test func steadyStateDoesNotAllocate() {
        guard allocationCounterWorks() else { return }
        let engine = Engine()
        var before: [UInt64] = []
        let rounds = 10
        let n = steadyStateAllocations(engine, Self.round(), rounds: rounds) { before = engine.eve.counts.map { $0 } }
        #expect(n == 0, "SIP/PgSQL/SMB allocated \(n) times")
        func delta(_ t: EVEEventType) -> UInt64 { engine.eve.counts[t.rawValue] - before[t.rawValue] }
        #expect(delta(.sip) == UInt64(rounds) * 4 * 6)       // 2 over UDP, 4 over TCP
        #expect(delta(.pgsql) == UInt64(rounds) * 4 * 2)     // startup and query transactions
        #expect(delta(.smb) == UInt64(rounds) * 4 * 2)       // negotiate and tree connect
    }
}
