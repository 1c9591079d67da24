import Testing
import UTMCore
import UTMDecode
@testable import UTMFlow

/// Deterministic RNG for property tests (SplitMix64).
struct SeededRNG: RandomNumberGenerator {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

let clientIP = IPAddress(v4: 0x0A00_0001)
let serverIP = IPAddress(v4: 0x0A00_0002)

func testConfig(capacity: Int = 1024) -> FlowConfig {
    var c = FlowConfig()
    c.capacity = capacity
    c.hashSeed = (1, 2)
    c.segmentPoolBytes = 1 << 20
    return c
}

func packet(from src: IPAddress, _ sp: UInt16, to dst: IPAddress, _ dp: UInt16, proto: UInt8 = IPProto.tcp,
            flags: TCPFlags = [], seq: UInt32 = 0, ack: UInt32 = 0, payload: ByteView = .empty,
            seconds: Int64 = 1000, window: UInt16 = 65535) -> DecodedPacket {
    var p = DecodedPacket()
    p.ipVersion = src.isV6 ? 6 : 4
    p.src = src; p.dst = dst; p.srcPort = sp; p.dstPort = dp
    p.ipProto = proto
    p.tcpFlags = flags; p.seq = seq; p.ack = ack; p.window = window
    p.payload = payload
    p.timestamp = Timestamp(seconds: seconds, micros: 0)
    p.wireLength = 54 + payload.count
    return p
}

/// One TCP connection (client 10.0.0.1:40000 → server 10.0.0.2:80) driven through a table and
/// a reassembler, collecting what is delivered.
struct Harness {
    var table: FlowTable
    var reasm: TCPReassembler
    var streams: [[UInt8]] = [[], []]
    var chunks: [StreamChunk] = []
    var ended: [FlowEndReason] = []
    var lastRef: FlowRef?
    var clientPort: UInt16 = 40000
    /// Set by `send` when a delivered view pointed into the packet's own bytes.
    var zeroCopyChunks = 0

    static let placeholderConfig: FlowConfig = {
        var c = testConfig(capacity: 1)
        c.segmentPoolBytes = 0
        return c
    }()
    static let placeholderTable = FlowTable(config: placeholderConfig)
    static let placeholderReassembler = TCPReassembler(config: placeholderConfig)

    init(_ config: FlowConfig = testConfig()) {
        table = FlowTable(config: config)
        reasm = TCPReassembler(config: config)
    }

    @discardableResult
    mutating func send(_ d: Direction, _ flags: TCPFlags, seq: UInt32, ack: UInt32 = 0, data: [UInt8] = [],
                       seconds: Int64 = 1000, window: UInt16 = 65535) -> (ref: FlowRef, direction: Direction, isNew: Bool)? {
        // Move the table and reassembler out so the closures below can use them while
        // `self` is not captured (and their storage stays uniquely referenced).
        var table = self.table, reasm = self.reasm
        self.table = Harness.placeholderTable
        self.reasm = Harness.placeholderReassembler
        var out = streams, ch = chunks, ends = ended, zc = zeroCopyChunks
        let result: (ref: FlowRef, direction: Direction, isNew: Bool)? = data.withUnsafeBytes { raw in
            let v = ByteView(raw)
            let p = d == .toServer
                ? packet(from: clientIP, clientPort, to: serverIP, 80, flags: flags, seq: seq, ack: ack, payload: v,
                         seconds: seconds, window: window)
                : packet(from: serverIP, 80, to: clientIP, clientPort, flags: flags, seq: seq, ack: ack, payload: v,
                         seconds: seconds, window: window)
            guard let r = table.track(p, onEnd: { ref, flow, why in
                reasm.release(ref, flow: &flow)
                ends.append(why)
            }) else { return nil }
            reasm.process(p, ref: r.ref, flows: &table, direction: r.direction) { view, chunk in
                view.withUnsafeBytes { b in
                    if let base = b.baseAddress, let rb = raw.baseAddress, base >= rb, base < rb + raw.count {
                        zc += 1
                    }
                }
                view.append(to: &out[chunk.direction.index])
                ch.append(chunk)
            }
            return r
        }
        self.table = table
        self.reasm = reasm
        streams = out; chunks = ch; ended = ends; zeroCopyChunks = zc
        if let result { lastRef = result.ref }
        return result
    }

    var flow: Flow { lastRef.map { table[$0] } ?? Flow() }

    mutating func expire(seconds: Int64, budget: Int = .max) {
        var ends = ended, reasm = self.reasm
        self.reasm = Harness.placeholderReassembler
        table.expire(now: Timestamp(seconds: seconds, micros: 0), budget: budget) { ref, flow, why in
            reasm.release(ref, flow: &flow)
            ends.append(why)
        }
        ended = ends
        self.reasm = reasm
    }

    /// Handshake with the given ISNs; returns the next sequence numbers (client, server).
    mutating func handshake(client cisn: UInt32, server sisn: UInt32) -> (UInt32, UInt32) {
        send(.toServer, .syn, seq: cisn)
        send(.toClient, [.syn, .ack], seq: sisn, ack: cisn &+ 1)
        send(.toServer, .ack, seq: cisn &+ 1, ack: sisn &+ 1)
        return (cisn &+ 1, sisn &+ 1)
    }
}

func bytes(_ s: String) -> [UInt8] { Array(s.utf8) }
