import Synchronization
import UTMCore

/// Suricata's dataset types (`type` of `dataset` / `datarep`). `ip` (and its alias `ipv6`)
/// holds IPv6 and IPv4 addresses alike.
public enum DatasetType: UInt8, Sendable, CaseIterable {
    case string = 0, md5 = 1, sha256 = 2, ipv4 = 3, ip = 4

    /// The type a rule's `type` names, nil when Suricata has no such type.
    public init?(name: Substring) {
        switch name {
        case "string": self = .string
        case "md5": self = .md5
        case "sha256": self = .sha256
        case "ipv4": self = .ipv4
        case "ip", "ipv6": self = .ip
        default: return nil
        }
    }

    public var name: String {
        switch self {
        case .string: "string"
        case .md5: "md5"
        case .sha256: "sha256"
        case .ipv4: "ipv4"
        case .ip: "ip"
        }
    }

    /// Whether a key of `count` bytes can be a member: md5 16, sha256 32, ipv4 4, ip 4 or 16
    /// (an IPv4 address is kept as its 4 bytes, see `Dataset.normalized`), string 1...65535.
    @inlinable
    public func admits(length count: Int) -> Bool {
        switch self {
        case .string: return count > 0 && count <= Dataset.maxKeyLength
        case .md5: return count == 16
        case .sha256: return count == 32
        case .ipv4: return count == 4
        case .ip: return count == 4 || count == 16
        }
    }
}

/// What one `dataset` / `datarep` option does with its buffer.
public enum DatasetOp: UInt8, Sendable {
    /// `dataset:isset|isnotset|set|unset`.
    case isSet = 0, isNotSet = 1, set = 2, unset = 3
    /// `datarep:NAME,>|<|==,VALUE`.
    case repGreater = 4, repLess = 5, repEqual = 6

    public var changesSet: Bool { self == .set || self == .unset }
}

/// One `dataset` / `datarep` element of a match list: the set (shared by every rule naming it
/// and by every worker's engine over these definitions), the operation, and `datarep`'s value.
public struct DatasetMatch: Sendable {
    public var set: Dataset
    public var op: DatasetOp
    /// `datarep`'s comparand (Suricata 7: 0...65535).
    public var value: UInt32

    public init(set: Dataset, op: DatasetOp, value: UInt32 = 0) {
        self.set = set; self.op = op; self.value = value
    }

    /// Suricata's `DetectDatasetBufferMatch` / `DetectDatarepBufferMatch`: an empty buffer never
    /// matches (not even `isnotset`); `set` matches when it added the value, `unset` when it
    /// removed it; `datarep` needs the value in the set with a reputation passing the test.
    @inlinable
    public func matches(_ key: ByteView) -> Bool {
        if key.isEmpty { return false }
        return set.apply(op, value, key)
    }
}

/// A named set of values (`dataset`) or of values with a reputation (`datarep`), as in
/// Suricata's datasets: loaded from a list file when the rules load, compiled into the
/// definitions bundle, looked up by a buffer's bytes after its transforms.
///
/// Why a lock, and only for some sets: `set`/`unset` change a set at run time and Suricata's
/// sets are process-wide, so every utmd worker's engine over one definitions set sees the same
/// set (a value one worker added is "set" on the others, as with `SharedHostState`). A set no
/// rule changes is known when the definitions are built (`reserve`): its table is then moved
/// out of the lock into `frozen` and never written again, so `isset`/`isnotset`/`datarep` on it
/// (an `ip.src; dataset:isset,...` rule runs on every packet) take no lock and workers do not
/// queue on the first worker's set. Only sets some rule changes keep the lock, for one lookup.
/// Nothing is allocated on the packet path: the table, the entry arrays and the key bytes are
/// sized when the definitions are built (`reserve`), and a `set` that finds them full is
/// refused and counted (`full`).
///
/// `@unchecked Sendable` for `frozen`: it is written only by `reserve` (while the definitions
/// are built, before any engine uses the set) and by `adoptDatasets` (while a worker's engine is
/// created, before it runs); after that it is only read.
public final class Dataset: @unchecked Sendable {
    /// Longest string key (the entry length is a UInt16).
    public static let maxKeyLength = 65535
    /// Room a set that rules change (`set`/`unset`) gets beyond its loaded entries when the
    /// rule gives no `memcap`: a small office box's sets stay far below this.
    /// Kept small because it is reserved up front for every such set (16,384 entries and 1 MiB
    /// of keys, about 1.4 MiB a set); a rule wanting more says `memcap`.
    public static let defaultRoomEntries = 16_384
    public static let defaultRoomBytes = 1 << 20
    /// Bytes an entry costs beyond its key (offset, length, reputation, table slots), for
    /// turning a `memcap` into a number of entries.
    public static let entryOverhead = 24
    /// Largest `memcap` a set may ask for: the room is reserved up front, so a rule's (or a
    /// tampered bundle's) `memcap 100gb` would otherwise take the box's memory at load.
    public static let maxMemcap = 64 << 20
    /// Largest room all the sets of one rule set may reserve together for `set` (Suricata's
    /// total limit across sets, `datasets.limits.total-hashsizes`, 16,777,216 hash rows by
    /// default): without it 200 `dataset:set,sN,type string` rules, a feed or a tampered bundle
    /// would reserve GBs at load. About 46 sets at the default room, or one at the 64 MiB memcap.
    public static let maxTotalRoom = 64 << 20

    /// Bytes `reserve` sets aside for `set` in a set rules change, beyond its loaded entries
    /// (the figure the total limit counts).
    public static func room(type: DatasetType, memcap: Int) -> Int {
        if memcap > 0 { return memcap }
        let fixed = type == .string ? 0 : (type == .md5 ? 16 : type == .sha256 ? 32 : 16)
        let keyBytes = fixed > 0 ? defaultRoomEntries * fixed : defaultRoomBytes
        return keyBytes + defaultRoomEntries * entryOverhead
    }

    /// As written in the first rule that declared it (names are compared case-insensitively,
    /// as Suricata's `strcasecmp`).
    public let name: String
    public let type: DatasetType
    /// The list file it was loaded from (resolved path, "" when none): a later rule naming the
    /// set with another file is an error, as in Suricata.
    public let load: String
    /// `memcap` in bytes (0: the default room) and `hashsize` as written (accepted, the table
    /// is sized from the entries).
    public let memcap: Int
    public let hashsize: Int
    let store: Mutex<DatasetStore>
    /// Set once when another worker's engine over the same definitions owns the set: every
    /// operation then goes to that set (`SharedHostState.adoptDatasets`). Lock-free to read.
    let shared = AtomicLazyReference<Dataset>()
    /// The table of a set no rule changes, once `reserve` has run: read without the lock.
    private(set) var frozen: DatasetStore?

    public init(name: String, type: DatasetType, load: String = "", memcap: Int = 0, hashsize: Int = 0) {
        self.name = name; self.type = type; self.load = load; self.memcap = memcap; self.hashsize = hashsize
        store = Mutex(DatasetStore())
    }

    /// The key as stored: an IPv4-mapped IPv6 address (`::ffff:a.b.c.d`) in an `ip` set is its
    /// 4 IPv4 bytes, so a list line `::ffff:1.2.3.4`, `1.2.3.4` and an IPv4 packet's `ip.src`
    /// are one member (Suricata stores IPv4 inside its 16-byte form for the same reason).
    @inlinable
    public func normalized(_ key: ByteView) -> ByteView {
        guard type == .ip, key.count == 16 else { return key }
        var i = 0
        while i < 10 { if key[checked: i] != 0 { return key }; i &+= 1 }
        guard key[checked: 10] == 0xff, key[checked: 11] == 0xff else { return key }
        return key.dropFirst(12)
    }

    /// Runs one operation (`DatasetMatch.matches`). A key of the wrong length for the type is
    /// not a member: `isnotset` matches it, the others do not.
    @usableFromInline
    func apply(_ op: DatasetOp, _ value: UInt32, _ raw: ByteView) -> Bool {
        if let owner = shared.load() { return owner.apply(op, value, raw) }
        let key = normalized(raw)
        guard type.admits(length: key.count) else { return op == .isNotSet }
        if frozen != nil, !op.changesSet { return frozen!.lookup(op, value, key) }
        return store.withLock { s in s.apply(op, value, key) }
    }

    /// Adds a loaded value (list file, bundle): the tables grow as needed (load time only).
    /// False when the value was already there (its reputation is updated).
    @discardableResult
    public func insertLoaded(_ key: ByteView, rep: UInt32) -> Bool {
        let k = normalized(key)
        guard type.admits(length: k.count) else { return false }
        return store.withLock { s in s.insert(k, rep: rep, grow: true) == .added }
    }

    /// Marks the set as changed at run time by some rule (`set`/`unset`): `reserve` gives it room.
    public func markMutable() { store.withLock { $0.mutable = true } }

    public var isMutable: Bool {
        if let owner = shared.load() { return owner.isMutable }
        if let f = frozen { return f.mutable }
        return store.withLock { $0.mutable }
    }

    /// Whether lookups read the table without the lock (a reserved set no rule changes).
    public var readsWithoutLock: Bool { (shared.load() ?? self).frozen != nil }

    /// Sizes the tables for the run: the loaded entries plus, for a set rules change, the room
    /// `memcap` allows (or the default room). Called when definitions are built; idempotent.
    /// Whatever is reserved here is all a `set` can ever use.
    public func reserve() {
        // Already reserved and frozen (a second DetectDefinitions over the same rule set).
        if frozen != nil { return }
        let memcap = self.memcap
        let fixed = type == .string ? 0 : (type == .md5 ? 16 : type == .sha256 ? 32 : 16)
        store.withLock { s in
            guard !s.reserved else { return }
            var entries = 0, bytes = 0
            if s.mutable {
                if memcap > 0 {
                    let per = (fixed > 0 ? fixed : 32) + Dataset.entryOverhead
                    entries = Swift.max(0, (memcap - s.bytesUsed - s.count * Dataset.entryOverhead) / per)
                    bytes = fixed > 0 ? entries * fixed : Swift.max(0, memcap - s.bytesUsed - s.count * Dataset.entryOverhead)
                } else {
                    entries = Dataset.defaultRoomEntries
                    bytes = fixed > 0 ? entries * fixed : Dataset.defaultRoomBytes
                }
            }
            s.resize(entries: s.entryCount + entries, bytes: s.bytesUsed + bytes)
            s.reserved = true
            s.loadedEntries = s.entryCount
        }
        // A set no rule changes is immutable from here on: its table leaves the lock.
        let table: DatasetStore? = store.withLock { s in
            guard !s.mutable else { return nil }
            let t = s
            s = DatasetStore()
            s.reserved = true
            return t
        }
        if let table { frozen = table }
    }

    /// Drops this set's own tables once it forwards to another worker's set (`adoptDatasets`).
    func releaseTables() {
        store.withLock { $0 = DatasetStore() }
        frozen = nil
    }

    /// The members with their reputations, in insertion order (bundle encoding, tests).
    public func members() -> [(key: [UInt8], rep: UInt32)] {
        if let owner = shared.load() { return owner.members() }
        if let f = frozen { return f.members() }
        return store.withLock { s in s.members() }
    }

    /// Live members, and `set`s refused because the set was full since it was built.
    public var count: Int { shared.load()?.count ?? frozen?.count ?? store.withLock { $0.count } }
    public var full: Int {
        if let owner = shared.load() { return owner.full }
        // A frozen set's `set` (a tampered bundle's) is refused by the empty locked store.
        return (frozen?.full ?? 0) + store.withLock { $0.full }
    }

    /// Whether `other` is the same set declared the same way (a worker's parse of the same rules).
    func sameDeclaration(_ other: Dataset) -> Bool {
        name.lowercased() == other.name.lowercased() && type == other.type && load == other.load
    }

    /// At a reload the new sets come from the new list files; what rules did to a running set
    /// of the same name and type is replayed on the new one (when rules change it): members
    /// `set` added since the set was built are added, within the room the new set reserved
    /// (what does not fit is counted in `full`), and list members an `unset` removed are
    /// removed. Members that came from the old list file are not carried: a false positive
    /// taken out of the list is gone after the reload, as Suricata reloads a `load` set from
    /// its file. Without it every rule update forgot what `set` had learned.
    static func carry(into new: [Dataset], from old: [Dataset]) {
        for n in new where n.isMutable {
            guard let o = old.first(where: { $0.name.lowercased() == n.name.lowercased() && $0.type == n.type }) else { continue }
            let owner = o.shared.load() ?? o
            guard owner.frozen == nil else { continue }  // no rule changed it: nothing learned
            let changes = owner.store.withLock { s in s.runTimeChanges() }
            n.store.withLock { s in
                for k in changes.removed { _ = k.withByteView { s.remove($0) } }
                for m in changes.added {
                    let r = m.key.withByteView { s.insert($0, rep: m.rep, grow: false) }
                    if r == .full { s.full &+= 1 }
                }
            }
        }
    }

    /// Whether `key` is a member (tests, tools).
    public func contains(_ key: [UInt8]) -> Bool {
        key.withByteView { v in apply(.isSet, 0, v) }
    }
}

/// The table behind a `Dataset`: open addressing (linear probing) over entry indices, the keys
/// in one flat byte store. Removal leaves a tombstone and does not reclaim the key's bytes
/// (a set that churns fills up and then refuses: bounded, counted).
struct DatasetStore {
    /// Entry index + 1 per slot; 0 empty, `tombstone` removed. Power-of-two size.
    var slots: [UInt32] = []
    var offsets: [UInt32] = []
    var lengths: [UInt16] = []
    var reps: [UInt32] = []
    var live: [Bool] = []
    var keys = ByteSlab(capacity: 0)
    var bytesUsed = 0
    /// Entries appended (live or removed) and live ones.
    var entryCount = 0
    var count = 0
    var tombstones = 0
    var mutable = false
    var reserved = false
    /// Entries there when the set was reserved (the list file, a carry adds after): entries
    /// from here on were added at run time (`carry`).
    var loadedEntries = 0
    /// `set`s refused because entries, bytes or table room ran out.
    var full = 0

    static let tombstone = UInt32.max

    enum Insert { case added, present, full }

    /// Swift's `Hasher` (SipHash, seeded at random per process) over the key: keys are hostile
    /// (a sender picks the DNS name or URI a `set` adds), and with a fixed hash such as FNV a
    /// sender could precompute colliding names that pile into one probe run, making every
    /// lookup walk it. The seed is per process, and the table is rebuilt from the members at
    /// each load, so nothing hashed is stored. No allocation.
    @inline(__always)
    static func hash(_ key: ByteView) -> Int {
        var h = Hasher()
        let n = key.count
        h.combine(n)
        var i = 0
        while i < n {
            h.combine(key[checked: i])
            i &+= 1
        }
        return h.finalize()
    }

    /// The entry holding `key`, or nil.
    func find(_ key: ByteView) -> Int? {
        guard !slots.isEmpty else { return nil }
        let mask = slots.count &- 1
        var at = DatasetStore.hash(key) & mask
        var probes = 0
        while probes < slots.count {
            let s = slots[at]
            if s == 0 { return nil }
            if s != DatasetStore.tombstone {
                let e = Int(s &- 1)
                if live[e], Int(lengths[e]) == key.count, let v = keys.view(Int(offsets[e]), key.count), v == key { return e }
            }
            at = (at &+ 1) & mask
            probes &+= 1
        }
        return nil
    }

    func lookup(_ op: DatasetOp, _ value: UInt32, _ key: ByteView) -> Bool {
        switch op {
        case .isSet: return find(key) != nil
        case .isNotSet: return find(key) == nil
        case .repGreater, .repLess, .repEqual:
            guard let e = find(key) else { return false }
            let r = reps[e]
            return op == .repGreater ? r > value : op == .repLess ? r < value : r == value
        case .set, .unset:
            // Not reached: changes go through `apply`.
            return false
        }
    }

    mutating func apply(_ op: DatasetOp, _ value: UInt32, _ key: ByteView) -> Bool {
        switch op {
        case .set:
            switch insert(key, rep: 0, grow: false) {
            case .added: return true
            case .present: return false
            case .full: full &+= 1; return false
            }
        case .unset: return remove(key)
        default:
            return lookup(op, value, key)
        }
    }

    /// Adds `key`; with `grow` false (run time) never allocates: no room is `.full`.
    mutating func insert(_ key: ByteView, rep: UInt32, grow: Bool) -> Insert {
        if let e = find(key) {
            if grow { reps[e] = rep }
            return .present
        }
        if entryCount >= offsets.count || bytesUsed &+ key.count > keys.capacity
            || (entryCount &+ 1) &* 2 > slots.count {
            guard grow else { return .full }
            resize(entries: Swift.max(16, offsets.count &* 2, entryCount &+ 1),
                   bytes: Swift.max(256, keys.capacity &* 2, bytesUsed &+ key.count))
        }
        guard keys.write(key, at: bytesUsed) else { return .full }
        let e = entryCount
        offsets[e] = UInt32(bytesUsed)
        lengths[e] = UInt16(key.count)
        reps[e] = rep
        live[e] = true
        bytesUsed &+= key.count
        entryCount &+= 1
        count &+= 1
        place(e, key)
        return .added
    }

    mutating func remove(_ key: ByteView) -> Bool {
        guard let e = find(key) else { return false }
        live[e] = false
        count &-= 1
        let mask = slots.count &- 1
        var at = DatasetStore.hash(key) & mask
        while slots[at] != UInt32(e &+ 1) { at = (at &+ 1) & mask }
        slots[at] = DatasetStore.tombstone
        tombstones &+= 1
        return true
    }

    /// Puts entry `e` in the first free slot of its probe sequence (the table always has one:
    /// it is kept at least twice the entries).
    mutating func place(_ e: Int, _ key: ByteView) {
        let mask = slots.count &- 1
        var at = DatasetStore.hash(key) & mask
        while slots[at] != 0 && slots[at] != DatasetStore.tombstone { at = (at &+ 1) & mask }
        if slots[at] == DatasetStore.tombstone { tombstones &-= 1 }
        slots[at] = UInt32(e &+ 1)
    }

    /// Re-sizes every table to `entries` entries and `bytes` key bytes (load and build time).
    mutating func resize(entries: Int, bytes: Int) {
        let n = Swift.max(entries, entryCount)
        var size = 16
        while size < n &* 2 { size &*= 2 }
        let newKeys = ByteSlab(capacity: Swift.max(bytes, bytesUsed))
        if bytesUsed > 0, let old = keys.view(0, bytesUsed) { newKeys.write(old, at: 0) }
        keys = newKeys
        offsets += [UInt32](repeating: 0, count: Swift.max(0, n - offsets.count))
        lengths += [UInt16](repeating: 0, count: Swift.max(0, n - lengths.count))
        reps += [UInt32](repeating: 0, count: Swift.max(0, n - reps.count))
        live += [Bool](repeating: false, count: Swift.max(0, n - live.count))
        slots = [UInt32](repeating: 0, count: size)
        tombstones = 0
        for e in 0 ..< entryCount where live[e] {
            if let v = keys.view(Int(offsets[e]), Int(lengths[e])) { place(e, v) }
        }
    }

    /// Live members added at run time, and loaded members removed since (`Dataset.carry`).
    func runTimeChanges() -> (added: [(key: [UInt8], rep: UInt32)], removed: [[UInt8]]) {
        var added: [(key: [UInt8], rep: UInt32)] = [], removed: [[UInt8]] = []
        for e in 0 ..< entryCount {
            guard let v = keys.view(Int(offsets[e]), Int(lengths[e])) else { continue }
            if e >= loadedEntries { if live[e] { added.append((v.bytes, reps[e])) } } else if !live[e] { removed.append(v.bytes) }
        }
        return (added, removed)
    }

    func members() -> [(key: [UInt8], rep: UInt32)] {
        var out: [(key: [UInt8], rep: UInt32)] = []
        out.reserveCapacity(count)
        for e in 0 ..< entryCount where live[e] {
            if let v = keys.view(Int(offsets[e]), Int(lengths[e])) { out.append((v.bytes, reps[e])) }
        }
        return out
    }
}

/// The datasets of one rule set being loaded, by lower-cased name: the first rule naming a set
/// declares it (type, load file), later ones find it. Part of `RuleParser`.
public struct DatasetRegistry: Sendable {
    var byName: [String: Dataset] = [:]

    public init() {}

    public var all: [Dataset] { byName.keys.sorted().compactMap { byName[$0] } }

    /// Room the sets rules change have asked for so far (`Dataset.room`), against
    /// `Dataset.maxTotalRoom`. Summed over the sets each time, not kept as a count: a rule
    /// that fails after its `dataset:set` has still marked the (shared) set.
    public var reservedRoom: Int {
        byName.values.reduce(0) { $0 + ($1.isMutable ? Dataset.room(type: $1.type, memcap: $1.memcap) : 0) }
    }

    /// Marks `set` as changed by a rule (`set`/`unset`), counting its room against the total
    /// limit: the rule that would take the sets over it fails with one line.
    mutating func markMutable(_ set: Dataset, keyword: String) throws(RuleError) {
        guard !set.isMutable else { return }
        let room = Dataset.room(type: set.type, memcap: set.memcap)
        guard reservedRoom + room <= Dataset.maxTotalRoom else {
            throw .invalid("\(keyword) '\(set.name)': its room for 'set' (\(room >> 10) KiB) would take the datasets rules change over the \(Dataset.maxTotalRoom >> 20) MiB they may reserve together (give sets a smaller memcap)")
        }
        set.markMutable()
    }

    /// The set `name` as a rule declares or names it. Errors (one line each): no type for a set
    /// no earlier rule declared, another type or list file than the first declaration, a list
    /// file that cannot be read (through `reader`, RuleListFile) or has a bad line
    /// (`file:line: why`).
    mutating func dataset(name: String, type: DatasetType?, load: String?, state: Bool, memcap: Int, hashsize: Int,
                          ruleFile: String, reader: RuleFileReader?, keyword: String) throws(RuleError) -> Dataset {
        let key = name.lowercased()
        let path = load.map { RuleListFile.resolve($0, ruleFile: ruleFile) }
        if let existing = byName[key] {
            if let type, type != existing.type {
                throw .invalid("\(keyword) '\(name)': declared as type \(existing.type.name), here as \(type.name)")
            }
            if let path, path != existing.load {
                throw .invalid("\(keyword) '\(name)': loads '\(path)', an earlier rule loads '\(existing.load)'")
            }
            return existing
        }
        guard let type else {
            throw .invalid("\(keyword) '\(name)': no type (the first rule naming a dataset must declare 'type string|md5|sha256|ipv4|ip')")
        }
        let set = Dataset(name: name, type: type, load: path ?? "", memcap: memcap, hashsize: hashsize)
        if let path {
            var bytes: [UInt8]
            do throws(RuleError) {
                bytes = try RuleListFile.read(path, with: reader, for: "\(keyword) '\(name)'")
            } catch {
                // Suricata opens a `state` file for append: a missing one is an empty set (not
                // when nothing can be read at all: no reader).
                guard state, reader != nil else { throw error }
                bytes = []
            }
            var loadedBytes = 0
            do throws(DatasetListError) {
                try DatasetList.parse(bytes, type: type) { k, rep in
                    loadedBytes &+= k.count &+ Dataset.entryOverhead
                    set.insertLoaded(k, rep: rep)
                }
            } catch {
                throw .invalid("\(keyword) '\(name)': \(path):\(error.line): \(error.reason)")
            }
            if memcap > 0 && loadedBytes > memcap {
                throw .invalid("\(keyword) '\(name)': \(path) needs about \(loadedBytes) bytes, over its memcap \(memcap)")
            }
        }
        byName[key] = set
        return set
    }
}

/// A bad line of a dataset list file.
public struct DatasetListError: Error, Sendable {
    public var line: Int
    public var reason: String
}

/// Suricata's dataset list files, one value a line, optionally `,REP` (0...65535) after it:
/// `string` base64 of the bytes, `md5` / `sha256` hex (32 / 64 digits), `ipv4` dotted quad,
/// `ip` IPv6 text or a dotted quad. Lines end in LF (a CR before it is dropped); blank lines
/// are skipped. Any other line is an error naming its number (Suricata fails the rule) and why,
/// never the line's text: a `load` may name any readable file (`/etc/shadow`), and the error
/// goes to logs, `utmctl` and update reports.
/// Hostile input: every read is bounds-checked; fuzzed by `FuzzDatasetList`.
public enum DatasetList {
    public static func parse(_ bytes: [UInt8], type: DatasetType,
                             _ add: (ByteView, UInt32) -> Void) throws(DatasetListError) {
        var start = 0
        var lineNumber = 0
        var key = [UInt8]()
        key.reserveCapacity(64)
        while start < bytes.count {
            lineNumber += 1
            var end = start
            while end < bytes.count && bytes[end] != 0x0A { end += 1 }
            var stop = end
            if stop > start && bytes[stop - 1] == 0x0D { stop -= 1 }
            let line = bytes[start ..< stop]
            start = end + 1
            if line.allSatisfy({ $0 == 0x20 || $0 == 0x09 }) { continue }
            var value = line
            var rep: UInt32 = 0
            if let comma = line.firstIndex(of: 0x2C) {
                value = line[line.startIndex ..< comma]
                guard let r = reputation(line[(comma + 1)...]) else {
                    throw DatasetListError(line: lineNumber, reason: "the reputation after the comma is not 0-65535")
                }
                rep = r
            }
            key.removeAll(keepingCapacity: true)
            switch type {
            case .string:
                guard decodeBase64(value, into: &key), !key.isEmpty, key.count <= Dataset.maxKeyLength else {
                    throw DatasetListError(line: lineNumber, reason: "not valid base64 (\(value.count) bytes)")
                }
            case .md5, .sha256:
                let digits = type == .md5 ? 32 : 64
                guard value.count == digits, decodeHex(value, into: &key) else {
                    throw DatasetListError(line: lineNumber, reason: "not a \(type.name) (\(digits) hex digits; \(value.count) bytes)")
                }
            case .ipv4:
                guard let v4 = ipv4(value) else {
                    throw DatasetListError(line: lineNumber, reason: "not an IPv4 address (\(value.count) bytes)")
                }
                key = v4
            case .ip:
                if value.contains(0x3A) {
                    guard let a = IPAddress(String(decoding: value, as: UTF8.self)), a.isV6 else {
                        throw DatasetListError(line: lineNumber, reason: "not an IP address (\(value.count) bytes)")
                    }
                    for s in stride(from: 56, through: 0, by: -8) { key.append(UInt8(truncatingIfNeeded: a.hi >> UInt64(s))) }
                    for s in stride(from: 56, through: 0, by: -8) { key.append(UInt8(truncatingIfNeeded: a.lo >> UInt64(s))) }
                } else {
                    guard let v4 = ipv4(value) else {
                        throw DatasetListError(line: lineNumber, reason: "not an IP address (\(value.count) bytes)")
                    }
                    key = v4
                }
            }
            key.withByteView { add($0, rep) }
        }
    }

    /// A decimal 0...65535, nothing else (Suricata's `StringParseU16RangeCheck` on the field).
    static func reputation(_ s: ArraySlice<UInt8>) -> UInt32? {
        guard !s.isEmpty, s.count <= 5 else { return nil }
        var v: UInt32 = 0
        for c in s {
            guard c >= 0x30 && c <= 0x39 else { return nil }
            v = v * 10 + UInt32(c - 0x30)
        }
        return v <= 65535 ? v : nil
    }

    static func hexDigit(_ c: UInt8) -> UInt8? {
        switch c {
        case 0x30 ... 0x39: return c - 0x30
        case 0x61 ... 0x66: return c - 0x61 + 10
        case 0x41 ... 0x46: return c - 0x41 + 10
        default: return nil
        }
    }

    static func decodeHex(_ s: ArraySlice<UInt8>, into out: inout [UInt8]) -> Bool {
        guard s.count % 2 == 0 else { return false }
        var i = s.startIndex
        while i < s.endIndex {
            guard let a = hexDigit(s[i]), let b = hexDigit(s[i + 1]) else { return false }
            out.append(a << 4 | b)
            i += 2
        }
        return true
    }

    /// Strict dotted quad as `inet_pton`: four decimal parts 0...255, no sign, no leading zero.
    static func ipv4(_ s: ArraySlice<UInt8>) -> [UInt8]? {
        var out: [UInt8] = []
        var part = 0, digits = 0, first: UInt8 = 0
        for c in s {
            if c == 0x2E {
                guard digits > 0, out.count < 3 else { return nil }
                out.append(UInt8(part)); part = 0; digits = 0
                continue
            }
            guard c >= 0x30 && c <= 0x39 else { return nil }
            if digits == 0 { first = c } else if first == 0x30 { return nil }
            part = part * 10 + Int(c - 0x30)
            digits += 1
            guard part <= 255 else { return nil }
        }
        guard digits > 0, out.count == 3 else { return nil }
        out.append(UInt8(part))
        return out
    }

    /// RFC 4648 base64 with Suricata's strict mode: only the alphabet, `=` padding only at the
    /// end (at most two); an unpadded final group of 2 or 3 characters is accepted.
    static func decodeBase64(_ s: ArraySlice<UInt8>, into out: inout [UInt8]) -> Bool {
        var acc: UInt32 = 0, n = 0, pad = 0
        for c in s {
            let v: UInt32
            switch c {
            case 0x41 ... 0x5A: v = UInt32(c - 0x41)
            case 0x61 ... 0x7A: v = UInt32(c - 0x61 + 26)
            case 0x30 ... 0x39: v = UInt32(c - 0x30 + 52)
            case 0x2B: v = 62
            case 0x2F: v = 63
            case 0x3D: pad += 1; if pad > 2 { return false }; continue
            default: return false
            }
            if pad > 0 { return false }
            acc = acc << 6 | v
            n += 1
            if n == 4 {
                out.append(UInt8(truncatingIfNeeded: acc >> 16)); out.append(UInt8(truncatingIfNeeded: acc >> 8))
                out.append(UInt8(truncatingIfNeeded: acc))
                acc = 0; n = 0
            }
        }
        switch n {
        case 0: return pad == 0
        case 2: out.append(UInt8(truncatingIfNeeded: acc >> 4)); return pad == 0 || pad == 2
        case 3: out.append(UInt8(truncatingIfNeeded: acc >> 10)); out.append(UInt8(truncatingIfNeeded: acc >> 2)); return pad <= 1
        default: return false
        }
    }
}

extension SharedHostState {
    /// Points the datasets of `definitions` (another worker's parse of the same rules) at the
    /// sets of the definitions this state was built for, so `set` on one worker is seen by all.
    func adoptDatasets(of definitions: DetectDefinitions) {
        for d in definitions.datasets {
            guard let owner = datasets.first(where: { $0.sameDeclaration(d) }), owner !== d else { continue }
            // Forwarded for good: its own tables (the list and the room reserved for `set`)
            // would only take memory once per extra worker.
            if d.shared.storeIfNil(owner) === owner { d.releaseTables() }
        }
    }
}

extension DetectDefinitions {
    /// Every dataset the signatures name, once each (by identity), reserved for the run.
    static func reservedDatasets(_ sigs: [Signature]) -> [Dataset] {
        var seen = Set<ObjectIdentifier>()
        var out: [Dataset] = []
        func visit(_ elements: [MatchElement]) {
            for e in elements {
                if case .dataset(let m) = e, seen.insert(ObjectIdentifier(m.set)).inserted { out.append(m.set) }
                if case .base64Decode(let d) = e { visit(d.data) }
            }
        }
        for s in sigs { for l in s.lists { visit(l.elements) } }
        for d in out { d.reserve() }
        return out
    }

    /// Members of every dataset, and `set`s refused because a set was full (stats).
    public var datasetCounts: (sets: Int, members: Int, full: Int) {
        var members = 0, full = 0
        for d in datasets { members += d.count; full += d.full }
        return (datasets.count, members, full)
    }
}
