/// Sizing of the flow table and the TCP reassembler.
///
/// Why a plain struct with defaults: every limit here bounds memory that hostile traffic could
/// otherwise grow, so each one is fixed when the table and pool are built and never changes on
/// the packet path. Defaults fit the box's office (about 100 devices) with room for scans.
public struct FlowConfig: Sendable {
    /// Maximum number of concurrent flows. The table is allocated at this size at init and
    /// never grows; when it is full a flow is evicted (see `FlowTable.track`).
    /// Default 32768: about 330 concurrent flows for each of the office's ~100 devices (a busy
    /// browser holds tens to a hundred), with idle flows evicted first when a scan fills it.
    /// Every slot costs about 530 bytes across the engine's per-flow arrays, all resident from
    /// the start, so 65536 cost 17 MB more (Suricata preallocates 10,000 flows). utmd
    /// `flow_capacity`, replay `--set flow.capacity=N` for bigger sites.
    public var capacity: Int = 32768
    /// Idle timeouts per protocol and state (Suricata's suricata.yaml defaults).
    public var timeouts: FlowTimeouts = FlowTimeouts()
    /// Bytes per direction handed to the app layer (default 1 MiB, Suricata's
    /// `stream.reassembly.depth`). Past it the direction is no longer reassembled: parsers have
    /// seen the headers that matter, and the cost per flow stays bounded.
    public var streamDepth: Int = 1 << 20
    /// Out-of-order bytes one flow may hold, both directions together, counted in whole pool
    /// chunks (default 64 KiB). Counting chunks, not payload bytes, stops a sender of one-byte
    /// segments from pinning a chunk per byte.
    public var maxOutOfOrderBytesPerFlow: Int = 64 << 10
    /// Out-of-order storage shared by all flows (default 16 MiB), allocated once.
    public var segmentPoolBytes: Int = 16 << 20
    /// Size of one pool chunk (default 512): big enough that a full-size segment needs three,
    /// small enough that small segments do not waste much.
    public var segmentChunkBytes: Int = 512
    /// How many slots the table looks at to pick a flow to evict when it is full (default 32).
    /// Bounded so that a flood costs a fixed amount of work per packet.
    public var evictionSample: Int = 32
    /// Overlap policy of each receiving host (Suricata's `host-os-policy`); hosts in no
    /// network get `defaultOverlapPolicy`. Empty by default: the first bytes seen win.
    public var hostOSPolicies = HostOSPolicies()
    /// Policy for receivers `hostOSPolicies` does not name (default `.first`).
    public var defaultOverlapPolicy: OverlapPolicy = .first
    /// Hold each direction's bytes until the receiver acknowledges them, so that a later
    /// segment overlapping them is judged by the receiver's policy before anything is inspected
    /// (Suricata's IDS mode, which reassembles acknowledged data). Off by default: inline, the
    /// bytes are inspected as they pass and the first ones win. Held bytes use the out-of-order
    /// budget; a direction that exceeds it is delivered as it arrives again.
    public var holdUntilAcked = false
    /// Keep a copy of delivered bytes until the receiver acknowledges them, so a retransmission
    /// carrying different bytes is caught (`TCPReassembler.conflictPayload`): inline it is not
    /// forwarded (Suricata's inline overlap check), IDS its bytes are inspected as a packet.
    /// Best effort: it never takes more than half of the pool, leaving the rest to out-of-order
    /// bytes.
    public var retainUnacked = false
    /// IDS: bytes carried on a SYN (TCP Fast Open, or a SYN with data) wait aside until the
    /// receiver says whether it took them: a SYN/ACK (or any ACK) acknowledging them adds them
    /// to the stream, one acknowledging only the SYN drops them, and the sender's retransmission
    /// fills those stream offsets instead (Suricata's TFO handling in stream-tcp.c). Without it
    /// the box would read the SYN's bytes where the receiver reads the retransmission's. Off
    /// inline: there the SYN's bytes are inspected before the SYN is forwarded (the receiver
    /// may take them), and a retransmission with other bytes is not forwarded
    /// (`retainUnacked`). Held bytes use the flow's out-of-order budget.
    public var holdSynData = false
    /// Key of the flow hash. Random per process by default so that nobody outside can aim
    /// packets at one hash chain; tests fix it to be reproducible.
    public var hashSeed: (UInt64, UInt64)

    public init() {
        var rng = SystemRandomNumberGenerator()
        hashSeed = (rng.next(), rng.next())
    }
}
