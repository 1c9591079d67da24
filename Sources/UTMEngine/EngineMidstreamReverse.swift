import UTMCore
import UTMFlow
import UTMDecode

/// Midstream flow reversal (Suricata: "Protocol detection can, in the midstream case, reverse a
/// flow direction"). A TCP session picked up without its handshake takes the sender of its
/// first packet as the client. When that packet is the server's HTTP response, the flow runs
/// the other way: Suricata's protocol detection finds HTTP's response pattern in what it took
/// for the client's stream and swaps the flow, so the HTTP parser sees a response from the
/// server, `flow:to_client` holds for it, and an `Upgrade: h2c` there still switches to HTTP/2
/// (suricata-verify drop-protocol-change). Without the swap no probe recognises anything (a
/// response is not a request) and the flow stays without an app protocol.
///
/// Done only before the flow carried any stream byte or protocol (its first packet, or the
/// first with data after bare ACKs), before the packet's own stages run: nothing per direction
/// has been kept yet (app identification, firewall and detection state start empty, the
/// streams hold nothing), so swapping the flow's per-direction fields is all it takes.
extension Engine {
    /// Whether the current packet's flow must be reversed: TCP, picked up midstream, nothing
    /// delivered or detected yet, and this payload from the "client" is an HTTP/1.x status line.
    func midstreamReverses(_ ref: FlowRef, _ direction: Direction) -> Bool {
        guard direction == .toServer, packet.ipProto == IPProto.tcp, config.modes.midstream,
              !packet.tcpFlags.contains(.syn), Engine.isHTTPStatusLine(packet.payload) else { return false }
        return flows.reading(ref) { f in
            f.midstream && f.appProto == .unknown && f.engineFlags == 0
                && !f.toServer.started && !f.toClient.started
        }
    }

    /// `HTTP/1.0 ` or `HTTP/1.1 ` and three digits: a response, never a request.
    static func isHTTPStatusLine(_ p: ByteView) -> Bool {
        guard p.count >= 12, p.starts(with: ("HTTP/1." as StaticString).byteView) else { return false }
        guard let minor = p.u8(7), minor == UInt8(ascii: "0") || minor == UInt8(ascii: "1"),
              p.u8(8) == UInt8(ascii: " ") else { return false }
        var k = 9
        while k < 12 {
            guard let d = p.u8(k), d >= UInt8(ascii: "0"), d <= UInt8(ascii: "9") else { return false }
            k += 1
        }
        return true
    }
}
