import UTMCore
import UTMDecode
import UTMFlow
import UTMAppID
import UTMOutput

/// Application identification settings of the engine. On by default: the monthly report needs
/// an application per flow ([000 3.2]).
public struct AppIDSettings: Sendable {
    /// Identify applications and write `app` in flow events. Default true.
    public var enabled = true
    /// Applications (or protocols) whose flows are refused as soon as App-ID is sure of them
    /// (a server name or a payload signature, not a port guess) [003]: TCP flows are reset both
    /// ways, UDP flows dropped. Default none.
    public var blocked: [AppID] = []

    public init(enabled: Bool = true, blocked: [AppID] = []) {
        self.enabled = enabled
        self.blocked = blocked
    }

    /// Ids of nDPI-style names ("YouTube", "BitTorrent"; case-insensitive), for configuration
    /// files. Throws on a name App-ID does not know, so a typo cannot silently allow an app.
    public static func resolve(_ names: [String]) throws(AppIDSettingsError) -> [AppID] {
        var ids: [AppID] = []
        for n in names {
            guard let id = AppIdentifier.id(named: n), id != .unknown else { throw AppIDSettingsError(name: n) }
            ids.append(id)
        }
        return ids
    }
}

public struct AppIDSettingsError: Error, CustomStringConvertible, Sendable {
    public var name: String
    public var description: String { "blockedApps: no application called \(name)" }
}

/// The engine's App-ID state: the identifier tables and one `AppIDState` per flow-table slot
/// (indexed by `FlowRef.index`, reset when the slot gets a new flow). Everything is sized at
/// start-up; nothing grows per packet.
struct EngineAppIDStage {
    let enabled: Bool
    let identifier: AppIdentifier
    var states: [AppIDState]
    /// By `AppID.rawValue`: refused applications.
    let blocked: [Bool]
    let anyBlocked: Bool
    /// Reused for the `app` text of each flow event.
    var name: [UInt8]

    init(settings: AppIDSettings, flowCapacity: Int) {
        enabled = settings.enabled
        identifier = AppIdentifier()
        states = Array(repeating: AppIDState(), count: settings.enabled ? flowCapacity : 0)
        var b = Array(repeating: false, count: AppID.allCases.count)
        for id in settings.blocked where Int(id.rawValue) < b.count { b[Int(id.rawValue)] = true }
        blocked = b
        anyBlocked = settings.enabled && !settings.blocked.isEmpty
        name = []
        name.reserveCapacity(64)
    }

    func isBlocked(_ id: AppID) -> Bool { id != .unknown && blocked[Int(id.rawValue)] }
}

extension Engine {
    /// Hook: a flow-table slot got a new flow (`FlowTable.track` said `isNew`).
    func appIDFlowStarted(_ ref: FlowRef) {
        guard appID.enabled else { return }
        appID.states[Int(ref.index)] = AppIDState()
    }

    /// Payload dissection has finished for the flow (or App-ID is off): together with the
    /// parser being done, the engine may stop reassembling it.
    func appIDDone(_ ref: FlowRef) -> Bool {
        !appID.enabled || appID.states[Int(ref.index)].done
    }

    /// Hook: in-order TCP stream bytes or a UDP datagram of the flow.
    func appIDPayload(_ ref: FlowRef, _ data: ByteView, _ direction: Direction, _ m: EVEEndpoints) {
        guard appID.enabled else { return }
        let i = Int(ref.index)
        if appID.states[i].done { return }
        appID.identifier.onPayload(&appID.states[i], payload: data, direction: direction,
                                   transport: m.ipProto, serverPort: m.dstPort, clientPort: m.srcPort)
        if appID.anyBlocked { appIDEnforce(ref, m) }
    }

    /// Hook: a server name the app-layer parsers found (TLS/QUIC SNI, HTTP Host, DNS query).
    func appIDName(_ ref: FlowRef, _ name: ByteView, _ kind: NameKind, _ m: EVEEndpoints) {
        guard appID.enabled, !name.isEmpty else { return }
        appID.identifier.onName(&appID.states[Int(ref.index)], name: name, kind: kind)
        if appID.anyBlocked { appIDEnforce(ref, m) }
    }

    /// App restrictions: refuse the flow once App-ID is sure (name or payload) of a blocked
    /// application or protocol.
    func appIDEnforce(_ ref: FlowRef, _ m: EVEEndpoints) {
        let s = appID.states[Int(ref.index)]
        guard s.confidence >= .name, appID.isBlocked(s.app) || appID.isBlocked(s.master) else { return }
        let d = m.ipProto == IPProto.tcp
            ? PacketDecision(verdict: .reject, response: .tcpResetBoth, source: .appPolicy)
            : PacketDecision(verdict: .drop, response: .none, source: .appPolicy)
        refuse(d, reason: "app policy", m, webFilter: nil)
    }

    /// Hook in `endFlow`: the by-port guess for flows that ended early, then the flow event
    /// with `app`.
    func writeFlowEvent(_ ref: FlowRef, _ flow: Flow, _ reason: FlowEndReason, alerted: Bool) {
        guard appID.enabled, Int(ref.index) < appID.states.count else {
            eve.writeFlow(flow, reason: reason, alerted: alerted)
            return
        }
        let i = Int(ref.index)
        appID.identifier.onEnd(&appID.states[i], transport: flow.ipProto, serverPort: flow.serverPort,
                               clientPort: flow.clientPort)
        let s = appID.states[i]
        appID.name.removeAll(keepingCapacity: true)
        if s.result != .unknown {
            AppIdentifier.writeName(s) { appID.name.append($0) }
        }
        appID.name.withByteView { eve.writeFlow(flow, reason: reason, alerted: alerted, app: $0) }
    }

    /// The App-ID result of a live flow (tests, `utmctl status`).
    public func appIDState(_ ref: FlowRef) -> AppIDState? {
        guard appID.enabled, flows.isValid(ref) else { return nil }
        return appID.states[Int(ref.index)]
    }
}
