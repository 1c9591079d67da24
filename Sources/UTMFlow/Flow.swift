import UTMCore

/// A handle on a flow slot. The generation changes each time the slot is freed, so a handle
/// kept past the end of its flow (an engine bug, or a late event) never reaches the next flow
/// that reuses the slot.
public struct FlowRef: Hashable, Sendable {
    public var index: Int32
    public var generation: UInt32

    @inlinable
    public init(index: Int32, generation: UInt32) {
        self.index = index
        self.generation = generation
    }
}

/// Why a flow ended; EVE's `flow.reason` (timeout, forced/evicted, shutdown) comes from it.
public enum FlowEndReason: UInt8, Sendable {
    /// Idle past the timeout of its state.
    case timeout
    /// Pushed out to make room while the table was full.
    case evicted
    /// A TCP session in a closed-class state (`TCPState.timeoutClass`: CLOSED, LAST_ACK,
    /// TIME_WAIT) that timed out or was evicted idle past its timeout, or whose ports a new
    /// SYN reused while it was closing or closed (`FlowTable.reuseAllowed`).
    case tcpClosed
    /// End of the capture, or the daemon stopping.
    case shutdown
}

/// What one side of a TCP connection has sent, as far as the state machine and the
/// reassembler know. `Flow.stream(.toServer)` describes the bytes the client sends.
///
/// Why inline in the flow: the per-flow state must be a small value in the pre-sized table
/// (no class, no pointer per flow); the out-of-order bytes themselves live in the shared
/// segment pool and are reached by `oooHead`.
public struct TCPStream: Sendable {
    // Fields are grouped by size (8-, 4-, then 1-byte) so the struct packs into 88 bytes
    // instead of 104: there are two per flow slot and 65,536 slots, all resident (3 MB).

    // Reassembly offsets (written by `TCPReassembler.process`).
    /// Stream offset of the next byte to deliver; everything before it was delivered or
    /// skipped as a gap.
    public internal(set) var nextOffset: UInt64 = 0
    /// Highest stream offset (exclusive) of any data seen from this side.
    public internal(set) var highestEnd: UInt64 = 0
    /// Stream offset the FIN occupies; `UInt64.max` until a FIN is seen.
    public internal(set) var finOffset: UInt64 = .max
    /// Stream offset (exclusive) the receiver has acknowledged, while `hold`.
    var ackedOffset: UInt64 = 0

    // State machine (written by `FlowTable.track`).
    /// Initial sequence number, valid when `synSeen`.
    public internal(set) var isn: UInt32 = 0
    /// Sequence number of the FIN, valid when `finSeen`.
    public internal(set) var finSeq: UInt32 = 0
    /// One past the highest sequence number this side has sent (data, SYN and FIN count).
    public internal(set) var sendNext: UInt32 = 0
    /// Last window this side advertised, scaled when both SYNs carried the scale option.
    public internal(set) var window: UInt32 = 0
    /// Sequence number of stream offset 0: ISN + 1 after a SYN, else the first data seen.
    public internal(set) var baseSeq: UInt32 = 0
    /// Bytes of this side's SYN waiting aside in the queue (stream offsets 0 up to this) until
    /// the receiver acknowledges or refuses them (FlowConfig.holdSynData); 0 when none. Nothing
    /// of this direction is delivered meanwhile.
    var synData: UInt32 = 0
    /// Out-of-order bytes queued in the segment pool: first node, and chunks held.
    var oooHead: Int32 = -1
    var oooChunks: Int32 = 0
    /// Copies of delivered, not yet acknowledged bytes (FlowConfig.retainUnacked): a sorted
    /// list of pool nodes, first and last, and chunks held.
    var retHead: Int32 = -1
    var retTail: Int32 = -1
    var retChunks: Int32 = 0

    /// End (stream offset) of the SYN's data delivered with the SYN (inline): those bytes were
    /// read before the session was established, so a retransmission of them is inspected as a
    /// packet (`TCPReassembler.packetRepeatsSynData`). A SYN carries at most 65,535 bytes.
    var synDelivered: UInt16 = 0
    public internal(set) var synSeen = false
    public internal(set) var finSeen = false
    /// The peer acknowledged the FIN.
    public internal(set) var finAcked = false
    public internal(set) var sendNextKnown = false
    /// Window scale option of this side's SYN; 255 when absent.
    public internal(set) var windowScale: UInt8 = 255
    /// Reassembly has a base sequence number.
    public internal(set) var started = false
    /// No more bytes are delivered: FIN consumed, RST, or stream depth reached.
    public internal(set) var done = false
    /// The next delivered chunk follows skipped bytes.
    var pendingGap = false
    /// The receiver's overlap policy (FlowConfig.hostOSPolicies), set when the stream starts.
    public internal(set) var overlapPolicy: OverlapPolicy = .first
    /// Bytes wait in the queue until acknowledged (FlowConfig.holdUntilAcked).
    var hold = false

    public init() {}

    /// Sequence number of stream offset `offset`.
    @inlinable
    public func seq(atOffset offset: UInt64) -> UInt32 { baseSeq &+ UInt32(truncatingIfNeeded: offset) }

    /// Chunks of the segment pool this side holds.
    public var queuedChunks: Int { Int(oooChunks) }
}

/// One flow: a small value stored in the table's pre-sized array and changed in place through
/// `FlowTable[ref]`.
public struct Flow: Sendable {
    /// Unique, non-zero; EVE's `flow_id`. Below 2^48 so JSON readers keep it exact.
    public internal(set) var id: UInt64 = 0
    public internal(set) var clientIP: IPAddress = .none
    public internal(set) var serverIP: IPAddress = .none
    public internal(set) var clientPort: UInt16 = 0
    public internal(set) var serverPort: UInt16 = 0
    public internal(set) var ipProto: UInt8 = 0
    /// Outer and inner VLAN id (0 when absent); part of the key, as in Suricata.
    public internal(set) var vlan: (UInt16, UInt16) = (0, 0)
    // The highest ACK number each side sent (Suricata's `last_ack` of the other side's stream),
    // valid per `lastAckKnown`. Three fields in three alignment holes of this struct (after
    // `vlan`, `firstSeen` and `lastSeen`), so they cost no byte: `MemoryLayout<Flow>.stride` is
    // 336 before and after (TCPStreamLayoutTests). Inside `TCPStream` they made it 96 bytes.
    /// Highest ACK number the client sent: how far the server's bytes are acknowledged.
    public internal(set) var clientLastAck: UInt32 = 0
    /// Ethernet addresses of the flow's first packet, oriented client → server (EVE `ether`);
    /// `.none` when it came without an Ethernet header. Two words in the record, no storage.
    public internal(set) var clientMAC: MACAddress = .none
    public internal(set) var serverMAC: MACAddress = .none
    public internal(set) var firstSeen: Timestamp = .zero
    /// Highest ACK number the server sent: how far the client's bytes are acknowledged.
    public internal(set) var serverLastAck: UInt32 = 0
    public internal(set) var lastSeen: Timestamp = .zero
    /// Bit 0: `clientLastAck` is valid, bit 1: `serverLastAck` is valid.
    public internal(set) var lastAckKnown: UInt8 = 0
    /// Per direction, indexed by `Direction.index` (.toServer = 0).
    public internal(set) var packets: (UInt64, UInt64) = (0, 0)
    /// Wire bytes per direction.
    public internal(set) var bytes: (UInt64, UInt64) = (0, 0)
    public internal(set) var tcpState: TCPState = .none
    /// Union of TCP flags seen per direction (EVE `tcp_flags_ts` / `tcp_flags_tc`).
    public internal(set) var tcpFlagsSeen: (UInt8, UInt8) = (0, 0)
    /// The first packet was not a SYN (or was a SYN/ACK): the session was picked up midway.
    public internal(set) var midstream = false
    /// A valid RST was seen.
    public internal(set) var rstSeen = false
    /// Who sent the first believed RST: 1 the client, 2 the server, 0 none (a packet from the
    /// other side afterwards raises `suspected_rst_inject`).
    var rstFrom: UInt8 = 0
    /// The last packet was the bare ACK that completed the handshake. Suricata marks a packet
    /// established by the flow's state before the stream engine saw it, so for `flow:` that
    /// ACK is not established yet (ips/firewall-06). An ACK carrying data counts as
    /// established, so its bytes are inspected as the stream's first (a split handshake's
    /// data packet completes it here).
    public internal(set) var handshakeCompletedNow = false
    /// Set by the engine.
    public var appProto: AppProto = .unknown
    /// Owned by the engine: index into its parser pools; -1 when none.
    public var appSlot: Int32 = -1
    /// Owned by the engine.
    public var engineFlags: UInt32 = 0
    /// Bytes the client sends (`.toServer`) and the server sends (`.toClient`).
    public internal(set) var toServer = TCPStream()
    public internal(set) var toClient = TCPStream()

    public init() {}

    /// Traffic was seen both ways (UDP and ICMP count as established from then on).
    @inlinable
    public var hasBothDirections: Bool { packets.0 > 0 && packets.1 > 0 }

    /// The stream sent in `direction`.
    @inlinable
    public func stream(_ direction: Direction) -> TCPStream {
        direction == .toServer ? toServer : toClient
    }

    /// The highest ACK number the side sending in `direction` has sent, nil before its first
    /// believed ACK. Seen from the other stream it is Suricata's `last_ack`: everything before it
    /// was received.
    @inlinable
    public func lastAck(sentBy direction: Direction) -> UInt32? {
        direction == .toServer
            ? (lastAckKnown & 1 != 0 ? clientLastAck : nil)
            : (lastAckKnown & 2 != 0 ? serverLastAck : nil)
    }

    /// Records an ACK number sent in `direction`; only a later one moves it (Suricata's
    /// StreamTcpUpdateLastAck), so a reordered old ACK does not pull it back.
    @inline(__always)
    mutating func noteAck(_ ack: UInt32, sentBy direction: Direction) {
        if direction == .toServer {
            if lastAckKnown & 1 == 0 || Int32(bitPattern: ack &- clientLastAck) > 0 { clientLastAck = ack }
            lastAckKnown |= 1
        } else {
            if lastAckKnown & 2 == 0 || Int32(bitPattern: ack &- serverLastAck) > 0 { serverLastAck = ack }
            lastAckKnown |= 2
        }
    }

    /// In-place access to one direction's stream, without copying the other.
    @inline(__always)
    mutating func withStream<R>(_ d: Direction, _ body: (inout TCPStream) -> R) -> R {
        d == .toServer ? body(&toServer) : body(&toClient)
    }

    /// Swaps client and server with every per-direction field (`FlowTable.reverse`).
    mutating func reverse() {
        swap(&clientIP, &serverIP)
        swap(&clientPort, &serverPort)
        swap(&clientMAC, &serverMAC)
        packets = (packets.1, packets.0)
        bytes = (bytes.1, bytes.0)
        tcpFlagsSeen = (tcpFlagsSeen.1, tcpFlagsSeen.0)
        if rstFrom != 0 { rstFrom = 3 - rstFrom }
        swap(&clientLastAck, &serverLastAck)
        lastAckKnown = (lastAckKnown & 1) << 1 | (lastAckKnown & 2) >> 1
        swap(&toServer, &toClient)
    }

    @inline(__always)
    mutating func withStreams<R>(_ d: Direction, _ body: (inout TCPStream, inout TCPStream) -> R) -> R {
        d == .toServer ? body(&toServer, &toClient) : body(&toClient, &toServer)
    }
}
