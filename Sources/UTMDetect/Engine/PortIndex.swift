/// Signature lists keyed by port, for `PortGroup`: sorted keys with a binary search behind a
/// 1,024-bit filter (a bit per port modulo 1,024).
///
/// Why not a `Dictionary<UInt16, [Int32]>`: every packet looked up its destination and source
/// port in each group it met, ~90 % of the lookups missed, and each cost ~120 instructions in
/// the standard library's seeded hashing (2.9 M on the 10 MB capture with ET). A miss here is
/// mostly one bit test; a hit a binary search over a few hundred keys at most. A class so a
/// group read out of its array retains one reference, not its three arrays.
final class PortIndex: Sendable {
    /// Ports in ascending order; `lists[k]` is the signature list of `keys[k]`.
    private let keys: [UInt16]
    private let lists: [[Int32]]
    /// Bit `port & 1023` set when some key has those low bits.
    private let filter: [UInt64]

    init(_ map: [UInt16: [Int32]]) {
        let sorted = map.sorted { $0.key < $1.key }
        keys = sorted.map(\.key)
        lists = sorted.map(\.value)
        var f = [UInt64](repeating: 0, count: map.isEmpty ? 0 : 16)
        for k in keys { f[Int(k & 1023) >> 6] |= 1 << UInt64(k & 63) }
        filter = f
    }

    var isEmpty: Bool { keys.isEmpty }

    /// The list of `port`, nil when no signature is keyed on it.
    @inline(__always)
    subscript(port: UInt16) -> [Int32]? {
        guard !keys.isEmpty, filter[Int(port & 1023) >> 6] & (1 << UInt64(port & 63)) != 0 else { return nil }
        var lo = 0, hi = keys.count
        while lo < hi {
            let mid = (lo &+ hi) >> 1
            if keys[mid] < port { lo = mid &+ 1 } else { hi = mid }
        }
        return lo < keys.count && keys[lo] == port ? lists[lo] : nil
    }
}
