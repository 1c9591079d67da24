import CNetfilterQueue
import UTMCore
import UTMSystem

#if canImport(Glibc)
import Glibc
#endif

/// How one NFQUEUE is bound. A plain value with the defaults the box runs with.
public struct NFQueueConfig: Sendable {
    /// The queue number (iptables `--queue-num`, or one of `--queue-balance`'s range).
    public var queue: UInt16
    /// Bytes of each packet copied to us. 0xffff: whole packets, also GSO super-packets up to
    /// 64 KiB; the engine needs every payload byte for reassembly and detection.
    public var copyRange: UInt32 = 0xffff
    /// Packets the kernel holds for this queue before `failOpen` applies (default 4096).
    public var maxLength: UInt32 = 4096
    /// NFQA_CFG_F_FAIL_OPEN: when the kernel queue is full, packets are accepted uninspected
    /// instead of dropped — an overloaded box degrades to a cable, never to an outage.
    public var failOpen = true
    /// NFQA_CFG_F_GSO: the kernel hands us GSO/GRO super-packets unsegmented (fewer messages,
    /// no software segmentation on the box). Their checksums may be unset (CHECKSUM_PARTIAL);
    /// we only read and reinject them unchanged, so that is harmless.
    public var gso = true
    /// Socket receive buffer (SO_RCVBUFFORCE). Large, so bursts wait in the socket rather than
    /// being lost to ENOBUFS (see `NFQueueStats.socketOverruns`).
    public var receiveBufferBytes: Int32 = 8 << 20
    /// Accepts are collected and sent as one batch verdict (`nfq_set_verdict_batch`) when the
    /// socket is drained or `batchLimit` is reached; a drop flushes the batch first so ids stay
    /// in order. Off: one verdict message per packet.
    public var batchVerdicts = true
    public var batchLimit = 64
    /// How long a blocking read waits before the loop looks at its stop flag (milliseconds).
    public var pollMilliseconds = 100

    public init(queue: UInt16) {
        self.queue = queue
    }
}

/// One queued packet, lent to the handler: `payload` points into the source's receive buffer
/// and is valid only during the call. It starts at the IP header (no link layer).
public struct NFQueuePacket {
    /// The kernel's id of the packet, for its verdict.
    public var id: UInt32
    /// Ethertype of the packet (0x0800 IPv4, 0x86dd IPv6).
    public var hwProtocol: UInt16
    public var payload: ByteView
    /// Length before the copy range cut it (the wire length for the engine's counters).
    public var originalLength: Int
    /// Interface indices: logical (a bridge, in bridge mode) and physical (the bridge port,
    /// from br_netfilter). 0 when unknown. Zones are derived from the physical ones.
    public var inDevice: UInt32
    public var outDevice: UInt32
    public var physInDevice: UInt32
    public var physOutDevice: UInt32
    public var mark: UInt32
}

/// What the source tells the kernel about a packet. Rejects are a drop here; the answer to the
/// sender is sent by `ActiveResponder` before the drop verdict.
public enum NFQueueVerdict: Sendable {
    case accept
    case drop
    /// Accept, and re-run the hook with `mark` OR-ed into the packet mark (NF_REPEAT, as
    /// Suricata's repeat mode): the daemon's iptables chain copies the mark to the connection,
    /// and later packets of the flow skip the queue (flow bypass).
    case bypass(mark: UInt32)
}

/// Counters of one queue (read by the worker for status and the stats event).
public struct NFQueueStats: Sendable {
    public var packets: UInt64 = 0
    public var accepted: UInt64 = 0
    public var dropped: UInt64 = 0
    /// Accepted with the bypass mark (their flow is no longer queued).
    public var bypassed: UInt64 = 0
    public var verdictMessages: UInt64 = 0
    /// ENOBUFS from recv: the socket buffer overflowed and packet messages were lost to us.
    /// Those packets stay queued in the kernel until the queue is full (then fail-open applies)
    /// or the queue is unbound; NETLINK_NO_ENOBUFS is not set so that we do count them.
    public var socketOverruns: UInt64 = 0
    public var verdictFailures: UInt64 = 0
    public init() {}
}

/// The live inline packet source: one NFQUEUE, one thread, one engine (Suricata's source-nfq).
///
/// Every packet the handler sees gets exactly one verdict: accepts may be batched, but the
/// batch is flushed before any drop, when the socket is drained and before `run` returns.
/// With `iptables … -j NFQUEUE --queue-bypass`, packets pass unqueued while no process is
/// bound (daemon stopped or crashed); packets that were queued but not yet given a verdict when
/// the process dies are dropped by the kernel (TCP retransmits them).
///
/// Not thread-safe: one instance per worker thread; `requestStop` may be called from any thread.
public final class NFQueueSource {
    public let config: NFQueueConfig
    public private(set) var stats = NFQueueStats()
    private var handle: OpaquePointer?   // struct nfq_handle *
    private var queueHandle: OpaquePointer? // struct nfq_q_handle *
    private let fd: Int32
    private let buffer: UnsafeMutableRawPointer
    private let bufferSize: Int
    /// Packets parsed from the last message by the C callback (usually one), preallocated.
    private var parsed: UnsafeMutablePointer<NFQueuePacket>
    private var parsedCount = 0
    private let parsedCapacity = 64
    private var batchPending = false
    private var batchLastID: UInt32 = 0
    private var batchCount = 0
    private let stopFlag = UnsafeMutablePointer<Int32>.allocate(capacity: 1)

    /// Opens the netfilter queue socket and binds `config.queue`. Fails with a one-line
    /// `CaptureError` naming the call (e.g. the queue is taken by another process, or no
    /// CAP_NET_ADMIN).
    public init(config: NFQueueConfig) throws {
        self.config = config
        let name = "nfqueue \(config.queue)"
        bufferSize = Int(config.copyRange) + 8192
        buffer = UnsafeMutableRawPointer.allocate(byteCount: bufferSize, alignment: 16)
        parsed = UnsafeMutablePointer<NFQueuePacket>.allocate(capacity: 64)
        stopFlag.initialize(to: 0)
        guard let h = nfq_open() else {
            let e = SystemError(call: "nfq_open", subject: name)
            Self.free(buffer, parsed, stopFlag)
            throw CaptureError(.openFailed, path: name, detail: "\(e.call) failed: \(e.errnoText) (needs CAP_NET_ADMIN)")
        }
        handle = h
        fd = nfq_fd(h)
        do {
            // Legacy binding calls; kernels since 3.8 ignore them, older ones need them.
            _ = nfq_unbind_pf(h, UInt16(AF_INET))
            _ = nfq_bind_pf(h, UInt16(AF_INET))
            _ = nfq_unbind_pf(h, UInt16(AF_INET6))
            _ = nfq_bind_pf(h, UInt16(AF_INET6))
            // The callback gets `self` unretained: the queue never outlives this object (deinit).
            let context = Unmanaged.passUnretained(self).toOpaque()
            guard let q = nfq_create_queue(h, config.queue, nfqCallback, context) else {
                throw Self.failure(name, "nfq_create_queue", hint: " (queue taken by another process?)")
            }
            queueHandle = q
            try Self.check(nfq_set_mode(q, UInt8(NFQNL_COPY_PACKET.rawValue), config.copyRange), name, "nfq_set_mode")
            try Self.check(nfq_set_queue_maxlen(q, config.maxLength), name, "nfq_set_queue_maxlen")
            var flags: UInt32 = 0
            if config.failOpen { flags |= UInt32(NFQA_CFG_F_FAIL_OPEN) }
            if config.gso { flags |= UInt32(NFQA_CFG_F_GSO) }
            let mask = UInt32(NFQA_CFG_F_FAIL_OPEN) | UInt32(NFQA_CFG_F_GSO)
            try Self.check(nfq_set_queue_flags(q, mask, flags), name, "nfq_set_queue_flags")
            var size = config.receiveBufferBytes
            if setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &size, socklen_t(MemoryLayout<Int32>.size)) != 0 {
                // Without CAP_NET_ADMIN over rmem_max; the plain option is capped, still better.
                _ = setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, socklen_t(MemoryLayout<Int32>.size))
            }
            var timeout = timeval(tv_sec: config.pollMilliseconds / 1000,
                                  tv_usec: (config.pollMilliseconds % 1000) * 1000)
            try Self.check(setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size)),
                           name, "setsockopt(SO_RCVTIMEO)")
        } catch {
            // Fully initialised here: deinit runs and frees the buffers.
            close()
            throw error
        }
    }

    private static func free(_ b: UnsafeMutableRawPointer, _ p: UnsafeMutablePointer<NFQueuePacket>,
                             _ s: UnsafeMutablePointer<Int32>) {
        b.deallocate()
        p.deallocate()
        s.deallocate()
    }

    deinit {
        close()
        Self.free(buffer, parsed, stopFlag)
    }

    /// Unbinds the queue and closes the socket. Packets still queued in the kernel are dropped
    /// by it; remove the iptables rules and let `run` drain first (utmd's shutdown order).
    public func close() {
        if let q = queueHandle { _ = nfq_destroy_queue(q) }
        queueHandle = nil
        if let h = handle { _ = nfq_close(h) }
        handle = nil
    }

    /// Asks `run` to return (any thread). `drain`: once the socket has been empty for one poll
    /// interval — after the iptables rules are gone, that is every packet still queued, which
    /// the kernel would otherwise drop when the queue is unbound. Otherwise after the packet in
    /// hand.
    public func requestStop(drain: Bool = false) {
        // A plain store of an aligned Int32: seen by the worker at its next packet or poll.
        stopFlag.pointee = drain ? 2 : 1
    }

    public var stopRequested: Bool { stopFlag.pointee != 0 }

    /// Reads packets until `requestStop`, giving each one the handler's verdict. Returns after
    /// every packet read has its verdict. `idle` runs whenever a read times out (EVE flush,
    /// watchdog, reload at a packet boundary). Throws only on an unrecoverable socket error.
    public func run(idle: () throws -> Void = {},
                    _ handler: (NFQueuePacket) -> NFQueueVerdict) throws {
        guard let h = handle else { return }
        defer { flushBatch() }
        while stopFlag.pointee != 1 {
            let flags: Int32 = batchPending ? Int32(MSG_DONTWAIT) : 0
            let n = recv(fd, buffer, bufferSize, flags)
            if n < 0 {
                let e = errno
                switch e {
                case EINTR:
                    continue
                case EAGAIN, EWOULDBLOCK:
                    if batchPending { flushBatch(); continue }
                    if stopFlag.pointee == 2 { return }
                    try idle()
                    continue
                case ENOBUFS:
                    stats.socketOverruns &+= 1
                    continue
                default:
                    throw CaptureError(.readFailed, path: "nfqueue \(config.queue)",
                                       detail: "recv failed: \(String(cString: strerror(e)))")
                }
            }
            parsedCount = 0
            _ = nfq_handle_packet(h, buffer.assumingMemoryBound(to: CChar.self), Int32(n))
            for i in 0 ..< parsedCount {
                let packet = parsed[i]
                stats.packets &+= 1
                switch handler(packet) {
                case .accept:
                    stats.accepted &+= 1
                    accept(packet.id)
                case .drop:
                    stats.dropped &+= 1
                    flushBatch()
                    setVerdict(packet.id, UInt32(NF_DROP))
                case .bypass(let mark):
                    stats.accepted &+= 1
                    stats.bypassed &+= 1
                    flushBatch()
                    setVerdict(packet.id, UInt32(NF_REPEAT), mark: packet.mark | mark)
                }
            }
        }
    }

    @inline(__always)
    private func accept(_ id: UInt32) {
        guard config.batchVerdicts else {
            setVerdict(id, UInt32(NF_ACCEPT))
            return
        }
        batchPending = true
        batchLastID = id
        batchCount += 1
        if batchCount >= config.batchLimit { flushBatch() }
    }

    /// One verdict message for every accepted packet up to the newest id.
    private func flushBatch() {
        guard batchPending, let q = queueHandle else { return }
        if batchCount == 1 {
            setVerdict(batchLastID, UInt32(NF_ACCEPT))
        } else {
            stats.verdictMessages &+= 1
            if nfq_set_verdict_batch(q, batchLastID, UInt32(NF_ACCEPT)) < 0 { stats.verdictFailures &+= 1 }
        }
        batchPending = false
        batchCount = 0
    }

    private func setVerdict(_ id: UInt32, _ verdict: UInt32) {
        guard let q = queueHandle else { return }
        stats.verdictMessages &+= 1
        if nfq_set_verdict(q, id, verdict, 0, nil) < 0 { stats.verdictFailures &+= 1 }
    }

    /// A verdict that also sets the packet mark (nfq_set_verdict2).
    private func setVerdict(_ id: UInt32, _ verdict: UInt32, mark: UInt32) {
        guard let q = queueHandle else { return }
        stats.verdictMessages &+= 1
        if nfq_set_verdict2(q, id, verdict, mark, 0, nil) < 0 { stats.verdictFailures &+= 1 }
    }

    /// Called by the C callback for each packet message of the buffer being handled.
    fileprivate func record(_ data: OpaquePointer) -> Int32 {
        guard parsedCount < parsedCapacity, let header = nfq_get_msg_packet_hdr(data) else { return 0 }
        var payload: UnsafeMutablePointer<UInt8>?
        let length = nfq_get_payload(data, &payload)
        let h = header.pointee
        let id = UInt32(bigEndian: h.packet_id)
        let captured = max(0, Int(length))
        parsed[parsedCount] = NFQueuePacket(
            id: id, hwProtocol: UInt16(bigEndian: h.hw_protocol),
            payload: ByteView(unsafeStart: payload, count: payload == nil ? 0 : captured),
            originalLength: captured,
            inDevice: nfq_get_indev(data), outDevice: nfq_get_outdev(data),
            physInDevice: nfq_get_physindev(data), physOutDevice: nfq_get_physoutdev(data),
            mark: nfq_get_nfmark(data))
        parsedCount += 1
        return 0
    }

    private static func check(_ rc: Int32, _ name: String, _ call: String) throws {
        if rc < 0 { throw failure(name, call) }
    }

    private static func failure(_ name: String, _ call: String, hint: String = "") -> CaptureError {
        let e = SystemError(call: call, subject: name)
        return CaptureError(.openFailed, path: name, detail: "\(call) failed: \(e.errnoText)\(hint)")
    }
}

/// The C callback: records the packet's fields into the source's preallocated array.
private let nfqCallback: @convention(c) (OpaquePointer?, UnsafeMutablePointer<nfgenmsg>?, OpaquePointer?,
                                         UnsafeMutableRawPointer?) -> Int32 = { _, _, data, context in
    guard let data, let context else { return 0 }
    return Unmanaged<NFQueueSource>.fromOpaque(context).takeUnretainedValue().record(data)
}
