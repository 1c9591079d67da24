import Testing
import UTMCore
@testable import UTMDetect

/// The ssh keywords load into the right buffers with Suricata's semantics; matching on real
/// traffic is in UTMEngineTests/AppLayerSSHTests.
@Suite struct SSHKeywordTests {
    @Test func headerProtocol() throws {
        let s = try #require(rule("alert ssh any any -> any 22 (msg:\"x\"; content:\"SSH-\"; sid:1;)"))
        #expect(s.proto.app == .ssh && s.proto.ipProto == 6 && s.proto.unparsedApp == nil)
        #expect(AppProto.ssh.rawValue == 10 && AppProto.ssh.eveName.description == "ssh")
    }

    @Test func stickyBuffers() throws {
        let cases: [(String, BufferID)] = [
            ("ssh.proto", .sshProto), ("ssh_proto", .sshProto), ("ssh.software", .sshSoftware),
            ("ssh_software", .sshSoftware), ("ssh.hassh", .sshHassh), ("ssh.hassh.string", .sshHasshString),
            ("ssh.hassh.server", .sshHasshServer), ("ssh.hassh.server.string", .sshHasshServerString),
        ]
        for (keyword, buffer) in cases {
            let s = try #require(rule(opts("\(keyword); content:\"abc\";")), "\(keyword)")
            #expect(s.list(for: buffer) != nil && s.list(for: .payload) == nil, "\(keyword)")
            #expect(s.proto.app == .ssh, "\(keyword) makes an alert tcp rule an ssh rule")
            #expect(DetectDefinitions.point(of: s) == .ssh)
            let hassh = buffer == .sshHassh || buffer == .sshHasshString || buffer == .sshHasshServer || buffer == .sshHasshServerString
            #expect(DetectDefinitions.phase(of: s, .ssh) == (hassh ? 2 : 1), "HASSH rules wait for the KEXINIT")
            #expect(ruleError(opts("\(keyword):x; content:\"abc\";")) != nil, "\(keyword) takes no value")
        }
        #expect(ruleError(opts("ssh.proto; content:\"2.0\";", proto: "http")) != nil, "an http rule cannot take an ssh buffer")
        #expect(ruleError(opts("ssh.proto; content:\"2.0\";", proto: "udp")) != nil)
    }

    /// Suricata 6/7: an exact match, or `2_compat` (starts with 2 or with 1.99); the same
    /// values Suricata's unit tests accept and refuse.
    @Test func protoversion() throws {
        let exact = try #require(rule(opts("ssh.protoversion:1.99; content:\"x\";")))
        #expect(inspect(exact, "1.99", buffer: .sshProto) && !inspect(exact, "1.99x", buffer: .sshProto)
                && !inspect(exact, "1.9", buffer: .sshProto))
        #expect(exact.list(for: .payload) != nil, "the content after it stays on the payload")
        let compat = try #require(rule(opts("ssh.protoversion:2_compat;")))
        for (v, ok) in [("2.0", true), ("2", true), ("1.99", true), ("1.5", false), ("1.10", false)] {
            #expect(inspect(compat, v, buffer: .sshProto) == ok, "\(v)")
        }
        #expect(rule(opts("ssh.protoversion: \"2.0\" ;")) != nil)
        for bad in ["2_com", "\"\"", ".1", "lalala"] {
            #expect(ruleError(opts("ssh.protoversion:\(bad);")) != nil, "\(bad)")
        }
    }

    @Test func softwareversion() throws {
        let s = try #require(rule(opts("ssh.softwareversion:\"PuTTY_2.123\"; content:\"y\"; nocase;")))
        #expect(inspect(s, "PuTTY_2.123", buffer: .sshSoftware) && !inspect(s, "PuTTY_2.1234", buffer: .sshSoftware)
                && !inspect(s, "puTTY_2.123", buffer: .sshSoftware))
        #expect(s.list(for: .payload).map { $0.elements.count } == 1, "nocase went to the payload content")
        #expect(rule(opts("ssh.softwareversion:SecureCRT-4.0;")) != nil)
        #expect(ruleError(opts("ssh.softwareversion:\"\";")) != nil)
        #expect(ruleError(opts("ssh.softwareversion:\"a|b\";")) != nil)
    }
}
