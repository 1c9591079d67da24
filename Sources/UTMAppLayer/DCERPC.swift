import UTMCore

/// Connection-oriented DCE/RPC v5 over a TCP stream ([C706] chapter 12, [MS-RPCE] 2.2.2):
/// the PDUs Windows lateral movement and the RPC exploits travel in (spoolss, lsarpc, efsrpc,
/// netlogon, DCOM on 135 and the dynamic ports the endpoint mapper hands out).
///
/// Why a stream parser and not content rules: one call's stub data is cut into fragments
/// (PFC_FIRST_FRAG / PFC_LAST_FRAG) that several calls may interleave with, and the numbers in
/// it are in the byte order the sender's `drep` names. So, as Suricata does, the stub of a
/// call is reassembled (up to `maxStubBytes`, the rest counted as cut) and handed to the rules
/// with the PDU's byte order, the interface bound to its presentation context, its opnum.
///
/// Transactions as Suricata counts them: a BIND (or ALTER_CONTEXT) with its BIND_ACK, and a
/// REQUEST with its RESPONSE (or FAULT), paired by call id. A request is lent out when its last
/// fragment arrived (the rules see it before the server answers), the pair when the answer's
/// last fragment arrived (or at the end of the flow).
///
/// Framing: the 16-byte common header is always read; of the rest of a PDU only its first
/// `maxPDUPrefix` bytes are kept (the fields of BIND, BIND_ACK and the REQUEST/RESPONSE
/// headers), stub bytes go straight into the call's stub buffer. A header that makes no sense
/// (not version 5.0/5.1, frag_length shorter than the header) stops the direction: counted in
/// `malformed`, never thrown.
public struct DCERPCConfig: Sendable {
    /// Bytes of one call's stub data kept per direction (Suricata buffers the stub too).
    public var maxStubBytes = 65_536
    /// Bytes kept of a PDU's body for its fields (a BIND's context list). 12 KiB: a BIND of
    /// 255 contexts (n_context_elem is a byte) with one transfer syntax each is 11,248 bytes,
    /// and Suricata parses all of them: a bind cut at 2 KiB (session 12) hid the interface
    /// offered after ~46 decoys.
    public var maxPDUPrefix = 12_288
    /// Presentation contexts remembered (a BIND's replace the others when it is acked,
    /// ALTER_CONTEXT adds). 256: one full BIND of 255 plus one; when full, a rejected entry,
    /// else an unanswered one of an earlier offer, else the oldest accepted, makes room (counted in `interfacesDropped`): a new context is never
    /// refused, so decoys offered first cannot hide the interface called.
    public var maxInterfaces = 256
    /// Requests waiting for their response; when full, the oldest is lent out without one.
    public var maxPending = 16
    public init() {}
}

/// PDU types of [C706] 12.6.4.
public enum DCERPCType {
    public static let request: UInt8 = 0
    public static let response: UInt8 = 2
    public static let fault: UInt8 = 3
    public static let bind: UInt8 = 11
    public static let bindAck: UInt8 = 12
    public static let bindNak: UInt8 = 13
    public static let alterContext: UInt8 = 14
    public static let alterContextResp: UInt8 = 15
    public static let auth3: UInt8 = 16
    public static let shutdown: UInt8 = 17
    public static let coCancel: UInt8 = 18
    public static let orphaned: UInt8 = 19
    /// No PDU of this side seen.
    public static let none: UInt8 = 0xff

    /// Suricata's names for EVE `request` / `response`.
    public static func name(_ t: UInt8) -> StaticString {
        switch t {
        case 0: return "REQUEST"
        case 1: return "PING"
        case 2: return "RESPONSE"
        case 3: return "FAULT"
        case 4: return "WORKING"
        case 5: return "NOCALL"
        case 6: return "REJECT"
        case 7: return "ACK"
        case 8: return "CL_CANCEL"
        case 9: return "FACK"
        case 10: return "CANCEL_ACK"
        case 11: return "BIND"
        case 12: return "BINDACK"
        case 13: return "BINDNAK"
        case 14: return "ALTER_CONTEXT"
        case 15: return "ALTER_CONTEXT_RESP"
        case 16: return "AUTH3"
        case 17: return "SHUTDOWN"
        case 18: return "CO_CANCEL"
        case 19: return "ORPHANED"
        default: return "UNKNOWN"
        }
    }
}

/// pfc_flags bits ([C706] 12.6.3.1).
public enum DCERPCFlags {
    public static let firstFrag: UInt8 = 0x01
    public static let lastFrag: UInt8 = 0x02
    public static let objectUUID: UInt8 = 0x80
}

/// A UUID in its canonical (text) byte order: the wire form's first three fields are in the
/// sender's byte order, converted here so that rules and logs compare one form.
public struct DCERPCUUID: Sendable, Equatable, Hashable {
    public var hi: UInt64
    public var lo: UInt64
    public init(hi: UInt64, lo: UInt64) { self.hi = hi; self.lo = lo }

    /// The 16 wire bytes at `o` of `v`, read with byte order `little`.
    static func read(_ v: ByteView, _ o: Int, little: Bool) -> DCERPCUUID? {
        guard let d1 = little ? v.u32le(o) : v.u32(o), let d2 = little ? v.u16le(o + 4) : v.u16(o + 4),
              let d3 = little ? v.u16le(o + 6) : v.u16(o + 6), let d4 = v.u64(o + 8) else { return nil }
        return DCERPCUUID(hi: UInt64(d1) << 32 | UInt64(d2) << 16 | UInt64(d3), lo: d4)
    }

    /// `xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx`, or nil.
    public init?(text: Substring) {
        let u = Array(text.utf8)
        guard u.count == 36 else { return nil }
        var hi: UInt64 = 0, lo: UInt64 = 0, n = 0
        for (i, c) in u.enumerated() {
            if i == 8 || i == 13 || i == 18 || i == 23 {
                guard c == UInt8(ascii: "-") else { return nil }
                continue
            }
            let d: UInt8
            switch c {
            case 0x30 ... 0x39: d = c - 0x30
            case 0x61 ... 0x66: d = c - 0x61 + 10
            case 0x41 ... 0x46: d = c - 0x41 + 10
            default: return nil
            }
            if n < 16 { hi = hi << 4 | UInt64(d) } else { lo = lo << 4 | UInt64(d) }
            n += 1
        }
        self.hi = hi
        self.lo = lo
    }

    /// Lends the canonical lower-case text form (36 bytes, on the stack) to `body`.
    public func withText<R>(_ body: (ByteView) -> R) -> R {
        var t: (UInt64, UInt64, UInt64, UInt64, UInt64) = (0, 0, 0, 0, 0)
        return withUnsafeMutableBytes(of: &t) { raw in
            var w = DCERPCUUID.hex(raw, 0, hi >> 32, 8)
            raw[w] = 0x2d
            w = DCERPCUUID.hex(raw, w + 1, hi >> 16, 4)
            raw[w] = 0x2d
            w = DCERPCUUID.hex(raw, w + 1, hi, 4)
            raw[w] = 0x2d
            w = DCERPCUUID.hex(raw, w + 1, lo >> 48, 4)
            raw[w] = 0x2d
            w = DCERPCUUID.hex(raw, w + 1, lo, 12)
            return body(ByteView(UnsafeRawBufferPointer(rebasing: raw[0 ..< w])))
        }
    }

    /// The low `count` nibbles of `x` as hex digits at `at`; returns the index after them.
    static func hex(_ raw: UnsafeMutableRawBufferPointer, _ at: Int, _ x: UInt64, _ count: Int) -> Int {
        var k = count - 1, w = at
        while k >= 0 {
            let d = UInt8((x >> (UInt64(k) * 4)) & 0xf)
            raw[w] = d < 10 ? 0x30 + d : 0x57 + d
            w += 1
            k -= 1
        }
        return w
    }
}

/// One presentation context of a BIND/ALTER_CONTEXT and what the server answered.
public struct DCERPCInterface: Sendable, Equatable {
    public var uuid: DCERPCUUID
    public var versionMajor: UInt16
    public var versionMinor: UInt16
    public var contextID: UInt16
    /// The call id of the BIND that offered it (EVE pairs the bind's interfaces by it).
    public var callID: UInt32
    public var acked = false
    /// 0 acceptance, 1 user rejection, 2 provider rejection, 3 negotiate ack ([MS-RPCE] 2.2.2.4).
    public var result: UInt16 = 0
    /// The BIND's PDU had PFC_FIRST_FRAG (Suricata's DCERPC_UUID_ENTRY_FLAG_FF: what
    /// `dcerpc.iface` without `any_frag` asks for).
    public var firstFrag = false
}

/// One request/response (or bind/bind_ack) pair.
public struct DCERPCTransaction: Sendable {
    /// 1 for the flow's first transaction.
    public var id: UInt64 = 0
    public var callID: UInt32 = 0
    /// The PDU types of each side (`DCERPCType.none` when not seen).
    public var requestType = DCERPCType.none
    public var responseType = DCERPCType.none
    public var minorVersion: UInt8 = 0
    public var contextID: UInt16 = 0
    public var opnum: UInt16 = 0
    public var objectUUID: DCERPCUUID?
    public var requestFrags: UInt32 = 0
    public var responseFrags: UInt32 = 0
    /// Stub bytes of each side as buffered (Suricata's `stub_data_buffer.len()`: bytes cut
    /// beyond `maxStubBytes` are not counted, they are in the parser's `stubBytesCut`).
    public var requestStubSize = 0
    public var responseStubSize = 0
    /// The request's first PDU had PFC_FIRST_FRAG (not picked up in the middle of a call).
    public var firstFragSeen = false
    /// Byte order of the side's PDUs (`drep[0] & 0x10`).
    public var requestLittleEndian = true
    public var responseLittleEndian = true
    /// A FAULT's status.
    public var faultStatus: UInt32 = 0
    public var hasRequest: Bool { requestType != DCERPCType.none }
    public var hasResponse: Bool { responseType != DCERPCType.none }
    public init() {}
}

/// One direction's PDU framing and the call whose stub it is collecting.
struct DCERPCSide: Sendable {
    /// Bytes of the current PDU consumed (the header's 16 included).
    var offset = 0
    var fragLength = 0
    var stubStart = 0
    var stubEnd = 0
    var type: UInt8 = 0
    var flags: UInt8 = 0
    var little = true
    var minor: UInt8 = 0
    var callID: UInt32 = 0
    var stopped = false
    /// The call being reassembled in this direction.
    var callActive = false
    var callID0: UInt32 = 0
    var frags: UInt32 = 0
    var stubTotal = 0
    var firstFrag = false
    /// A call interrupted by another before its last fragment (A first, B whole, A last):
    /// its stub stays at the front of the buffer (`parkedBytes`), the other call's is collected
    /// after it and the call resumes when its next fragment comes. Suricata keeps a stub per
    /// call id; one interrupted call per direction is kept here, without more memory (a third
    /// call while one is parked starts afresh, as before).
    var parked = false
    var parkedCallID: UInt32 = 0
    var parkedFrags: UInt32 = 0
    var parkedStubTotal = 0
    var parkedFirstFrag = false
    var parkedBytes = 0
    /// Swaps of the active and the parked call since a call last started afresh: each rotates
    /// the stub buffer (up to `maxStubBytes`), so a client alternating two calls' fragments
    /// would cost a 64 KiB move per 24-byte PDU; after `DCERPCParser.maxSwaps` the returning
    /// call starts afresh instead (both stubs dropped, counted). Refilling costs the sender
    /// the bytes again, so the work stays a small multiple of the bytes sent.
    var swaps = 0
}

/// What `feed` lends out.
public enum DCERPCEventKind: Sendable {
    /// A REQUEST's last fragment: the rules see the request (stub: `stub(.toServer)`).
    case request
    /// The transaction is complete (response or fault, bind_ack, or the flow ended): the rules
    /// see the response side (stub: `stub(.toClient)`), then it is logged.
    case complete
}

/// The parser of one flow, reused from a pool with `reset()`; all memory is reserved in `init`.
public struct DCERPCParser: Sendable {
    public let config: DCERPCConfig
    public private(set) var interfaces: [DCERPCInterface] = []
    public private(set) var pending: [DCERPCTransaction] = []
    var toServer = DCERPCSide()
    var toClient = DCERPCSide()
    /// First bytes of the PDU being read in each direction.
    var prefixTS: [UInt8] = []
    var prefixTC: [UInt8] = []
    /// The reassembled stub of the call in each direction.
    var stubTS: [UInt8] = []
    var stubTC: [UInt8] = []
    var nextID: UInt64 = 1
    public private(set) var pdus: UInt64 = 0
    /// Headers that made no sense (the direction stopped there).
    public private(set) var malformed: UInt64 = 0
    /// Stub bytes beyond `maxStubBytes`, not inspected.
    public private(set) var stubBytesCut: UInt64 = 0
    /// Contexts evicted to make room for newer ones (`maxInterfaces`), and requests logged
    /// without a response because `maxPending` was full.
    public private(set) var interfacesDropped: UInt64 = 0
    public private(set) var pendingEvicted: UInt64 = 0
    /// `resetFraming` calls (named-pipe data cut or switched pipes: a PDU not inspected whole).
    public private(set) var framingResets: UInt64 = 0
    /// Interrupted calls whose stub was given up: the room went to the current call (a
    /// parked call filling the buffer), or a third call came while one was parked.
    public private(set) var parkedCallsDropped: UInt64 = 0

    public init(config: DCERPCConfig = .init()) {
        self.config = config
        interfaces.reserveCapacity(config.maxInterfaces)
        pending.reserveCapacity(config.maxPending + 1)
        prefixTS.reserveCapacity(config.maxPDUPrefix)
        prefixTC.reserveCapacity(config.maxPDUPrefix)
        stubTS.reserveCapacity(config.maxStubBytes)
        stubTC.reserveCapacity(config.maxStubBytes)
    }

    public mutating func reset() {
        interfaces.removeAll(keepingCapacity: true)
        pending.removeAll(keepingCapacity: true)
        toServer = DCERPCSide()
        toClient = DCERPCSide()
        prefixTS.removeAll(keepingCapacity: true)
        prefixTC.removeAll(keepingCapacity: true)
        stubTS.removeAll(keepingCapacity: true)
        stubTC.removeAll(keepingCapacity: true)
        nextID = 1
        pdus = 0
        malformed = 0
        stubBytesCut = 0
        interfacesDropped = 0
        pendingEvicted = 0
        framingResets = 0
        parkedCallsDropped = 0
    }

    /// Forgets the PDU framing of both directions and the stubs being collected, keeping the
    /// bindings and the calls waiting for an answer: for named-pipe data cut short or switched
    /// to another pipe, where the next data starts a PDU again but the binds still hold.
    ///
    /// `keepingCalls`: the data switched to another pipe (not cut). A client writes a large
    /// call as one WRITE per fragment, and a write to another pipe between two of them must
    /// not wipe the call's stub (Suricata keeps it per call): a direction whose abandoned PDU
    /// put no stub bytes in the buffer keeps its calls (active and parked) and their stubs,
    /// only the PDU framing restarts. One whose abandoned PDU was cut inside its stub starts
    /// afresh, as without the flag (those bytes cannot be told apart from the call's).
    public mutating func resetFraming(keepingCalls: Bool = false) {
        resetSide(.toServer, keepingCalls: keepingCalls)
        resetSide(.toClient, keepingCalls: keepingCalls)
        prefixTS.removeAll(keepingCapacity: true)
        prefixTC.removeAll(keepingCapacity: true)
        framingResets &+= 1
    }

    mutating func resetSide(_ d: Direction, keepingCalls: Bool) {
        let old = d == .toServer ? toServer : toClient
        var s = DCERPCSide()
        if keepingCalls && (old.offset < 16 || old.offset <= old.stubStart) {
            s.callActive = old.callActive
            s.callID0 = old.callID0
            s.frags = old.frags
            s.stubTotal = old.stubTotal
            s.firstFrag = old.firstFrag
            s.parked = old.parked
            s.parkedCallID = old.parkedCallID
            s.parkedFrags = old.parkedFrags
            s.parkedStubTotal = old.parkedStubTotal
            s.parkedFirstFrag = old.parkedFirstFrag
            s.parkedBytes = old.parkedBytes
            s.swaps = old.swaps
        } else {
            truncateStub(d, 0)
        }
        setSide(d, s)
    }

    // MARK: Probing

    /// A BIND or ALTER_CONTEXT common header (version 5.0/5.1, a sane frag_length), as
    /// Suricata's probing parser: what a client opens a DCE/RPC connection with, any port.
    public static func probe(_ v: ByteView) -> Bool {
        guard let t = v.u8(2), t == DCERPCType.bind || t == DCERPCType.alterContext else { return false }
        return header(v) != nil
    }

    @inlinable
    public static func isDCERPCPort(_ p: UInt16) -> Bool { p == 135 }

    /// (type, flags, little, fragLength, authLength, callID, minor) of a plausible common header.
    static func header(_ v: ByteView) -> (UInt8, UInt8, Bool, Int, Int, UInt32, UInt8)? {
        guard v.u8(0) == 5, let minor = v.u8(1), minor <= 1, let type = v.u8(2), type <= 19,
              let flags = v.u8(3), let drep = v.u8(4) else { return nil }
        // drep[0]: integer representation in the high nibble (0 big, 1 little); ASCII and IEEE.
        guard drep & 0xe0 == 0, drep & 0x0e == 0 else { return nil }
        let little = drep & 0x10 != 0
        guard let fl = little ? v.u16le(8) : v.u16(8), let al = little ? v.u16le(10) : v.u16(10),
              let call = little ? v.u32le(12) : v.u32(12) else { return nil }
        let frag = Int(fl), auth = Int(al)
        guard frag >= 16, auth == 0 || 16 + 8 + auth <= frag else { return nil }
        return (type, flags, little, frag, auth, call, minor)
    }

    // MARK: Stub access

    /// The reassembled stub of the call last completed in direction `d` (after the bytes of a
    /// parked call, if one is).
    public func withStub<R>(_ d: Direction, _ body: (ByteView) -> R) -> R {
        let base = stubBase(d)
        return (d == .toServer ? stubTS : stubTC).withByteView { body($0.suffix(from: base) ?? .empty) }
    }

    /// Where the current call's stub starts in direction `d`'s buffer.
    func stubBase(_ d: Direction) -> Int {
        let s = d == .toServer ? toServer : toClient
        return s.parked ? s.parkedBytes : 0
    }

    /// The interface bound to `contextID`: the last accepted with that id (as Suricata, which
    /// searches the acked entries: an ALTER_CONTEXT re-offering the id with a junk UUID must
    /// not shadow the binding the server accepted), else the last offered, if any (so that
    /// `dcerpc.iface`'s state tests still see an un-acked one).
    public func interface(contextID: UInt16) -> DCERPCInterface? {
        var i = interfaces.count - 1
        var offered = -1
        while i >= 0 {
            if interfaces[i].contextID == contextID {
                if interfaces[i].acked && interfaces[i].result == 0 { return interfaces[i] }
                if offered < 0 { offered = i }
            }
            i -= 1
        }
        return offered >= 0 ? interfaces[offered] : nil
    }

    // MARK: Feeding

    /// Feeds in-order stream bytes of one direction; each request and completed transaction is
    /// lent to `on` with the parser (its stub buffers and interfaces). `gap`: bytes were lost,
    /// the PDU framing cannot be recovered, this direction stops.
    public mutating func feed(_ data: ByteView, direction d: Direction, gap: Bool,
                              on: (borrowing DCERPCParser, DCERPCEventKind, DCERPCTransaction) -> Void) {
        if gap { side(d) { $0.stopped = true } }
        var rest = data
        while !rest.isEmpty {
            var s = d == .toServer ? toServer : toClient
            if s.stopped { return }
            if s.offset < 16 {
                let n = Swift.min(16 - s.offset, rest.count)
                appendPrefix(d, rest.prefix(n))
                rest = rest.dropFirst(n)
                s.offset += n
                if s.offset < 16 { setSide(d, s); return }
                guard let h = withPrefix(d, { DCERPCParser.header($0) }) else {
                    malformed &+= 1
                    s.stopped = true
                    setSide(d, s)
                    return
                }
                (s.type, s.flags, s.little, s.fragLength, _, s.callID, s.minor) = h
                let auth = h.4
                // Stub data: requests from the client, responses from the server (a PDU of
                // either kind the other way is framed and ignored).
                if (s.type == DCERPCType.request && d == .toServer) || (s.type == DCERPCType.response && d == .toClient) {
                    s.stubStart = 16 + 8 + (s.type == DCERPCType.request && s.flags & DCERPCFlags.objectUUID != 0 ? 16 : 0)
                    s.stubEnd = s.fragLength - (auth > 0 ? auth + 8 : 0)
                    if s.stubEnd < s.stubStart { s.stubEnd = s.stubStart }
                    beginFragment(d, &s)
                } else {
                    s.stubStart = s.fragLength
                    s.stubEnd = s.fragLength
                }
            }
            let n = Swift.min(s.fragLength - s.offset, rest.count)
            let chunk = rest.prefix(n)
            rest = rest.dropFirst(n)
            let keep = Swift.min(s.stubStart, 16 + config.maxPDUPrefix) - s.offset
            if keep > 0 { appendPrefix(d, chunk.prefix(keep)) }
            let lo = Swift.max(s.offset, s.stubStart), hi = Swift.min(s.offset + n, s.stubEnd)
            if lo < hi, let piece = chunk.slice(lo - s.offset, hi - lo) {
                appendStub(d, piece, &s)
                s.stubTotal += piece.count
            }
            s.offset += n
            if s.offset < s.fragLength { setSide(d, s); return }
            pdus &+= 1
            let done = s
            s.offset = 0
            setSide(d, s)
            pdu(d, done, on)
            clearPrefix(d)
        }
    }

    /// The flow ended: transactions still waiting are lent out as they are.
    public mutating func finish(on: (borrowing DCERPCParser, DCERPCEventKind, DCERPCTransaction) -> Void) {
        while !pending.isEmpty {
            let tx = pending.removeFirst()
            on(self, .complete, tx)
        }
    }

    // MARK: PDUs

    /// A REQUEST/RESPONSE fragment starts: a first fragment (or another call) starts a new
    /// stub; another call interrupting one parks it, the parked call's next fragment resumes it.
    mutating func beginFragment(_ d: Direction, _ s: inout DCERPCSide) {
        let first = s.flags & DCERPCFlags.firstFrag != 0
        if s.callActive && s.callID0 == s.callID && !first {
            s.frags &+= 1
            return
        }
        if !first && !s.callActive && s.parked && s.parkedCallID == s.callID {
            truncateStub(d, s.parkedBytes)
            s.callActive = true
            s.callID0 = s.parkedCallID
            s.frags = s.parkedFrags &+ 1
            s.stubTotal = s.parkedStubTotal
            s.firstFrag = s.parkedFirstFrag
            s.parked = false
            s.parkedBytes = 0
            return
        }
        if !first && s.callActive && s.parked && s.parkedCallID == s.callID && s.callID0 != s.callID
            && s.swaps < DCERPCParser.maxSwaps {
            // The parked call comes back while the one that interrupted it is still open (A
            // first, B first, A last): swap them, B is parked and A resumes, as Suricata's
            // per-call buffers would. The buffer [A][B] is rotated to [B][A] in place.
            let a = s.parkedBytes, total = d == .toServer ? stubTS.count : stubTC.count
            if d == .toServer { DCERPCParser.rotate(&stubTS, a) } else { DCERPCParser.rotate(&stubTC, a) }
            let b = (s.callID0, s.frags, s.stubTotal, s.firstFrag)
            s.callID0 = s.parkedCallID
            s.frags = s.parkedFrags &+ 1
            s.stubTotal = s.parkedStubTotal
            s.firstFrag = s.parkedFirstFrag
            (s.parkedCallID, s.parkedFrags, s.parkedStubTotal, s.parkedFirstFrag) = b
            s.parkedBytes = total - Swift.min(a, total)
            s.swaps += 1
            return
        }
        if s.callActive && s.callID0 != s.callID {
            if !s.parked {
                s.parked = true
                s.parkedCallID = s.callID0
                s.parkedFrags = s.frags
                s.parkedStubTotal = s.stubTotal
                s.parkedFirstFrag = s.firstFrag
                s.parkedBytes = d == .toServer ? stubTS.count : stubTC.count
            } else {
                s.parked = false
                s.parkedBytes = 0
                parkedCallsDropped &+= 1
            }
        } else if s.parked && s.parkedCallID == s.callID {
            s.parked = false
            s.parkedBytes = 0
        }
        truncateStub(d, s.parked ? s.parkedBytes : 0)
        s.callActive = true
        s.callID0 = s.callID
        s.swaps = 0
        s.frags = 1
        s.stubTotal = 0
        s.firstFrag = first
    }

    mutating func pdu(_ d: Direction, _ s: DCERPCSide, _ on: (borrowing DCERPCParser, DCERPCEventKind, DCERPCTransaction) -> Void) {
        switch s.type {
        case DCERPCType.bind, DCERPCType.alterContext:
            guard d == .toServer else { return }
            // A BIND's contexts replace the others only when its BIND_ACK comes (`bindAck`): a
            // second BIND the server naks must not erase valid bindings.
            var held = movePrefixOut(d)
            held.withByteView { bindContexts($0, s) }
            setPrefix(d, &held)
            var tx = newTransaction(s)
            tx.requestType = s.type
            tx.requestLittleEndian = s.little
            queue(tx, on)
        case DCERPCType.bindAck, DCERPCType.alterContextResp, DCERPCType.bindNak:
            guard d == .toClient else { return }
            if s.type != DCERPCType.bindNak {
                var held = movePrefixOut(d)
                held.withByteView { bindAck($0, s) }
                setPrefix(d, &held)
            } else {
                nak(s.callID)
            }
            var tx = answered(s)
            tx.responseType = s.type
            tx.responseLittleEndian = s.little
            on(self, .complete, tx)
        case DCERPCType.request:
            guard d == .toServer, s.flags & DCERPCFlags.lastFrag != 0 else { return }
            var tx = newTransaction(s)
            tx.requestType = s.type
            tx.requestLittleEndian = s.little
            tx.requestFrags = s.frags
            tx.requestStubSize = stubTS.count - stubBase(.toServer)
            tx.firstFragSeen = s.firstFrag
            withPrefix(d) { p in
                tx.contextID = (s.little ? p.u16le(20) : p.u16(20)) ?? 0
                tx.opnum = (s.little ? p.u16le(22) : p.u16(22)) ?? 0
                if s.flags & DCERPCFlags.objectUUID != 0 { tx.objectUUID = DCERPCUUID.read(p, 24, little: s.little) }
            }
            toServer.callActive = false
            on(self, .request, tx)
            queue(tx, on)
        case DCERPCType.response:
            guard d == .toClient, s.flags & DCERPCFlags.lastFrag != 0 else { return }
            toClient.callActive = false
            var tx = answered(s)
            tx.responseType = s.type
            tx.responseLittleEndian = s.little
            tx.responseFrags = s.frags
            tx.responseStubSize = stubTC.count - stubBase(.toClient)
            on(self, .complete, tx)
        case DCERPCType.fault:
            guard d == .toClient else { return }
            let status = withPrefix(d) { p in (s.little ? p.u32le(24) : p.u32(24)) ?? 0 }
            clearStub(.toClient)
            var tx = answered(s)
            tx.responseType = s.type
            tx.responseLittleEndian = s.little
            tx.faultStatus = status
            on(self, .complete, tx)
        default:
            break
        }
    }

    func newTransaction(_ s: DCERPCSide) -> DCERPCTransaction {
        var tx = DCERPCTransaction()
        tx.callID = s.callID
        tx.minorVersion = s.minor
        return tx
    }

    /// Keeps `tx` until its answer; the oldest goes out unanswered when `maxPending` is full.
    mutating func queue(_ tx: DCERPCTransaction, _ on: (borrowing DCERPCParser, DCERPCEventKind, DCERPCTransaction) -> Void) {
        var tx = tx
        tx.id = nextID
        nextID &+= 1
        if pending.count >= config.maxPending {
            let old = pending.removeFirst()
            pendingEvicted &+= 1
            on(self, .complete, old)
        }
        pending.append(tx)
    }

    /// The pending transaction of call `s.callID`, taken out, or a new one (an answer whose
    /// request came before the capture). A loop, not `firstIndex(where:)`: that allocated in
    /// debug builds (the allocation tests).
    mutating func answered(_ s: DCERPCSide) -> DCERPCTransaction {
        var k = 0
        while k < pending.count {
            if pending[k].callID == s.callID { return pending.remove(at: k) }
            k += 1
        }
        var tx = newTransaction(s)
        tx.id = nextID
        nextID &+= 1
        return tx
    }

    /// p_cont_elem_t list of a BIND/ALTER_CONTEXT ([C706] 12.6.4.3): each context's abstract
    /// syntax (interface UUID and version).
    mutating func bindContexts(_ p: ByteView, _ s: DCERPCSide) {
        guard let count = p.u8(24) else { return }
        var o = 28
        for _ in 0 ..< Int(count) {
            guard let ctx = s.little ? p.u16le(o) : p.u16(o), let nTransfer = p.u8(o + 2),
                  let uuid = DCERPCUUID.read(p, o + 4, little: s.little),
                  let major = s.little ? p.u16le(o + 20) : p.u16(o + 20),
                  let minor = s.little ? p.u16le(o + 22) : p.u16(o + 22) else { return }
            if interfaces.count >= Swift.max(1, config.maxInterfaces) { evictInterface(for: s.callID) }
            interfaces.append(DCERPCInterface(uuid: uuid, versionMajor: major, versionMinor: minor, contextID: ctx,
                                              callID: s.callID, firstFrag: s.flags & DCERPCFlags.firstFrag != 0))
            o += 24 + 20 * Int(nTransfer)
        }
    }

    /// Room for one more context offered by call `callID`, oldest first among: a rejected
    /// entry, else one of another offer not answered yet, else an accepted one, else any.
    /// Unanswered before accepted: pipelined decoy ALTER_CONTEXTs (never acked before the
    /// call) must not evict the binding the server accepted and still serves. The entries of
    /// the offer being added come last, so one full offer (255) never evicts its own contexts.
    /// Loops, not `firstIndex(where:)` (it allocated in debug builds).
    mutating func evictInterface(for callID: UInt32) {
        var k = -1, pass = 0
        while k < 0 && pass < 3 {
            var i = 0
            while i < interfaces.count {
                let e = interfaces[i]
                let hit = pass == 0 ? e.acked && e.result != 0 : pass == 1 ? !e.acked && e.callID != callID : e.acked
                if hit { k = i; break }
                i += 1
            }
            pass += 1
        }
        interfaces.remove(at: Swift.max(0, k))
        interfacesDropped &+= 1
    }


    /// BIND_ACK/ALTER_CONTEXT_RESP ([C706] 12.6.4.4): the secondary address, then one result
    /// per offered context, in the order they were offered.
    mutating func bindAck(_ p: ByteView, _ s: DCERPCSide) {
        guard let secLen = s.little ? p.u16le(24) : p.u16(24) else { return }
        var o = 26 + Int(secLen)
        o = (o + 3) & ~3
        guard let count = p.u8(o) else { return }
        o += 4
        var next = 0
        for _ in 0 ..< Int(count) {
            guard let result = s.little ? p.u16le(o) : p.u16(o) else { return }
            // The next context of this call not answered yet.
            while next < interfaces.count, interfaces[next].callID != s.callID || interfaces[next].acked { next += 1 }
            guard next < interfaces.count else { return }
            interfaces[next].acked = true
            interfaces[next].result = result
            o += 24
        }
        // A BIND_ACK (not an ALTER_CONTEXT_RESP): the bind's contexts replace the earlier ones.
        if s.type == DCERPCType.bindAck { keepOnly(callID: s.callID) }
    }

    /// Drops the contexts of other calls (a loop: `removeAll(where:)` allocates in debug builds).
    mutating func keepOnly(callID: UInt32) {
        var w = 0, r = 0
        while r < interfaces.count {
            if interfaces[r].callID == callID {
                if w != r { interfaces[w] = interfaces[r] }
                w += 1
            }
            r += 1
        }
        interfaces.removeLast(interfaces.count - w)
    }

    /// BIND_NAK: every context of that call is rejected.
    mutating func nak(_ callID: UInt32) {
        for i in interfaces.indices where interfaces[i].callID == callID && !interfaces[i].acked {
            interfaces[i].acked = true
            interfaces[i].result = 2
        }
    }

    // MARK: Buffers

    mutating func side(_ d: Direction, _ body: (inout DCERPCSide) -> Void) {
        if d == .toServer { body(&toServer) } else { body(&toClient) }
    }

    mutating func setSide(_ d: Direction, _ s: DCERPCSide) {
        if d == .toServer { toServer = s } else { toClient = s }
    }

    mutating func appendPrefix(_ d: Direction, _ v: ByteView) {
        let have = d == .toServer ? prefixTS.count : prefixTC.count
        let room = 16 + config.maxPDUPrefix - have
        guard room > 0 else { return }
        if d == .toServer { v.prefix(room).append(to: &prefixTS) } else { v.prefix(room).append(to: &prefixTC) }
    }

    /// The prefix buffer, leaving an empty one without storage in its place, so that a field
    /// reader can change the parser while it reads (swapped back by `setPrefix`; no copy).
    mutating func movePrefixOut(_ d: Direction) -> [UInt8] {
        var held: [UInt8] = []
        if d == .toServer { swap(&held, &prefixTS) } else { swap(&held, &prefixTC) }
        return held
    }

    mutating func setPrefix(_ d: Direction, _ held: inout [UInt8]) {
        if d == .toServer { swap(&held, &prefixTS) } else { swap(&held, &prefixTC) }
    }

    mutating func clearPrefix(_ d: Direction) {
        if d == .toServer { prefixTS.removeAll(keepingCapacity: true) } else { prefixTC.removeAll(keepingCapacity: true) }
    }

    func withPrefix<R>(_ d: Direction, _ body: (ByteView) -> R) -> R {
        d == .toServer ? prefixTS.withByteView(body) : prefixTC.withByteView(body)
    }

    /// Appends the current call's stub bytes. The current call always gets its full
    /// `maxStubBytes`: when a parked call's bytes at the front stand in the way, the parked call
    /// is dropped (counted in `parkedCallsDropped`) rather than the current one starved (an
    /// interrupted call filling 64 KiB must not blind `dce_stub_data` to the next call).
    mutating func appendStub(_ d: Direction, _ v: ByteView, _ s: inout DCERPCSide) {
        var have = d == .toServer ? stubTS.count : stubTC.count
        if s.parked && v.count > config.maxStubBytes - have {
            let drop = Swift.min(s.parkedBytes, have)
            if d == .toServer { DCERPCParser.dropFront(&stubTS, drop) } else { DCERPCParser.dropFront(&stubTC, drop) }
            have -= drop
            s.parked = false
            s.parkedBytes = 0
            parkedCallsDropped &+= 1
        }
        let room = config.maxStubBytes - have
        if v.count > room { stubBytesCut &+= UInt64(v.count - Swift.max(0, room)) }
        guard room > 0 else { return }
        if d == .toServer { v.prefix(room).append(to: &stubTS) } else { v.prefix(room).append(to: &stubTC) }
    }

    /// Drops the current call's stub (a parked call's bytes stay).
    mutating func clearStub(_ d: Direction) {
        truncateStub(d, stubBase(d))
    }

    /// Swaps allowed between two calls' fragments (see `DCERPCSide.swaps`).
    static let maxSwaps = 8

    /// Rotates `buf` left by `k` in place ([k..<n] then [0..<k]) with three reversals: no
    /// allocation, no second buffer.
    static func rotate(_ buf: inout [UInt8], _ k: Int) {
        let n = buf.count
        guard k > 0, k < n else { return }
        buf.withUnsafeMutableBufferPointer { p in
            reverse(p, 0, k)
            reverse(p, k, n)
            reverse(p, 0, n)
        }
    }

    /// Removes the first `k` bytes of `buf` in place (a move and `removeLast`:
    /// `removeFirst(_:)` allocated in debug builds).
    static func dropFront(_ buf: inout [UInt8], _ k: Int) {
        let n = buf.count
        guard k > 0 else { return }
        guard k < n else { buf.removeAll(keepingCapacity: true); return }
        buf.withUnsafeMutableBytes { p in
            guard let base = p.baseAddress else { return }
            base.copyMemory(from: base + k, byteCount: n - k)
        }
        buf.removeLast(k)
    }

    static func reverse(_ p: UnsafeMutableBufferPointer<UInt8>, _ lo: Int, _ hi: Int) {
        var i = lo, j = hi - 1
        while i < j {
            p.swapAt(i, j)
            i += 1
            j -= 1
        }
    }

    mutating func truncateStub(_ d: Direction, _ n: Int) {
        if d == .toServer {
            if stubTS.count > n { stubTS.removeLast(stubTS.count - Swift.max(0, n)) }
        } else if stubTC.count > n {
            stubTC.removeLast(stubTC.count - Swift.max(0, n))
        }
    }
}
