import UTMCore

/// The anomalies one packet raised at each layer, for `decode-event:`, `stream-event:` and
/// `app-layer-event:` rules (Suricata's decoder/stream/app-layer event rules). Three words,
/// not a list: a rule's requirement is a mask per layer, tested in one AND each.
public struct PacketAnomalies: Sendable, Equatable {
    /// `DecodeEvents` bits (UTMDecode).
    public var decode: UInt64 = 0
    /// `StreamEvents` bits (UTMFlow).
    public var stream: UInt64 = 0
    /// `AppLayerEvents` bits (UTMAppLayer); bits below 56 mean the events of `facts.appProto`.
    public var app: UInt64 = 0
    /// The protocol whose parser raised the protocol bits of `app` (below 56), when the engine
    /// knows it: in IDS mode packet rules may be shown no protocol while the parser already
    /// runs, and the bits are held (PendingAppEvents.swift) until a packet shows this one.
    public var appRaisedBy: AppProto = .unknown

    public init(decode: UInt64 = 0, stream: UInt64 = 0, app: UInt64 = 0) {
        self.decode = decode
        self.stream = stream
        self.app = app
    }

    @inlinable public var isEmpty: Bool { decode | stream | app == 0 }
}
