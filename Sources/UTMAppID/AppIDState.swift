/// Per-flow App-ID state: a few bytes, kept inline in the flow (no allocation, no class).
///
/// `master` is the carrier or protocol (TLS, QUIC, HTTP, DNS, STUN, SSH...), `app` the service
/// a name or signature refined it to (YouTube, Zoom...). nDPI prints them as "TLS.YouTube".
public struct AppIDState: Sendable, Equatable {
    public internal(set) var master: AppID = .unknown
    public internal(set) var app: AppID = .unknown
    public internal(set) var confidence: AppIDConfidence = .none
    /// Payload dissection has finished (identified, or every candidate gave up): the engine
    /// may stop calling `onPayload`. Names may still refine `app`.
    public internal(set) var done: Bool = false
    /// Dissectors still in the running, one bit per `AppRegistry.dissectors` index.
    var candidates: UInt64 = 0
    /// Payload-carrying packets seen so far (saturating).
    var packets: UInt8 = 0
    var started: Bool = false

    public init() {}

    /// The most specific identification: the app when there is one, else the master.
    @inlinable public var result: AppID { app != .unknown ? app : master }
}
