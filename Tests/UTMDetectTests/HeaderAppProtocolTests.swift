import Testing
import UTMCore
@testable import UTMDetect

/// `sip`, `pgsql` and `smb` in a rule header name parsed protocols: the rule needs a flow the
/// engine detected as that protocol (as in Suricata), not just the transport.
@Suite struct HeaderAppProtocolTests {
    @Test func parsedProtocols() throws {
        let sip = try #require(rule("alert sip any any -> any any (msg:\"x\"; sid:1;)"))
        #expect(sip.proto.app == .sip && sip.proto.admits(ipProto: 17) && sip.proto.admits(ipProto: 6), "UDP and TCP")
        #expect(sip.proto.unparsedApp == nil)
        let pg = try #require(rule("alert pgsql any any -> any any (msg:\"x\"; content:\"select\"; nocase; sid:2;)"))
        #expect(pg.proto.app == .pgsql && pg.proto.ipProto == 6)
        let smb = try #require(rule("drop smb any any -> any any (msg:\"x\"; sid:3;)"))
        #expect(smb.proto.app == .smb && smb.proto.ipProto == 6 && smb.action == .drop)
        #expect(AppProto.pgsql.eveName.description == "pgsql" && AppProto.smb.eveName.description == "smb")
    }
}
