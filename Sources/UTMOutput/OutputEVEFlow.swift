import UTMCore
import UTMDecode
import UTMFlow

extension FlowEndReason {
    /// Suricata's `flow.reason` values.
    var eveName: StaticString {
        switch self {
        case .timeout, .tcpClosed: return "timeout"
        case .evicted: return "forced"
        case .shutdown: return "shutdown"
        }
    }
}

extension EVEWriter {
    /// The `flow` event Suricata writes when a flow ends: counters both ways, times, state.
    public mutating func writeFlow(_ flow: Flow, reason: FlowEndReason, alerted: Bool = false,
                                   app: ByteView = .empty) {
        guard isEnabled(.flow) else { return }
        let e = EVEEndpoints(flowID: flow.id, src: flow.clientIP, srcPort: flow.clientPort,
                             dst: flow.serverIP, dstPort: flow.serverPort,
                             ipProto: flow.ipProto, appProto: flow.appProto,
                             srcMAC: flow.clientMAC, dstMAC: flow.serverMAC)
        begin(.flow, time: flow.lastSeen, e)
        field("app", app) // App-ID, nDPI's "master.app" ("TLS.YouTube"); absent when unknown
        json.key("flow"); json.beginObject()
        json.key("pkts_toserver"); json.uint(flow.packets.0)
        json.key("pkts_toclient"); json.uint(flow.packets.1)
        json.key("bytes_toserver"); json.uint(flow.bytes.0)
        json.key("bytes_toclient"); json.uint(flow.bytes.1)
        json.key("start"); json.timestamp(flow.firstSeen)
        json.key("end"); json.timestamp(flow.lastSeen)
        json.key("age"); json.int(flow.lastSeen.seconds - flow.firstSeen.seconds)
        json.key("state"); json.string(flowStateName(flow))
        json.key("reason"); json.string(reason.eveName)
        json.key("alerted"); json.bool(alerted)
        json.endObject()
        if flow.ipProto == IPProto.tcp {
            json.key("tcp"); json.beginObject()
            let all = flow.tcpFlagsSeen.0 | flow.tcpFlagsSeen.1
            json.key("tcp_flags"); hexByte(all)
            json.key("tcp_flags_ts"); hexByte(flow.tcpFlagsSeen.0)
            json.key("tcp_flags_tc"); hexByte(flow.tcpFlagsSeen.1)
            let f = TCPFlags(rawValue: all)
            if f.contains(.syn) { json.key("syn"); json.bool(true) }
            if f.contains(.fin) { json.key("fin"); json.bool(true) }
            if f.contains(.rst) { json.key("rst"); json.bool(true) }
            if f.contains(.psh) { json.key("psh"); json.bool(true) }
            if f.contains(.ack) { json.key("ack"); json.bool(true) }
            if flow.midstream { json.key("midstream"); json.bool(true) }
            json.key("state"); json.string(tcpStateName(flow.tcpState))
            json.endObject()
        }
        end()
    }

    mutating func hexByte(_ b: UInt8) { json.stringHex(UInt64(b), width: 2) }

    func flowStateName(_ flow: Flow) -> StaticString {
        if flow.ipProto == IPProto.tcp {
            switch flow.tcpState {
            // Suricata's flow state: LAST_ACK and TIME_WAIT are closed already.
            case .closed, .lastAck, .timeWait: return "closed"
            case .established, .finWait1, .finWait2, .closing, .closeWait: return "established"
            default: return "new"
            }
        }
        return flow.hasBothDirections ? "established" : "new"
    }

    func tcpStateName(_ s: TCPState) -> StaticString {
        switch s {
        case .none: return "none"
        case .synSent: return "syn_sent"
        case .synRecv: return "syn_recv"
        case .established: return "established"
        case .finWait1: return "fin_wait1"
        case .finWait2: return "fin_wait2"
        case .closing: return "closing"
        case .closed: return "closed"
        case .closeWait: return "close_wait"
        case .lastAck: return "last_ack"
        case .timeWait: return "time_wait"
        }
    }
}
