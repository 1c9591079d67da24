import UTMCore

/// The message buffers, one per direction, of a stream parser whose messages can span TCP
/// segments (PostgreSQL messages, SMB records).
///
/// Why one type: PgSQL and SMB read their messages the same way — a message one segment holds
/// whole is read in place, a longer one is kept (up to `capacity` bytes, the prefix its fields
/// are read from) until its last byte came — and each carried its own copy of these helpers.
/// Both buffers are reserved once in `init` (a parser lives in a pool slot for the life of the
/// process); nothing here allocates afterwards.
struct DirectionalBuffers: Sendable {
    private var toServer: [UInt8] = []
    private var toClient: [UInt8] = []
    /// Bytes kept of one message; the rest of a longer one is dropped.
    let capacity: Int

    init(capacity: Int) {
        self.capacity = Swift.max(0, capacity)
        toServer.reserveCapacity(self.capacity)
        toClient.reserveCapacity(self.capacity)
    }

    func count(_ d: Direction) -> Int { d == .toServer ? toServer.count : toClient.count }

    /// The bytes kept so far of the message being read in `d`.
    func withKept<R>(_ d: Direction, _ body: (ByteView) -> R) -> R {
        d == .toServer ? toServer.withByteView(body) : toClient.withByteView(body)
    }

    /// A new message starts in `d`.
    mutating func clear(_ d: Direction) {
        if d == .toServer { toServer.removeAll(keepingCapacity: true) } else { toClient.removeAll(keepingCapacity: true) }
    }

    /// A new flow: both directions empty, capacity kept.
    mutating func clearAll() {
        toServer.removeAll(keepingCapacity: true)
        toClient.removeAll(keepingCapacity: true)
    }

    /// Appends what still fits under `capacity`.
    mutating func append(_ v: ByteView, _ d: Direction) {
        let room = capacity - count(d)
        guard room > 0 else { return }
        if d == .toServer { v.prefix(room).append(to: &toServer) } else { v.prefix(room).append(to: &toClient) }
    }

    /// Takes the next `chunk` of the message being read in `d` (`complete`: its last bytes;
    /// `whole`: the entire message) and, once the message is complete, lends it to `read`: in
    /// place when one chunk held it all, else the kept prefix (`read` compares its length with
    /// the message's to know it was cut). Non-escaping: no allocation.
    ///
    /// `read` changes the parser that owns these buffers, so the parser moves them out around
    /// the call (`moveOut`, then assigns them back): neither copies nor allocates, and the
    /// parser is not accessed twice at once. A non-generic call on purpose: a protocol
    /// extension generic over the parser allocated in debug builds (the allocation tests).
    mutating func collect(_ chunk: ByteView, _ d: Direction, complete: Bool, whole: Bool,
                          _ read: (ByteView) -> Void) {
        if complete && whole && count(d) == 0 {
            read(chunk)
            return
        }
        append(chunk, d)
        guard complete else { return }
        if d == .toServer {
            toServer.withByteView(read)
            toServer.removeAll(keepingCapacity: true)
        } else {
            toClient.withByteView(read)
            toClient.removeAll(keepingCapacity: true)
        }
    }

    /// These buffers, leaving ones without storage in their place (see `collect`).
    mutating func moveOut() -> DirectionalBuffers {
        var held = DirectionalBuffers(capacity: 0)
        swap(&held, &self)
        return held
    }
}
