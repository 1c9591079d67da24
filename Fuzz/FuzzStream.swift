// Fuzz target for UTMFlow: flow table + TCP state machine + stream reassembly.
//
// The input is a small configuration followed by 6-byte records, each one synthetic TCP
// segment of one of four connections (or an expiry tick). Payload bytes are a function of the
// sequence number, so whatever is delivered can be checked against what the sender "sent".
//
// Build (libFuzzer), instrumenting the engine modules too so coverage guides the search:
//   mkdir -p /tmp/fz && cd /tmp/fz && W=<repo>
//   for m in UTMCore UTMDecode UTMFlow; do
//     swiftc -sanitize=fuzzer,address -parse-as-library -c -wmo -module-name $m -I . $W/Sources/$m/*.swift -o $m.o
//     swiftc -emit-module -parse-as-library -wmo -module-name $m -I . $W/Sources/$m/*.swift -emit-module-path $m.swiftmodule
//   done
//   swiftc -sanitize=fuzzer,address -parse-as-library -I . $W/Fuzz/FuzzStream.swift UTMCore.o UTMDecode.o UTMFlow.o -o fuzz
//   ./fuzz -max_len=600 corpus
// Type-check only: swiftc -typecheck -parse-as-library -I .build/debug/Modules Fuzz/FuzzStream.swift
import UTMCore
import UTMDecode
import UTMFlow

/// The byte a sender puts at sequence number `seq` of direction `d` of connection `port`.
@inline(__always)
func canonicalByte(_ seq: UInt32, _ d: Direction, _ port: UInt16) -> UInt8 {
    UInt8(truncatingIfNeeded: seq &* 31 &+ UInt32(d.rawValue) &* 7 &+ UInt32(port))
}

struct Delivered {
    var flowID: UInt64
    var direction: Direction
    var offset: UInt64
    var gap: Bool
    var bytes: [UInt8]
}

func fuzzCheck(_ cond: Bool, _ what: StaticString) {
    if !cond { fatalError("invariant violated: \(what)") }
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzStream(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let input = UnsafeBufferPointer(start: data, count: size)
    guard input.count >= 4 else { return 0 }
    var config = FlowConfig()
    config.hashSeed = (0x1234, 0x5678)
    config.capacity = 1 + Int(input[0] & 3)              // 1...4 flows for 4 connections: evictions
    config.segmentChunkBytes = 16 << Int(input[1] & 3)   // 16...128
    config.maxOutOfOrderBytesPerFlow = 64 << Int(input[1] >> 2 & 7)
    config.segmentPoolBytes = 256 << Int(input[2] & 7)
    config.streamDepth = 64 << Int(input[2] >> 3 & 15)
    config.evictionSample = 1 + Int(input[3] & 7)
    // Inline copies of forwarded bytes, IDS holding until acknowledged, and the receiver's
    // overlap policy (any of Suricata's) for the server or everyone.
    config.retainUnacked = input[0] & 0x04 != 0
    config.holdUntilAcked = input[0] & 0x08 != 0
    // IDS: data on a SYN held until the receiver's ACK takes or refuses it.
    config.holdSynData = input[2] & 0x80 != 0
    if let policy = OverlapPolicy(rawValue: (input[0] >> 4) % UInt8(OverlapPolicy.allCases.count)) {
        _ = config.hostOSPolicies.add(input[1] & 0x80 != 0 ? "0.0.0.0/0" : "10.0.0.2", policy)
    }
    var table = FlowTable(config: config)
    var reasm = TCPReassembler(config: config)
    let clientISN: UInt32 = 0xFFFF_FF00 &+ UInt32(input[3])  // near the wrap
    let serverISN: UInt32 = 0x7FFF_FFF0
    var payload = [UInt8](repeating: 0, count: 256)
    var delivered: [Delivered] = []
    var corrupted = false
    var seconds: Int64 = 1_000_000
    let client = IPAddress(v4: 0x0A00_0001), server = IPAddress(v4: 0x0A00_0002)

    var last: [UInt64: (UInt64, UInt64)] = [:]
    var i = 4
    while i + 6 <= input.count {
        let op = input[i], fl = input[i + 1]
        let off = UInt16(input[i + 2]) | UInt16(input[i + 3]) << 8
        let len = Int(input[i + 4])
        let extra = input[i + 5]
        i += 6
        seconds += Int64(extra >> 4) * Int64(extra >> 4) * 4
        if op & 0xF0 == 0xF0 {
            table.expire(now: Timestamp(seconds: seconds, micros: 0), budget: Int(op & 0x0F)) { ref, f, _ in
                reasm.release(ref, flow: &f)
            }
            continue
        }
        let d: Direction = op & 1 == 0 ? .toServer : .toClient
        let port: UInt16 = 40000 + UInt16(op >> 1 & 3)
        let isn = d == .toServer ? clientISN : serverISN
        // Offsets mostly small and positive; a few go behind the ISN.
        let seq = isn &+ UInt32(off) &- (op & 0x08 != 0 ? 64 : 0)
        let corrupt = op & 0x10 != 0 && len > 0
        corrupted = corrupted || corrupt
        var p = DecodedPacket()
        p.ipVersion = 4
        p.ipProto = IPProto.tcp
        p.src = d == .toServer ? client : server
        p.dst = d == .toServer ? server : client
        p.srcPort = d == .toServer ? port : 80
        p.dstPort = d == .toServer ? 80 : port
        p.tcpFlags = TCPFlags(rawValue: fl)
        p.seq = seq
        p.ack = (d == .toServer ? serverISN : clientISN) &+ UInt32(extra & 0x0F) &* 97
        p.window = op & 0x20 != 0 ? 0 : 65535
        p.windowScale = op & 0x40 != 0 ? 7 : 255
        p.timestamp = Timestamp(seconds: seconds, micros: 0)
        p.wireLength = 54 + len
        let dataSeq = p.tcpFlags.contains(.syn) ? seq &+ 1 : seq
        for k in 0..<len {
            payload[k] = canonicalByte(dataSeq &+ UInt32(k), d, port) ^ (corrupt ? 0x55 : 0)
        }
        payload.withUnsafeBytes { raw in
            p.payload = ByteView(UnsafeRawBufferPointer(rebasing: raw[0..<len]))
            reasm.beginPacket()
            guard let r = table.track(p, onEnd: { ref, f, _ in reasm.release(ref, flow: &f) }) else { return }
            fuzzCheck(table.counters.active <= table.capacity, "active <= capacity")
            let id = table[r.ref].id
            fuzzCheck(id != 0, "flow id non-zero")
            reasm.process(p, ref: r.ref, flows: &table, direction: r.direction) { v, c in
                fuzzCheck(c.direction == r.direction || c.direction == r.direction.reversed, "direction")
                fuzzCheck(c.streamOffset &+ UInt64(v.count) <= UInt64(config.streamDepth), "depth")
                fuzzCheck(v.count > 0, "no empty chunks")
                delivered.append(Delivered(flowID: id, direction: c.direction, offset: c.streamOffset,
                                           gap: c.gapBefore, bytes: v.bytes))
            }
            fuzzCheck(!reasm.packetHeldSynData || (config.holdSynData && p.tcpFlags.contains(.syn)),
                      "only a SYN's data is held, and only when asked")
            if let patched = reasm.conflictPayload {
                fuzzCheck(config.retainUnacked && patched.count == len, "a conflict payload is the packet's size")
            }
            // Check the chunks against the sender's bytes while the flow still exists.
            let f = table[r.ref]
            for c in delivered where c.flowID == id && !corrupted {
                let s = f.stream(c.direction)
                // The flow's client is whoever it saw first; map back to the synthetic roles.
                let sender = c.direction == .toServer ? f.clientIP : f.serverIP
                let wireDirection: Direction = sender == client ? .toServer : .toClient
                let connPort = f.clientPort == 80 ? f.serverPort : f.clientPort
                for (k, b) in c.bytes.enumerated() {
                    let q = s.seq(atOffset: c.offset &+ UInt64(k))
                    fuzzCheck(b == canonicalByte(q, wireDirection, connPort), "delivered bytes are the sent bytes")
                }
            }
        }
        fuzzCheck(reasm.poolChunksInUse >= 0 && reasm.poolChunksInUse <= reasm.poolChunkCount, "pool bounds")
        // Per flow and direction, chunks follow each other: contiguous unless a gap is flagged.
        for c in delivered {
            let key = c.flowID << 1 | UInt64(c.direction.rawValue)
            if let (_, end) = last[key] {
                fuzzCheck(c.gap ? c.offset > end : c.offset == end, "chunks are contiguous or flag a gap")
            }
            last[key] = (c.offset, c.offset &+ UInt64(c.bytes.count))
        }
        delivered.removeAll(keepingCapacity: true)
    }
    table.removeAll { ref, f, _ in reasm.release(ref, flow: &f) }
    fuzzCheck(table.counters.active == 0, "all flows ended")
    fuzzCheck(reasm.poolChunksInUse == 0, "all chunks returned")
    return 0
}
