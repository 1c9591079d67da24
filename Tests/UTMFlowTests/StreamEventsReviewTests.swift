import Testing
import UTMCore
import UTMDecode
@testable import UTMFlow

private func eventNames(_ e: StreamEvents) -> String {
    (0..<StreamEvents.definedBits).compactMap { e.contains(StreamEvents(bit: $0)) ? "\(StreamEvents.name(ofBit: $0)!)" : nil }
        .joined(separator: ",")
}

extension Harness {
    /// (Review 10b) One segment with `len` bytes of payload and an optional window-scale option; returns event names.
    @discardableResult
    mutating func pev(_ tag: String, _ d: Direction, _ flags: TCPFlags, seq: UInt32, ack: UInt32 = 0, len: Int = 0,
                     window: UInt16 = 65535, wscale: UInt8 = 255, log: Bool = true) -> String {
        reasm.beginPacket()
        var table = self.table, reasm = self.reasm
        self.table = Harness.placeholderTable
        self.reasm = Harness.placeholderReassembler
        var out = streams
        let data = [UInt8](repeating: 0x41, count: len)
        let r: FlowRef? = data.withUnsafeBytes { raw in
            let v = ByteView(raw)
            var p = d == .toServer
                ? packet(from: clientIP, clientPort, to: serverIP, 80, flags: flags, seq: seq, ack: ack, payload: v, window: window)
                : packet(from: serverIP, 80, to: clientIP, clientPort, flags: flags, seq: seq, ack: ack, payload: v, window: window)
            p.windowScale = wscale
            guard let r = table.track(p, onEnd: { ref, flow, _ in reasm.release(ref, flow: &flow) }) else { return nil }
            reasm.process(p, ref: r.ref, flows: &table, direction: r.direction) { view, chunk in
                view.append(to: &out[chunk.direction.index])
            }
            return r.ref
        }
        self.table = table
        self.reasm = reasm
        streams = out
        if let r { lastRef = r }
        let e = eventNames(table.packetStreamEvents.union(reasm.packetEvents))
                return e
    }
}

/// Stream events the session 10 review found wrong on ordinary traffic or against Suricata,
/// each on segments built here (`Harness.pev` returns the packet's event names).
@Suite struct StreamEventsReviewTests {
    /// A browser's RST with the server's data still in flight is no injection; the RST's own
    /// sender talking on after it is, once.
    @Test func rstInjectionIsTheSendersOwnTraffic() {
        var h = Harness()
        h.pev("rst", .toServer, .syn, seq: 1000)
        h.pev("rst", .toClient, [.syn, .ack], seq: 5000, ack: 1001)
        h.pev("rst", .toServer, .ack, seq: 1001, ack: 5001)
        h.pev("rst", .toServer, [.ack, .psh], seq: 1001, ack: 5001, len: 50)
        h.pev("rst", .toClient, .ack, seq: 5001, ack: 1051, len: 1448)
        h.pev("rst", .toServer, [.rst, .ack], seq: 1051, ack: 6449)
        let inflight = h.pev("rst", .toClient, .ack, seq: 6449, ack: 1051, len: 1448)
        let fin = h.pev("rst", .toClient, [.fin, .ack], seq: 7897, ack: 1051)
        #expect(!inflight.contains("suspected_rst_inject") && !fin.contains("suspected_rst_inject"), "\(inflight) \(fin)")
        var j = Harness()
        j.pev("inj", .toServer, .syn, seq: 1000)
        j.pev("inj", .toClient, [.syn, .ack], seq: 5000, ack: 1001)
        j.pev("inj", .toServer, .ack, seq: 1001, ack: 5001)
        j.pev("inj", .toServer, [.rst, .ack], seq: 1001, ack: 5001)
        let same = j.pev("inj", .toServer, [.ack, .psh], seq: 1001, ack: 5001, len: 20)
        let again = j.pev("inj", .toServer, [.ack, .psh], seq: 1021, ack: 5001, len: 20)
        #expect(same.contains("suspected_rst_inject"), "\(same)")
        #expect(!again.contains("suspected_rst_inject"), "once per RST; \(again)")
    }

    /// A 1-byte keep-alive of a side that has sent nothing (seq = ISN) is no segment before
    /// the stream's base.
    @Test func windowsKeepAliveIsNoAnomaly() {
        var h = Harness()
        h.pev("ka", .toServer, .syn, seq: 1000)
        h.pev("ka", .toClient, [.syn, .ack], seq: 5000, ack: 1001)
        h.pev("ka", .toServer, .ack, seq: 1001, ack: 5001)
        h.pev("ka", .toClient, [.ack, .psh], seq: 5001, ack: 1001, len: 100)
        h.pev("ka", .toServer, .ack, seq: 1001, ack: 5101)
        let linux = h.pev("ka", .toServer, .ack, seq: 1000, ack: 5101)
        let windows = h.pev("ka", .toServer, .ack, seq: 1000, ack: 5101, len: 1)
        #expect(linux.isEmpty && windows.isEmpty, "\(linux) / \(windows)")
    }

    /// The server resending its SYN/ACK because the final ACK was lost after the box is no
    /// anomaly; a SYN with another ISN on an established session raises one event.
    @Test func handshakeResendsAsSuricata() {
        var h = Harness()
        h.pev("sa", .toServer, .syn, seq: 1000)
        h.pev("sa", .toClient, [.syn, .ack], seq: 5000, ack: 1001)
        h.pev("sa", .toServer, .ack, seq: 1001, ack: 5001)
        let resend = h.pev("sa", .toClient, [.syn, .ack], seq: 5000, ack: 1001)
        #expect(resend.isEmpty, "\(resend)")
        let syn = h.pev("sa", .toServer, .syn, seq: 7777)
        #expect(syn == "est_syn_resend_diff_seq", "\(syn)")
        // Once the server sent data, an identical SYN/ACK is a resend.
        h.pev("sa", .toClient, [.ack, .psh], seq: 5001, ack: 1001, len: 10)
        let late = h.pev("sa", .toClient, [.syn, .ack], seq: 5000, ack: 1001)
        #expect(late == "est_synack_resend", "\(late)")
    }

    /// One SYN/ACK ignoring the SYN's data is counted once.
    @Test func tfoDataIgnoredCountedOnce() {
        var c = testConfig()
        c.holdSynData = true
        var h = Harness(c)
        h.pev("tfo", .toServer, .syn, seq: 1000, len: 10)
        let e = h.pev("tfo", .toClient, [.syn, .ack], seq: 5000, ack: 1001)
        let bit = StreamEvents.synAckTFODataIgnored.rawValue.trailingZeroBitCount
        #expect(e.contains("3whs_synack_tfo_data_ignored"))
        #expect(h.table.streamEventCounts[bit] &+ h.reasm.eventCounts[bit] == 1)
    }
}
