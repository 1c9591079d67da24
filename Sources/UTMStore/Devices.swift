/// What one event says about a device of the office: its MAC, and when known its address and
/// host name.
public struct DeviceSighting: Sendable, Equatable {
    public var mac: String
    public var ip: String?
    public var hostname: String?
    public var time: Int64

    public init(mac: String, ip: String? = nil, hostname: String? = nil, time: Int64) {
        self.mac = mac
        self.ip = ip
        self.hostname = hostname
        self.time = time
    }
}

/// One row of the `devices` table (schema version 3).
public struct DeviceRecord: Sendable, Equatable {
    public var mac: String
    /// The address last seen for it (DHCP ACK, or the private address of an event's ether).
    public var ip: String?
    /// DHCP option 12 (the host name the device sent).
    public var hostname: String?
    public var firstSeen: Int64
    public var lastSeen: Int64

    /// "hostname (IP, MAC)", leaving out what is unknown, for reports and `utmctl logs`.
    public var label: String {
        let inner = [ip, mac].compactMap { $0 }.joined(separator: ", ")
        guard let hostname else { return ip.map { "\($0) (\(mac))" } ?? mac }
        return "\(hostname) (\(inner))"
    }
}

/// Sightings of one ingest batch, merged per MAC before they are written (one upsert per
/// device per batch instead of one per event).
struct DeviceBatch {
    struct Entry {
        var ip: String?
        var ipTime: Int64 = .min
        var hostname: String?
        var hostnameTime: Int64 = .min
        var first: Int64
        var last: Int64
    }
    var entries: [String: Entry] = [:]

    mutating func add(_ s: DeviceSighting) {
        var e = entries[s.mac] ?? Entry(first: s.time, last: s.time)
        e.first = min(e.first, s.time)
        e.last = max(e.last, s.time)
        if let ip = s.ip, s.time >= e.ipTime { e.ip = ip; e.ipTime = s.time }
        if let h = s.hostname, s.time >= e.hostnameTime { e.hostname = h; e.hostnameTime = s.time }
        entries[s.mac] = e
    }

    /// The LAN ends of an event: each (MAC, IP) pair of its ether whose IP is an office
    /// (private) address and whose MAC is one device's (not broadcast or multicast). A public
    /// address behind a MAC is the gateway's side of a routed flow, not a device.
    mutating func add(_ r: LogRecord) {
        for (mac, ip) in [(r.srcMAC, r.srcIP), (r.destMAC, r.destIP)] {
            guard let mac, let ip, isUnicastMAC(mac), isOfficeAddress(ip) else { continue }
            add(DeviceSighting(mac: mac, ip: ip, time: r.time))
        }
    }
}

/// The group bit of the first octet is clear (not broadcast or multicast).
func isUnicastMAC(_ mac: String) -> Bool {
    guard let first = UInt8(mac.prefix(2), radix: 16) else { return false }
    return first & 1 == 0
}

/// A private address of the office: RFC 1918, IPv6 ULA (fc00::/7) or link-local.
func isOfficeAddress(_ ip: String?) -> Bool {
    guard let ip else { return false }
    if ip.hasPrefix("10.") || ip.hasPrefix("192.168.") { return true }
    if ip.hasPrefix("172."), let second = Int(ip.split(separator: ".").dropFirst().first ?? ""), (16...31).contains(second) { return true }
    let l = ip.lowercased()
    return l.hasPrefix("fc") || l.hasPrefix("fd") || l.hasPrefix("fe80:")
}

extension EventStore {
    /// Writes a batch's sightings (inside the ingest transaction). A newer address or host
    /// name replaces the stored one; first/last seen widen.
    func writeDevices(_ batch: DeviceBatch) throws {
        guard !batch.entries.isEmpty else { return }
        let upsert = try db.prepare("""
            INSERT INTO devices(mac, ip, hostname, first_seen, last_seen) VALUES (?1, ?2, ?3, ?4, ?5)
            ON CONFLICT(mac) DO UPDATE SET
              ip = CASE WHEN excluded.ip IS NOT NULL AND (devices.ip IS NULL OR ?6 >= devices.last_seen)
                        THEN excluded.ip ELSE devices.ip END,
              hostname = CASE WHEN excluded.hostname IS NOT NULL AND (devices.hostname IS NULL OR ?7 >= devices.last_seen)
                              THEN excluded.hostname ELSE devices.hostname END,
              first_seen = min(devices.first_seen, excluded.first_seen),
              last_seen = max(devices.last_seen, excluded.last_seen)
            """)
        for (mac, e) in batch.entries.sorted(by: { $0.key < $1.key }) {
            try upsert.run([.text(mac), SQLValue(e.ip), SQLValue(e.hostname), .int(e.first), .int(e.last),
                            .int(e.ipTime), .int(e.hostnameTime)])
        }
    }

    /// Keeps the `config.maxDevices` most recently seen devices.
    func pruneDevices() throws {
        try db.prepare("DELETE FROM devices WHERE mac IN (SELECT mac FROM devices ORDER BY last_seen DESC, mac LIMIT -1 OFFSET ?1)")
            .run([.int(Int64(max(0, config.maxDevices)))])
    }

    /// Every device known, most recently seen first.
    public func devices() throws -> [DeviceRecord] {
        // A store opened read-only may predate schema version 3.
        guard try db.scalar("SELECT count(*) FROM sqlite_master WHERE name = 'devices'") ?? 0 > 0 else { return [] }
        let s = try db.prepare("SELECT mac, ip, hostname, first_seen, last_seen FROM devices ORDER BY last_seen DESC, mac")
        try s.bind([])
        var out: [DeviceRecord] = []
        while try s.step() {
            out.append(DeviceRecord(mac: s.text(0) ?? "", ip: s.text(1), hostname: s.text(2),
                                    firstSeen: s.int(3), lastSeen: s.int(4)))
        }
        return out
    }

    /// The device that last had each address: an address DHCP gave to several devices over
    /// time names the most recent one.
    public func devicesByIP() throws -> [String: DeviceRecord] {
        var out: [String: DeviceRecord] = [:]
        for d in try devices() {
            guard let ip = d.ip, out[ip] == nil else { continue }
            out[ip] = d
        }
        return out
    }
}
