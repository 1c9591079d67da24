import UTMCore
import UTMFlow

/// The first stream bytes of a TCP flow whose protocol is not known yet, per direction.
///
/// Why: protocol detection reads the first bytes of a direction. Probing each segment alone
/// let a client that sends "G", "ET", " /x HTTP/1.1..." (one- to three-byte segments, a classic
/// IPS evasion) go undetected: no probe recognises "G" or " /x", the flow ended as `failed`,
/// and every HTTP rule, the web filter and the antivirus never saw it. Suricata's protocol
/// detection reads the reassembled stream from its start; here the bytes a probe could not
/// decide on are kept (up to `bytesPerSide`, the longest prefix any probe needs), the probe
/// reads them with each new segment, and once the protocol is known the parser is fed them
/// first, so it starts at the stream's first byte.
///
/// Storage: `slots` entries of two sides, reserved at init in one slab (no allocation per
/// packet); a flow holds an entry only while its protocol is unknown. While it does, its
/// `appSlot` (unused until a parser is chosen) carries the entry as `-2 - index`.
struct ProbeBuffers {
    static let bytesPerSide = 256

    private let slab: ByteSlab
    private var lengths: [UInt16]
    private var free: [Int32]
    let slots: Int
    /// Times a flow needed an entry and none was free (it is then probed segment by segment).
    private(set) var exhausted: UInt64 = 0

    init(slots: Int) {
        self.slots = max(0, slots)
        slab = ByteSlab(capacity: max(1, self.slots * 2 * ProbeBuffers.bytesPerSide))
        lengths = [UInt16](repeating: 0, count: self.slots * 2)
        free = []
        free.reserveCapacity(self.slots)
        var i = self.slots - 1
        while i >= 0 { free.append(Int32(i)); i -= 1 }
    }

    /// The entry a flow's `appSlot` names, or nil (-1: none; ≥ 0: a parser slot).
    @inline(__always)
    static func entry(ofAppSlot slot: Int32) -> Int32? { slot <= -2 ? -2 - slot : nil }

    @inline(__always)
    static func appSlot(ofEntry e: Int32) -> Int32 { -2 - e }

    mutating func acquire() -> Int32? {
        guard let e = free.popLast() else { exhausted &+= 1; return nil }
        lengths[Int(e) * 2] = 0
        lengths[Int(e) * 2 + 1] = 0
        return e
    }

    mutating func release(_ e: Int32) {
        guard e >= 0, Int(e) < slots, free.count < slots else { return }
        free.append(e)
    }

    private static func side(_ d: Direction) -> Int { d == .toServer ? 0 : 1 }

    func held(_ e: Int32, _ d: Direction) -> Int { Int(lengths[Int(e) * 2 + ProbeBuffers.side(d)]) }

    /// Appends as much of `data` as fits; returns how many bytes were kept before it.
    mutating func append(_ e: Int32, _ d: Direction, _ data: ByteView) -> Int {
        let k = Int(e) * 2 + ProbeBuffers.side(d)
        let before = Int(lengths[k])
        let room = ProbeBuffers.bytesPerSide - before
        let n = min(room, data.count)
        if n > 0, slab.write(data.prefix(n), at: k * ProbeBuffers.bytesPerSide + before) {
            lengths[k] = UInt16(before + n)
        }
        return before
    }

    /// Forgets one side (a gap: the bytes before it no longer lead to what follows).
    mutating func clear(_ e: Int32, _ d: Direction) { lengths[Int(e) * 2 + ProbeBuffers.side(d)] = 0 }

    /// The first `count` kept bytes of a side (all of them when nil).
    func view(_ e: Int32, _ d: Direction, count: Int? = nil) -> ByteView? {
        let k = Int(e) * 2 + ProbeBuffers.side(d)
        let n = min(count ?? Int(lengths[k]), Int(lengths[k]))
        guard n > 0 else { return nil }
        return slab.view(k * ProbeBuffers.bytesPerSide, n)
    }
}
