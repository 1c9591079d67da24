import UTMCore

/// Identifies the application of each flow from its first payload packets, its server names
/// and its ports, nDPI-style.
///
/// Built once per worker (tables from `AppRegistry`), then shared read-only: `onPayload` and
/// `onName` allocate nothing and never trap on hostile bytes. The per-flow state is the caller's
/// `AppIDState` (16 bytes).
public struct AppIdentifier: Sendable {
    /// Payload packets after which dissection gives up (nDPI gives up after a handful too).
    public var maxPackets: UInt8 = 8

    let descriptors: [AppDescriptor]
    /// Registry indices of the descriptors that have a dissector, in registry order (bit i of
    /// `AppIDState.candidates` is `dissectors[i]`).
    let dissectors: [Dissector]
    /// Dissectors that run whatever the port, per transport (0 TCP, 1 UDP).
    let anyPortMask: (UInt64, UInt64)
    /// Port-restricted dissectors by (transport << 16 | port).
    let portMask: [UInt32: UInt64]
    /// By-port guess when nothing else identified the flow, indexed by port.
    let tcpPortGuess: [AppID]
    let udpPortGuess: [AppID]
    let names: NameTable

    public init() {
        let all = AppRegistry.all
        descriptors = all
        var ds: [Dissector] = []
        var anyTCP: UInt64 = 0, anyUDP: UInt64 = 0
        var pm: [UInt32: UInt64] = [:]
        var tg = [AppID](repeating: .unknown, count: 65536)
        var ug = [AppID](repeating: .unknown, count: 65536)
        var patterns: [(StaticString, AppID)] = []
        for d in all {
            for p in d.tcpPorts where tg[Int(p)] == .unknown { tg[Int(p)] = d.id }
            for p in d.udpPorts where ug[Int(p)] == .unknown { ug[Int(p)] = d.id }
            for n in d.names { patterns.append((n, d.id)) }
            guard let dis = d.dissector, ds.count < 64 else { continue }
            let bit: UInt64 = 1 << UInt64(ds.count)
            ds.append(dis)
            if dis.portsOnly {
                if dis.transports.contains(.tcp) { for p in d.tcpPorts { pm[6 << 16 | UInt32(p), default: 0] |= bit } }
                if dis.transports.contains(.udp) { for p in d.udpPorts { pm[17 << 16 | UInt32(p), default: 0] |= bit } }
            } else {
                if dis.transports.contains(.tcp) { anyTCP |= bit }
                if dis.transports.contains(.udp) { anyUDP |= bit }
            }
        }
        dissectors = ds
        anyPortMask = (anyTCP, anyUDP)
        portMask = pm
        tcpPortGuess = tg
        udpPortGuess = ug
        names = NameTable(patterns)
    }

    /// Number of name patterns in the table (for the README and tests).
    public var namePatternCount: Int { names.count }

    // MARK: Payload

    /// One packet's payload (TCP: in-order stream bytes; UDP: the datagram). Empty payloads are
    /// ignored. Stops by itself after `maxPackets` packets; then `state.done` is set.
    public func onPayload(_ state: inout AppIDState, payload: ByteView, direction: Direction,
                          transport: UInt8, serverPort: UInt16, clientPort: UInt16) {
        if state.done || payload.isEmpty { return }
        if !state.started {
            state.started = true
            state.candidates = initialCandidates(transport, serverPort, clientPort)
        }
        let index = Int(state.packets)
        if state.packets < 255 { state.packets += 1 }
        let input = ProbeInput(payload: payload, direction: direction, transport: transport,
                               serverPort: serverPort, clientPort: clientPort, packetIndex: index)
        var bits = state.candidates
        while bits != 0 {
            let i = bits.trailingZeroBitCount
            bits &= bits &- 1
            switch dissectors[i].probe(input) {
            case .needMore:
                continue
            case .no:
                state.candidates &= ~(1 << UInt64(i))
            case .match(let id):
                record(&state, id, .payload)
                if descriptors[Int(id.rawValue)].kind == .carrier { refineByPort(&state, transport, serverPort) }
                state.done = true
                return
            }
        }
        if state.candidates == 0 || state.packets >= maxPackets {
            state.done = true
            if state.master == .unknown && state.app == .unknown {
                guess(&state, transport, serverPort, clientPort)
            }
        }
    }

    /// A flow that ends (or is given up by the engine) before dissection finished still gets
    /// the by-port guess.
    public func onEnd(_ state: inout AppIDState, transport: UInt8, serverPort: UInt16, clientPort: UInt16) {
        guard state.master == .unknown && state.app == .unknown else { return }
        guess(&state, transport, serverPort, clientPort)
    }

    func initialCandidates(_ transport: UInt8, _ sp: UInt16, _ cp: UInt16) -> UInt64 {
        var m: UInt64
        switch transport {
        case 6: m = anyPortMask.0
        case 17: m = anyPortMask.1
        default: return 0
        }
        let t = UInt32(transport) << 16
        m |= portMask[t | UInt32(sp)] ?? 0
        if cp != sp { m |= portMask[t | UInt32(cp)] ?? 0 }
        return m
    }

    func guess(_ state: inout AppIDState, _ transport: UInt8, _ sp: UInt16, _ cp: UInt16) {
        var id = AppID.unknown
        switch transport {
        case 6:
            id = tcpPortGuess[Int(sp)]
            if id == .unknown { id = tcpPortGuess[Int(cp)] }
        case 17:
            id = udpPortGuess[Int(sp)]
            if id == .unknown { id = udpPortGuess[Int(cp)] }
        case 50, 51:
            id = .ipsec
        default:
            break
        }
        if id != .unknown { record(&state, id, .port) }
    }

    /// A carrier on a service's own port (TLS on 853 is DoT, on 7070 AnyDesk, on 9001 Tor):
    /// the port names the service until a server name says otherwise.
    func refineByPort(_ state: inout AppIDState, _ transport: UInt8, _ sp: UInt16) {
        guard state.app == .unknown else { return }
        let id = transport == 6 ? tcpPortGuess[Int(sp)] : transport == 17 ? udpPortGuess[Int(sp)] : .unknown
        if id != .unknown && descriptors[Int(id.rawValue)].kind == .service { state.app = id }
    }

    /// Stores an identification: carriers and protocols become the master, services the app.
    @inline(__always)
    func record(_ state: inout AppIDState, _ id: AppID, _ confidence: AppIDConfidence) {
        let d = descriptors[Int(id.rawValue)]
        if d.kind == .service {
            state.app = id
        } else {
            state.master = id
        }
        if state.confidence < confidence { state.confidence = confidence }
    }

    // MARK: Names

    /// A server name seen in the flow (TLS/QUIC SNI, HTTP Host, DNS query). Refines the master
    /// (which the name's kind implies when no signature set it) to the service it belongs to.
    public func onName(_ state: inout AppIDState, name: ByteView, kind: NameKind) {
        if state.master == .unknown || state.confidence <= .port {
            switch kind {
            case .sni: state.master = .tls
            case .httpHost: state.master = .http
            case .dnsQuery: state.master = .dns
            case .quicSNI: state.master = .quic
            }
        }
        let id = names.lookup(name)
        guard id != .unknown else {
            if state.confidence < .name { state.confidence = .name }
            return
        }
        let d = descriptors[Int(id.rawValue)]
        if d.kind == .service {
            state.app = id
        } else if id != state.master {
            // A protocol found by name (DoH resolvers, Tor directories): it is the app.
            state.app = id
        }
        if state.confidence < .name { state.confidence = .name }
    }

    /// The name of a service found by name only, for callers that look names up on their own
    /// (the web filter's log, the policy compiler).
    public func lookup(name: ByteView) -> AppID { names.lookup(name) }

    // MARK: Names of ids

    /// nDPI's name for an id ("YouTube", "TLS").
    public static func name(_ id: AppID) -> StaticString {
        let i = Int(id.rawValue)
        return i < AppRegistry.all.count ? AppRegistry.all[i].name : "Unknown"
    }

    /// nDPI's "master.app" form of a flow's result, written byte by byte (no String).
    public static func writeName(_ state: AppIDState, _ emit: (UInt8) -> Void) {
        if state.master != .unknown && state.app != .unknown && state.master != state.app {
            name(state.master).byteView.forEachByte(emit)
            emit(UInt8(ascii: "."))
            name(state.app).byteView.forEachByte(emit)
        } else {
            name(state.result).byteView.forEachByte(emit)
        }
    }

    /// The id with nDPI's name `text` (configuration, tests). Slow path.
    public static func id(named text: String) -> AppID? {
        for d in AppRegistry.all where d.name.description.lowercased() == text.lowercased() { return d.id }
        return nil
    }
}
