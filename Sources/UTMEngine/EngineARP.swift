import UTMCore
import UTMDecode
import UTMFlow
import UTMOutput
import UTMDetect

/// `arp` rules on decoded ARP packets (UTMDecode's DecodeARP.swift).
///
/// Why here and not through the flow path: ARP has no flow, no stream and no app layer; a
/// packet is inspected once, by the rules whose header says `arp` (Suricata 9), with the
/// sender and target protocol addresses as source and destination. A `drop` (or reject: there
/// is nothing to reset) drops that ARP packet in inline mode.
extension Engine {
    func detectARP() {
        guard let d = detect else { return }
        d.beginPacket()
        detectCursor = DetectCursor()
        var f = PacketFacts()
        f.isARP = true
        f.source = packet.src
        f.destination = packet.dst
        // Each ARP packet stands alone: header-only rules are never "already done" for it.
        d.headerRulesDone = false
        d.streamAsPacket = false
        d.inspectPacket(f, payload: .empty, slot: -1, time: packet.timestamp.seconds) { i, alert in
            self.arpMatched(d, i, alert, f)
        }
        if decision.verdict != .accept { stats.blockedPackets &+= 1 }
    }

    func arpMatched(_ d: DetectEngine, _ i: Int, _ alert: Bool, _ f: PacketFacts) {
        var e = EVEEndpoints(flowID: 0, src: f.source, srcPort: 0, dst: f.destination, dstPort: 0,
                             ipProto: 0, appProto: .unknown, srcMAC: packet.srcMAC, dstMAC: packet.dstMAC)
        e.isARP = true
        // (No drop event: its fields are an IP packet's.)
        flowlessMatched(d, i, alert, e, logDrop: false)
    }
}
