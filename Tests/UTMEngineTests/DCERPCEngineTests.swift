import Foundation
import Testing
import UTMCore
import UTMDetect
@testable import UTMEngine

/// Session 12: DCE/RPC over TCP through the whole engine on traffic built here — detection on
/// any port, the `dcerpc.iface` / `dcerpc.opnum` / `dcerpc.stub_data` rules (as parsed and
/// after a bundle round trip), the `dce` byte order, and the `dcerpc` EVE events.
@Suite struct DCERPCEngineTests {
    typealias T = EngineTraffic
    static let spoolss = "12345678-1234-abcd-ef00-0123456789ab"
    static let lsarpc = "12345778-1234-abcd-ef00-0123456789ab"
    static let ndr = "8a885d04-1ceb-11c9-9fe8-08002b104860"

    // MARK: PDUs ([C706] 12.6), either byte order

    static func u16(_ v: Int, _ le: Bool) -> [UInt8] {
        le ? [UInt8(v & 0xff), UInt8(v >> 8 & 0xff)] : [UInt8(v >> 8 & 0xff), UInt8(v & 0xff)]
    }
    static func u32(_ v: Int, _ le: Bool) -> [UInt8] {
        le ? u16(v & 0xffff, true) + u16(v >> 16 & 0xffff, true) : u16(v >> 16 & 0xffff, false) + u16(v & 0xffff, false)
    }
    static func uuid(_ s: String, _ le: Bool) -> [UInt8] {
        let hex = Array(s.replacingOccurrences(of: "-", with: "").utf8)
        let b = stride(from: 0, to: 32, by: 2).map { UInt8(String(decoding: hex[$0 ..< $0 + 2], as: UTF8.self), radix: 16)! }
        guard le else { return b }
        return Array(b[0 ..< 4].reversed()) + Array(b[4 ..< 6].reversed()) + Array(b[6 ..< 8].reversed()) + Array(b[8...])
    }
    static func pdu(_ type: UInt8, flags: UInt8 = 3, call: Int, le: Bool, _ body: [UInt8]) -> [UInt8] {
        [5, 0, type, flags, le ? 0x10 : 0x00, 0, 0, 0] + u16(16 + body.count, le) + u16(0, le) + u32(call, le) + body
    }
    static func bind(call: Int, le: Bool, _ ctxs: [(Int, String)]) -> [UInt8] {
        var body = u16(4280, le) + u16(4280, le) + u32(0, le) + [UInt8(ctxs.count), 0, 0, 0]
        for (id, u) in ctxs { body += u16(id, le) + [1, 0] + uuid(u, le) + u16(1, le) + u16(0, le) + uuid(ndr, le) + u32(2, le) }
        return pdu(11, call: call, le: le, body)
    }
    static func bindAck(call: Int, le: Bool, _ results: [Int]) -> [UInt8] {
        var body = u16(4280, le) + u16(4280, le) + u32(0x1234, le) + u16(6, le) + Array("49700".utf8) + [0]
        while (16 + body.count) % 4 != 0 { body.append(0) }
        body += [UInt8(results.count), 0, 0, 0]
        for r in results { body += u16(r, le) + u16(0, le) + uuid(ndr, le) + u32(2, le) }
        return pdu(12, call: call, le: le, body)
    }
    static func request(call: Int, ctx: Int, opnum: Int, le: Bool, flags: UInt8 = 3, _ stub: [UInt8]) -> [UInt8] {
        pdu(0, flags: flags, call: call, le: le, u32(stub.count, le) + u16(ctx, le) + u16(opnum, le) + stub)
    }
    static func response(call: Int, le: Bool, _ stub: [UInt8]) -> [UInt8] {
        pdu(2, call: call, le: le, u32(stub.count, le) + u16(0, le) + [0, 0] + stub)
    }

    /// A client binding spoolss (accepted) and lsarpc (rejected), then RpcAddPrinterDriverEx
    /// (opnum 89) on spoolss with its stub in two fragments that cut "PrinterDriver" in two,
    /// then opnum 1 on the rejected lsarpc context. The stub starts with 0x11223344 in the
    /// PDU's byte order.
    static func session(sport: UInt16, dport: UInt16, le: Bool) -> [[UInt8]] {
        let number = u32(0x1122_3344, le)
        let frag1 = request(call: 2, ctx: 0, opnum: 89, le: le, flags: 1, number + Array("\\\\evil\\share\\RpcAddPrin".utf8))
        let frag2 = request(call: 2, ctx: 0, opnum: 89, le: le, flags: 2, Array("terDriverEx".utf8))
        return T.tcpSession(v6: false, sport: sport, dport: dport, exchanges: [
            (bind(call: 1, le: le, [(0, spoolss), (1, lsarpc)]), bindAck(call: 1, le: le, [0, 2])),
            (frag1, []),
            (frag2, response(call: 2, le: le, u32(0, le))),
            (request(call: 3, ctx: 1, opnum: 1, le: le, [0, 0, 0, 0]), response(call: 3, le: le, u32(5, le))),
        ])
    }

    static let frames = session(sport: 48001, dport: 49700, le: true) + session(sport: 48002, dport: 135, le: false)

    @Test func rulesOnBoundAcceptedInterfacesStubAndByteOrder() throws {
        let rules = """
            alert dcerpc any any -> any any (msg:"spoolss AddPrinterDriverEx"; flow:to_server; dcerpc.iface:\(Self.spoolss); dcerpc.opnum:89; sid:1;)
            alert dcerpc any any -> any any (msg:"lsarpc was rejected"; dce_iface:\(Self.lsarpc); sid:2;)
            alert dcerpc any any -> any any (msg:"stub across fragments"; flow:to_server; dce_stub_data; content:"PrinterDriver"; sid:3;)
            alert dcerpc any any -> any any (msg:"dce byte order"; flow:to_server; dce_stub_data; content:"evil"; byte_test:4,=,0x11223344,-10,relative,dce; sid:4;)
            alert dcerpc any any -> any any (msg:"big endian only"; flow:to_server; dce_stub_data; byte_test:4,=,0x11223344,0,big; dcerpc.opnum:89; sid:5;)
            alert dcerpc any any -> any any (msg:"opnum alone"; flow:to_server; dce_opnum:1; sid:6;)
            alert dcerpc any any -> any any (msg:"spoolss answers"; flow:to_client; dcerpc.iface:\(Self.spoolss); sid:7;)
            alert dcerpc any any -> any any (msg:"response stub"; flow:to_client; dce_stub_data; byte_test:4,=,5,0,dce; sid:8;)
            alert dcerpc any any -> any any (msg:"no such pattern"; dce_stub_data; content:"PrinterDriverExt"; sid:9;)
            alert tcp any any -> any any (msg:"app-layer-protocol"; app-layer-protocol:dcerpc; flow:to_server; content:"terDriver"; sid:10;)
            """
        let n = try Session6KeywordEngineTests.alerts(rules, Self.frames)
        #expect(n[1] == 2, "one per flow: \(n)")
        #expect(n[2] == nil, "a rejected interface never matches: \(n)")
        #expect(n[3] == 2, "the pattern split across fragments: \(n)")
        #expect(n[4] == 2, "dce reads little- and big-endian stubs: \(n)")
        #expect(n[5] == 1, "only the big-endian flow: \(n)")
        #expect(n[6] == 2, "\(n)")
        #expect(n[7] == 2, "\(n)")
        #expect(n[8] == 2, "\(n)")
        #expect(n[9] == nil, "\(n)")
        #expect(n[10] == 2, "\(n)")
    }

    @Test func eveEventsAndAppProto() throws {
        let engine = Engine(config: EngineConfig())
        let ev = Session6KeywordEngineTests.events(Session6KeywordEngineTests.replayEVE(engine, Self.frames))
        let flows = ev.filter { $0["event_type"] as? String == "flow" }
        #expect(flows.count == 2 && flows.allSatisfy { $0["app_proto"] as? String == "dcerpc" })
        let d = ev.filter { $0["event_type"] as? String == "dcerpc" }
        #expect(d.count == 6, "bind + 2 calls per flow")
        let objs = d.compactMap { $0["dcerpc"] as? [String: Any] }
        let bind = try #require(objs.first { $0["request"] as? String == "BIND" })
        #expect(bind["response"] as? String == "BINDACK" && bind["call_id"] as? Int == 1 && bind["rpc_version"] as? String == "5.0")
        let ifaces = try #require(bind["interfaces"] as? [[String: Any]])
        #expect(ifaces.count == 2)
        #expect(ifaces[0]["uuid"] as? String == Self.spoolss && ifaces[0]["version"] as? String == "1.0" && ifaces[0]["ack_result"] as? Int == 0)
        #expect(ifaces[1]["uuid"] as? String == Self.lsarpc && ifaces[1]["ack_result"] as? Int == 2)
        let call = try #require(objs.first { ($0["req"] as? [String: Any])?["opnum"] as? Int == 89 })
        let req = try #require(call["req"] as? [String: Any]), res = try #require(call["res"] as? [String: Any])
        #expect(call["request"] as? String == "REQUEST" && call["response"] as? String == "RESPONSE" && call["call_id"] as? Int == 2)
        #expect(req["frag_cnt"] as? Int == 2 && req["stub_data_size"] as? Int == 4 + "\\\\evil\\share\\RpcAddPrin".utf8.count + 11)
        #expect(res["frag_cnt"] as? Int == 1 && res["stub_data_size"] as? Int == 4)
        #expect((call["interfaces"] as? [[String: Any]])?.first?["uuid"] as? String == Self.spoolss)
        #expect(d.allSatisfy { $0["app_proto"] as? String == "dcerpc" || $0["app_proto"] == nil })
    }
}

extension DCERPCEngineTests {
    typealias S = Session7KeywordEngineTests

    /// An SMB2 session on IPC$ (or, `pipe` false, a disk share with the same bytes): the BIND
    /// and its ack through an IOCTL FSCTL_PIPE_TRANSCEIVE, the request as a WRITE, the response
    /// as a READ on the same FileId ([MS-SMB2] 2.2.31/32, 2.2.21, 2.2.19/20).
    static func smbPipeOnly(sport: UInt16, pipe: Bool) -> [[UInt8]] {
        let file = S.le64(0x77) + S.le64(0x99)
        let bind = bind(call: 1, le: true, [(0, spoolss)]), ack = bindAck(call: 1, le: true, [0])
        let req = request(call: 2, ctx: 0, opnum: 89, le: true, Array("\\\\evil\\PrinterDriver".utf8))
        let res = response(call: 2, le: true, [5, 0, 0, 0])
        let negotiate = S.smb2(command: 0, messageID: 0, response: false, S.le16(36) + S.le16(1) + S.le16(1) + S.le16(0) + S.le32(0)
            + [UInt8](repeating: 0xab, count: 16) + S.le64(0) + S.le16(0x0311))
        let negotiated = S.smb2(command: 0, messageID: 0, response: true, S.le16(65) + S.le16(1) + S.le16(0x0311) + S.le16(0)
            + [UInt8](repeating: 0x42, count: 16) + [UInt8](repeating: 0, count: 40))
        let path = (pipe ? "\\\\fs01\\IPC$" : "\\\\fs01\\data").utf16.flatMap { S.le16(Int($0)) }
        let connect = S.smb2(command: 3, messageID: 1, response: false, S.le16(9) + S.le16(0) + S.le16(64 + 8) + S.le16(path.count) + path)
        let connected = S.smb2(command: 3, messageID: 1, response: true, tree: 5,
                               S.le16(16) + [pipe ? 2 : 1, 0] + S.le32(0) + S.le32(0) + S.le32(0x1f01ff))
        let ioctl = S.smb2(command: 11, messageID: 2, response: false, tree: 5, S.le16(57) + S.le16(0) + S.le32(0x0011_C017) + file
            + S.le32(120) + S.le32(bind.count) + S.le32(0) + S.le32(0) + S.le32(0) + S.le32(4280) + S.le32(1) + S.le32(0) + bind)
        let ioctled = S.smb2(command: 11, messageID: 2, response: true, tree: 5, S.le16(49) + S.le16(0) + S.le32(0x0011_C017) + file
            + S.le32(0) + S.le32(0) + S.le32(112) + S.le32(ack.count) + S.le32(0) + S.le32(0) + ack)
        let write = S.smb2(command: 9, messageID: 3, response: false, tree: 5, S.le16(49) + S.le16(112) + S.le32(req.count) + S.le64(0)
            + file + S.le32(0) + S.le32(0) + S.le16(0) + S.le16(0) + S.le32(0) + req)
        let written = S.smb2(command: 9, messageID: 3, response: true, tree: 5, S.le16(17) + S.le16(0) + S.le32(req.count) + S.le32(0) + S.le32(0))
        let read = S.smb2(command: 8, messageID: 4, response: false, tree: 5, S.le16(49) + [0x50, 0] + S.le32(4280) + S.le64(0)
            + file + S.le32(0) + S.le32(0) + S.le32(0) + S.le16(0) + S.le16(0) + [0])
        let got = S.smb2(command: 8, messageID: 4, response: true, tree: 5, S.le16(17) + [80, 0] + S.le32(res.count) + S.le32(0) + S.le32(0) + res)
        return T.tcpSession(v6: false, sport: sport, dport: 445, exchanges: [
            (negotiate, negotiated), (connect, connected), (ioctl, ioctled), (write, written), (read, got),
        ])
    }

    @Test func dcerpcOverSMBNamedPipes() throws {
        let frames = Self.smbPipeOnly(sport: 47101, pipe: true) + Self.smbPipeOnly(sport: 47102, pipe: false)
        let rules = """
            alert dcerpc any any -> any any (msg:"spoolss over a pipe"; flow:to_server; dcerpc.iface:\(Self.spoolss); dcerpc.opnum:89; sid:1;)
            alert dcerpc any any -> any any (msg:"stub over a pipe"; flow:to_server; dce_stub_data; content:"PrinterDriver"; sid:2;)
            alert dcerpc any any -> any any (msg:"response stub"; flow:to_client; dce_stub_data; byte_test:4,=,5,0,dce; sid:3;)
            alert smb any any -> any any (msg:"the share"; smb.named_pipe; content:"IPC$"; sid:4;)
            """
        let n = try Session6KeywordEngineTests.alerts(rules, frames)
        #expect(n[1] == 1 && n[2] == 1 && n[3] == 1, "only the pipe session: \(n)")
        #expect(n[4] == 1, "\(n)")
    }
}
