import Testing
import UTMCore
import UTMWebFilter
@testable import UTMEngine

/// Flow bypass (EngineBypass.swift): the engine says `bypass` on a packet only once it needs
/// nothing more from the flow, and never on a packet it refuses.
@Suite struct EngineBypassTests {
    static func decisions(_ engine: Engine, _ frames: [[UInt8]]) -> [PacketDecision] {
        frames.enumerated().map { i, f in
            f.withByteView { v in
                engine.process(frame: v, linkType: .ethernet,
                               timestamp: Timestamp(seconds: 1_700_000_000, micros: Int32(i)), wireLength: v.count)
            }
        }
    }

    /// SYN, SYN-ACK, ACK, ClientHello, ACK, ServerHello+CCS+application data, ACK, FIN…
    static func tls(_ sni: String) -> [[UInt8]] {
        EngineTraffic.tcpSession(v6: false, sport: 42001, dport: 443, exchanges: [
            (EngineTraffic.clientHello(sni: sni), EngineTraffic.serverHello()),
        ])
    }

    @Test func tlsFlowIsBypassedOnlyAfterItsHandshake() {
        let d = Self.decisions(Engine(), Self.tls("www.example.com"))
        #expect(d.allSatisfy { $0.verdict == .accept })
        // Nothing before the server's answer has been read.
        #expect(d.prefix(5).allSatisfy { !$0.bypass }, "\(d.map(\.bypass))")
        // Once the handshake is over, the rest of the flow may skip the queue.
        #expect(d.dropFirst(5).contains { $0.bypass }, "\(d.map(\.bypass))")
        #expect(d.last?.bypass == true)
    }

    @Test func plainHTTPIsNeverBypassed() {
        let frames = EngineTraffic.tcpSession(v6: false, sport: 42002, dport: 80, exchanges: [
            (Array("GET / HTTP/1.1\r\nHost: www.example.com\r\n\r\n".utf8), Array("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok".utf8)),
            (Array("GET /b HTTP/1.1\r\nHost: www.example.com\r\n\r\n".utf8), Array("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok".utf8)),
        ])
        let d = Self.decisions(Engine(), frames)
        #expect(d.allSatisfy { $0.verdict == .accept && !$0.bypass })
    }

    @Test func blockedTLSFlowIsRefusedNotBypassed() throws {
        var config = EngineConfig()
        try config.applyWebFilter(config: WebFilterConfig(), database: WebFilterEngineTests.database())
        let d = Self.decisions(Engine(config: config), Self.tls("casino.example"))
        #expect(d[3].verdict == .reject)
        #expect(d.allSatisfy { !$0.bypass }, "\(d.map(\.bypass))")
    }

    /// A bulk upload of an unknown protocol: once past the stream depth the flow may skip the
    /// queue; with bypass off it never does.
    @Test func bulkFlowIsBypassedPastTheStreamDepth() {
        let chunk = [UInt8](repeating: 0x41, count: 30_000)
        let frames = EngineTraffic.tcpSession(v6: false, sport: 42003, dport: 5001,
                                              exchanges: Array(repeating: (chunk, []), count: 6))
        var config = EngineConfig()
        config.flow.streamDepth = 100_000
        let d = Self.decisions(Engine(config: config), frames)
        let firstBypass = d.firstIndex { $0.bypass }
        // Packets: 3 of the handshake, then 4 per exchange; the 4th chunk crosses 100 000 bytes.
        #expect(firstBypass != nil && firstBypass! >= 3 + 4 * 3, "\(d.map(\.bypass))")
        config.bypass = .off
        #expect(Self.decisions(Engine(config: config), frames).allSatisfy { !$0.bypass })
    }
}
