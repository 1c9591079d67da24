/// One definitions or firmware update as the monthly report lists it.
public struct UpdateRecord: Sendable, Equatable {
    /// Microseconds since the epoch, UTC.
    public var time: Int64
    /// What was updated: "ips", "antivirus", "categories", "firmware".
    public var kind: String
    public var version: String
    /// "applied", "failed", "rolled back".
    public var result: String
    public var detail: String?

    public init(time: Int64, kind: String, version: String, result: String, detail: String? = nil) {
        self.time = time
        self.kind = kind
        self.version = version
        self.result = result
        self.detail = detail
    }
}

extension EventStore {
    /// Records an update (the update service calls this after each attempt, success or not), so
    /// the monthly report can say which definitions protected the office when.
    public func recordUpdate(_ r: UpdateRecord) throws {
        try db.prepare("INSERT INTO update_history(time_us, kind, version, result, detail) VALUES (?1, ?2, ?3, ?4, ?5)")
            .run([.int(r.time), .text(r.kind), .text(r.version), .text(r.result), SQLValue(r.detail)])
    }

    /// Convenience for callers that have no record struct at hand.
    public func recordUpdate(kind: String, version: String, result: String = "applied", detail: String? = nil,
                             time: Int64 = EventTime.now()) throws {
        try recordUpdate(UpdateRecord(time: time, kind: kind, version: version, result: result, detail: detail))
    }

    /// Updates in [from, to), oldest first.
    public func updates(from: Int64, to: Int64) throws -> [UpdateRecord] {
        let s = try db.prepare("""
            SELECT time_us, kind, version, result, detail FROM update_history
            WHERE time_us >= ?1 AND time_us < ?2 ORDER BY time_us, id
            """)
        try s.bind([.int(from), .int(to)])
        var out: [UpdateRecord] = []
        while try s.step() {
            out.append(UpdateRecord(time: s.int(0), kind: s.text(1) ?? "", version: s.text(2) ?? "",
                                    result: s.text(3) ?? "", detail: s.text(4)))
        }
        return out
    }
}
