import UTMAppID
import UTMCore
import UTMFlow

/// One active flow as the control socket shows it (`utmctl flows`): fixed-size, so a worker
/// can fill a pre-sized array without allocating per flow.
public struct FlowSummary: Sendable {
    public var id: UInt64 = 0
    /// Flow-table slot: the daemon keys its per-flow zone pair by it.
    public var slot: Int32 = -1
    public var clientIP: IPAddress = .none
    public var serverIP: IPAddress = .none
    public var clientPort: UInt16 = 0
    public var serverPort: UInt16 = 0
    public var ipProto: UInt8 = 0
    public var bytesToServer: UInt64 = 0
    public var bytesToClient: UInt64 = 0
    public var packets: UInt64 = 0
    public var firstSeen: Timestamp = .zero
    public var lastSeen: Timestamp = .zero
    public var appProto: AppProto = .unknown
    /// App-ID's result (master, app), `.unknown` when not identified (yet).
    public var master: AppID = .unknown
    public var app: AppID = .unknown

    public init() {}

    public var bytes: UInt64 { bytesToServer &+ bytesToClient }

    /// "TLS.YouTube", "HTTP", or the app-layer protocol when App-ID has nothing.
    public var appName: String {
        if master != .unknown && app != .unknown && master != app {
            return "\(AppIdentifier.name(master)).\(AppIdentifier.name(app))"
        }
        if app != .unknown { return "\(AppIdentifier.name(app))" }
        if master != .unknown { return "\(AppIdentifier.name(master))" }
        return appProto == .unknown ? "unknown" : "\(appProto.eveName)"
    }
}

extension Engine {
    /// The `limit` active flows with the most bytes, biggest first, into `out` (its capacity
    /// is kept: the worker reuses one array). Called on the worker thread when the control
    /// socket asks; it walks the whole table, so never per packet.
    public func topFlows(into out: inout [FlowSummary], limit: Int) {
        out.removeAll(keepingCapacity: true)
        guard limit > 0 else { return }
        flows.forEachActive { ref, f in
            let total = f.bytes.0 &+ f.bytes.1
            if out.count == limit, let last = out.last, last.bytes >= total { return }
            var s = FlowSummary()
            s.id = f.id
            s.slot = ref.index
            s.clientIP = f.clientIP
            s.serverIP = f.serverIP
            s.clientPort = f.clientPort
            s.serverPort = f.serverPort
            s.ipProto = f.ipProto
            s.bytesToServer = f.bytes.0
            s.bytesToClient = f.bytes.1
            s.packets = f.packets.0 &+ f.packets.1
            s.firstSeen = f.firstSeen
            s.lastSeen = f.lastSeen
            s.appProto = f.appProto
            let i = Int(ref.index)
            if appID.enabled && i < appID.states.count {
                s.master = appID.states[i].master
                s.app = appID.states[i].app
            }
            // Insertion into a short sorted list: limit is small (≤ 100).
            var at = out.count
            while at > 0 && out[at - 1].bytes < total { at -= 1 }
            if out.count == limit { out.removeLast() }
            out.insert(s, at: min(at, out.count))
        }
    }
}
