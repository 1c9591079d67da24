import UTMCore

/// SMB over TCP (445 direct, 139 NetBIOS session service): the NetBIOS session framing, SMB2/3
/// headers and the commands an operator asks about — which dialect was negotiated, who logged
/// on (NTLMSSP user/domain/host), which share was mounted, which file was opened ([MS-SMB2]
/// 2.2, [MS-NLMP] 2.2.1.3) — and SMB1 headers (command, status, the dialects offered).
///
/// Transactions, as Suricata counts them: a request and the response with the same message
/// id; both are logged together when the response arrives (an interim STATUS_PENDING does not
/// count), a response whose request came before the capture alone. Records the session
/// encrypted (SMB3 transform header) or compressed carry nothing readable: counted, skipped.
public struct SMBConfig: Sendable {
    /// Bytes kept of one record to read its headers and the command fields; the rest of a
    /// record (READ/WRITE data) is skipped without being looked at.
    /// 8 KiB (4 KiB before session 12): a named-pipe WRITE/READ carries a whole DCE/RPC fragment
    /// (Windows' max_xmit_frag is 4280) that must not be cut.
    public var maxRecordBuffer = 8192
    /// Requests waiting for their response; when full, the oldest is logged without one.
    public var maxPending = 32
    /// Bytes of strings (share, file names, NTLMSSP names, GUIDs) of the pending transactions.
    public var maxStoreBytes = 4096
    public init() {}
}

/// One request/response pair; strings are fields of the parser's `store`.
public struct SMBTransaction: Sendable {
    /// 1 for the flow's first transaction (EVE `smb.id`).
    public var id: UInt64 = 0
    /// 1 or 2 (SMB2 and SMB3 share the header).
    public var version: UInt8 = 2
    public var command: UInt16 = 0
    public var messageID: UInt64 = 0
    public var sessionID: UInt64 = 0
    public var treeID: UInt32 = 0
    public var hasRequest = false
    public var hasResponse = false
    /// NTSTATUS of the response.
    public var status: UInt32 = 0
    /// NEGOTIATE: the dialects offered (SMB2: `dialects[clientDialects]` of the parser; SMB1:
    /// NUL-separated names in `dialectNames`), the server's GUID as text.
    public var clientDialects = 0 ..< 0
    public var dialectNames = Field.absent
    public var serverGUID = Field.absent
    /// TREE_CONNECT: `\\server\share` and the share type (1 disk, 2 pipe, 3 printer).
    public var share = Field.absent
    public var shareType: UInt8 = 0
    /// CREATE: the file name and the create disposition ([MS-SMB2] 2.2.13).
    public var filename = Field.absent
    public var disposition: UInt32?
    /// READ/WRITE/IOCTL: the volatile half of the FileId (pairs a READ's response with its pipe).
    public var fileID: UInt64 = 0
    /// SESSION_SETUP with an NTLMSSP AUTHENTICATE message.
    public var ntlmUser = Field.absent
    public var ntlmDomain = Field.absent
    public var ntlmHost = Field.absent
    public init() {}
}

/// One direction's framing state.
struct SMBFraming: Sendable {
    var headerBytes = 0
    var type: UInt8 = 0
    var length = 0
    var remaining = 0
    var recordLength = 0
    var inBody = false
    var stopped = false
    /// A pipe WRITE / IOCTL input in a record longer than the record buffer: its data window
    /// in record offsets (`pipeStart ..< pipeEnd`) is lent to `onPipe` as the bytes stream,
    /// rather than from the 8 KiB kept (review 12A: a DataOffset padded past the buffer hid
    /// the call). Decided once the message's fixed part is kept.
    var pipeDecided = false
    var pipeStart = 0
    var pipeEnd = 0
    var pipeFile: UInt64 = 0
}

/// The parser of one flow, reused from a pool with `reset()`; all memory is reserved in `init`.
public struct SMBParser: Sendable {
    public let config: SMBConfig
    public private(set) var store: FieldStore
    /// A second store of the same size, for compacting (`compact()`), reserved in `init`.
    var spare: FieldStore
    /// SMB2 dialect numbers offered in NEGOTIATE requests still pending.
    public private(set) var dialects: [UInt16] = []
    public private(set) var pending: [SMBTransaction] = []
    /// The dialect the server chose (SMB2 DialectRevision; 0 before NEGOTIATE's response, 1
    /// for SMB1's NT LM 0.12 and the like).
    public private(set) var dialect: UInt16 = 0
    var nextID: UInt64 = 1
    var toServer = SMBFraming()
    var toClient = SMBFraming()
    /// Records that span segments (up to `maxRecordBuffer` bytes each).
    var buffers: DirectionalBuffers
    /// Records seen of each kind, and records that made no sense.
    public private(set) var records: UInt64 = 0
    public private(set) var encryptedRecords: UInt64 = 0
    public private(set) var malformed: UInt64 = 0
    /// Tree ids whose TREE_CONNECT answer said "pipe" (IPC$): their READ/WRITE/IOCTL
    /// FSCTL_PIPE_TRANSCEIVE data is DCE/RPC, lent to `onPipe` (session 12).
    public private(set) var pipeTrees: [UInt32] = []
    /// The record being read had its pipe data lent as it streamed (`decidePipe`).
    var skipPipeData = false

    public init(config: SMBConfig = .init()) {
        self.config = config
        store = FieldStore(capacity: config.maxStoreBytes)
        spare = FieldStore(capacity: config.maxStoreBytes)
        dialects.reserveCapacity(64)
        pipeTrees.reserveCapacity(SMBParser.maxPipeTrees)
        pending.reserveCapacity(config.maxPending)
        buffers = DirectionalBuffers(capacity: config.maxRecordBuffer)
    }

    public mutating func reset() {
        store.reset()
        dialects.removeAll(keepingCapacity: true)
        pending.removeAll(keepingCapacity: true)
        pipeTrees.removeAll(keepingCapacity: true)
        dialect = 0
        nextID = 1
        toServer = SMBFraming()
        toClient = SMBFraming()
        buffers.clearAll()
        records = 0
        encryptedRecords = 0
        malformed = 0
    }

    // MARK: Probing

    /// A NetBIOS session message whose payload starts with an SMB1, SMB2, SMB3 transform or
    /// compression header, in either direction; any port.
    public static func probe(_ v: ByteView) -> Bool {
        guard v.u8(0) == 0, let len = v.u24(1), len >= 4,
              let m = v.u8(4), m >= 0xfc, v.u8(5) == 0x53, v.u8(6) == 0x4d, v.u8(7) == 0x42 else { return false }
        return true
    }

    @inlinable
    public static func isSMBPort(_ p: UInt16) -> Bool { p == 445 || p == 139 }

    // MARK: Feeding

    /// Feeds in-order stream bytes of one direction. Each transaction that completes is lent to
    /// `onTransaction` with the parser (borrowed: its store holds the strings). `gap`: bytes
    /// were lost, the framing cannot be recovered, so this direction stops.
    public mutating func feed(_ data: ByteView, direction: Direction, gap: Bool,
                              onTransaction: (borrowing SMBParser, SMBTransaction) -> Void) {
        feed(data, direction: direction, gap: gap, onTransaction: onTransaction) { _, _, _, _ in }
    }

    static let maxPipeTrees = 8
    /// FSCTL_PIPE_TRANSCEIVE ([MS-FSCC] 2.3.49): a write and a read on a pipe in one IOCTL.
    static let pipeTransceive: UInt32 = 0x0011_C017

    /// The same, lending named-pipe data to `onPipe` as well: (direction, the FileId's volatile
    /// half, the bytes, whether they were cut because the record was longer than
    /// `maxRecordBuffer`). Writes and IOCTL inputs go to the server, reads and IOCTL outputs
    /// to the client; the bytes are the record's, valid during the call only.
    public mutating func feed(_ data: ByteView, direction: Direction, gap: Bool,
                              onTransaction: (borrowing SMBParser, SMBTransaction) -> Void,
                              onPipe: (Direction, UInt64, ByteView, Bool) -> Void) {
        if gap { withFraming(direction) { $0.stopped = true } }
        var rest = data
        while !rest.isEmpty {
            var f = framing(direction)
            if f.stopped { return }
            if !f.inBody {
                while f.headerBytes < 4, let b = rest.u8(0) {
                    if f.headerBytes == 0 { f.type = b } else { f.length = f.length << 8 | Int(b) }
                    f.headerBytes += 1
                    rest = rest.dropFirst(1)
                }
                if f.headerBytes < 4 { withFraming(direction) { $0 = f }; return }
                // Session message (0), or the NetBIOS session service's own (request, positive /
                // negative response, retarget, keepalive) whose bodies we skip.
                guard f.type == 0 || (f.type >= 0x81 && f.type <= 0x85) else {
                    malformed &+= 1
                    f.stopped = true
                    withFraming(direction) { $0 = f }
                    return
                }
                f.recordLength = f.length
                f.remaining = f.length
                f.inBody = true
                buffers.clear(direction)
                if f.remaining == 0 {
                    withFraming(direction) { $0 = SMBFraming() }
                    continue
                }
            }
            let n = Swift.min(f.remaining, rest.count)
            let chunk = rest.prefix(n)
            rest = rest.dropFirst(n)
            let before = f.recordLength - f.remaining
            f.remaining -= n
            let complete = f.remaining == 0
            let session = f.type == 0, recordLength = f.recordLength
            withFraming(direction) { $0 = complete ? SMBFraming() : f }
            guard session else { continue }
            let streamed = f.pipeDecided && f.pipeEnd > f.pipeStart
            if streamed { Self.streamPipe(f, chunk, before, onPipe) }
            var held = buffers.moveOut()
            skipPipeData = complete && streamed
            held.collect(chunk, direction, complete: complete, whole: n == recordLength) { r in
                record(direction, r, onTransaction, onPipe)
            }
            skipPipeData = false
            if !complete && !f.pipeDecided, recordLength > held.capacity {
                decidePipe(&f, direction, held, recordLength, onPipe)
                if f.pipeDecided { withFraming(direction) { $0 = f } }
            }
            buffers = held
        }
    }

    /// The flow ended: requests still waiting are logged without a response.
    public mutating func finish(onTransaction: (borrowing SMBParser, SMBTransaction) -> Void) {
        while !pending.isEmpty {
            let tx = pending.removeFirst()
            onTransaction(self, tx)
        }
        store.reset()
        dialects.removeAll(keepingCapacity: true)
    }

    // MARK: Records

    /// One NetBIOS session message (possibly cut to `maxRecordBuffer`).
    mutating func record(_ d: Direction, _ r: ByteView, _ onTransaction: (borrowing SMBParser, SMBTransaction) -> Void,
                         _ onPipe: (Direction, UInt64, ByteView, Bool) -> Void) {
        records &+= 1
        guard let p0 = r.u8(0), r.u8(1) == 0x53, r.u8(2) == 0x4d, r.u8(3) == 0x42 else { malformed &+= 1; return }
        switch p0 {
        case 0xfe:
            // SMB2/3, possibly a compound chain (NextCommand, 8-byte aligned, forward only).
            var off = 0, hops = 0
            while hops < 64, let h = r.suffix(from: off) {
                let next = smb2(d, h, onTransaction, onPipe)
                guard next >= 64, next % 8 == 0 else { break }
                off += next
                hops += 1
            }
        case 0xff:
            smb1(d, r, onTransaction)
        case 0xfd, 0xfc:
            encryptedRecords &+= 1
        default:
            malformed &+= 1
        }
    }

    /// One SMB2 message at the start of `m`; returns its NextCommand (0 for the last).
    mutating func smb2(_ d: Direction, _ m: ByteView, _ onTransaction: (borrowing SMBParser, SMBTransaction) -> Void,
                       _ onPipe: (Direction, UInt64, ByteView, Bool) -> Void) -> Int {
        guard m.u32(0) == 0xfe53_4d42, m.u16le(4) == 64, let status = m.u32le(8), let command = m.u16le(12),
              let flags = m.u32le(16), let next = m.u32le(20), let messageID = Self.u64le(m, 24),
              let sessionID = Self.u64le(m, 40) else {
            malformed &+= 1
            return 0
        }
        let isResponse = flags & 0x1 != 0
        let async = flags & 0x2 != 0
        let treeID = async ? 0 : (m.u32le(36) ?? 0)
        let body = m.suffix(from: 64) ?? .empty
        // The end of this message in a chain, so field offsets cannot reach the next one.
        let msg = next > 0 && Int(next) <= m.count ? m.prefix(Int(next)) : m
        if !isResponse {
            var tx = SMBTransaction()
            tx.version = 2
            tx.command = command
            tx.messageID = messageID
            tx.sessionID = sessionID
            tx.treeID = treeID
            tx.hasRequest = true
            smb2Request(&tx, msg, body)
            if isPipeTree(treeID) { pipeRequest(tx, msg, body, onPipe) }
            addPending(tx, onTransaction)
        } else {
            // An interim response: the real one follows with the same message id.
            if async && status == 0x0000_0103 { return Int(next) }
            var tx = takePending(version: 2, messageID: messageID) ?? SMBTransaction()
            tx.version = 2
            tx.command = command
            tx.messageID = messageID
            if sessionID != 0 { tx.sessionID = sessionID }
            if treeID != 0 { tx.treeID = treeID }
            tx.hasResponse = true
            tx.status = status
            smb2Response(&tx, msg, body)
            if status == 0 || status == 0x8000_0005, isPipeTree(tx.treeID) { pipeResponse(tx, msg, body, onPipe) }
            emit(tx, onTransaction)
        }
        return Int(next)
    }

    mutating func smb2Request(_ tx: inout SMBTransaction, _ m: ByteView, _ body: ByteView) {
        switch tx.command {
        case 0x00:  // NEGOTIATE: DialectCount at 2, Dialects at 36.
            guard let count = body.u16le(2) else { return }
            let start = dialects.count
            var i = 0
            while i < Int(count), dialects.count < 64, let dv = body.u16le(36 + 2 * i) {
                dialects.append(dv)
                i += 1
            }
            tx.clientDialects = start ..< dialects.count
        case 0x01:  // SESSION_SETUP: SecurityBufferOffset/Length at 12/14, from the header.
            guard let off = m.u16le(64 + 12), let len = m.u16le(64 + 14),
                  let blob = m.slice(Int(off), Int(len)) ?? m.suffix(from: Int(off)) else { return }
            ntlmssp(&tx, blob)
        case 0x03:  // TREE_CONNECT: PathOffset/PathLength at 4/6.
            guard let off = m.u16le(64 + 4), let len = m.u16le(64 + 6) else { return }
            tx.share = keepUTF16(m.slice(Int(off), Int(len)) ?? (m.suffix(from: Int(off)) ?? .empty))
        case 0x08, 0x09:  // READ / WRITE: FileId at 16.
            tx.fileID = Self.u64le(body, 24) ?? 0
        case 0x0b:  // IOCTL: FileId at 8.
            tx.fileID = Self.u64le(body, 16) ?? 0
        case 0x05:  // CREATE: CreateDisposition at 36, NameOffset/NameLength at 44/46.
            tx.disposition = body.u32le(36)
            guard let off = m.u16le(64 + 44), let len = m.u16le(64 + 46), len > 0 else { return }
            tx.filename = keepUTF16(m.slice(Int(off), Int(len)) ?? (m.suffix(from: Int(off)) ?? .empty))
        default:
            break
        }
    }

    mutating func smb2Response(_ tx: inout SMBTransaction, _ m: ByteView, _ body: ByteView) {
        switch tx.command {
        case 0x00:  // NEGOTIATE: DialectRevision at 4, ServerGuid at 8.
            if let dv = body.u16le(4), tx.status == 0 {
                dialect = dv
                if let guid = body.slice(8, 16) { tx.serverGUID = keepGUID(guid) }
            }
        case 0x03:  // TREE_CONNECT: ShareType at 2.
            tx.shareType = body.u8(2) ?? 0
            if tx.shareType == 2, tx.status == 0, !isPipeTree(tx.treeID), pipeTrees.count < SMBParser.maxPipeTrees {
                pipeTrees.append(tx.treeID)
            }
        default:
            break
        }
    }

    // MARK: Named pipes (DCE/RPC over SMB)

    /// The bytes of `chunk` (at record offset `before`) inside `f`'s pipe window, to `onPipe`.
    static func streamPipe(_ f: SMBFraming, _ chunk: ByteView, _ before: Int, _ onPipe: (Direction, UInt64, ByteView, Bool) -> Void) {
        let lo = Swift.max(before, f.pipeStart), hi = Swift.min(before + chunk.count, f.pipeEnd)
        guard lo < hi, let v = chunk.slice(lo - before, hi - lo) else { return }
        onPipe(.toServer, f.pipeFile, v, false)
    }

    /// A record longer than the buffer, its first bytes kept: when it is a pipe WRITE or pipe
    /// IOCTL request (one SMB2 message, a pipe tree) whose data the buffer would cut, its data
    /// window is set in `f` and the kept bytes of it are lent now, the rest as they stream.
    /// Decided (either way) once the fixed part (120 bytes) is kept.
    mutating func decidePipe(_ f: inout SMBFraming, _ d: Direction, _ held: DirectionalBuffers, _ recordLength: Int,
                             _ onPipe: (Direction, UInt64, ByteView, Bool) -> Void) {
        guard held.count(d) >= 120 else { return }
        f.pipeDecided = true
        guard d == .toServer else { return }
        held.withKept(d) { m in
            guard m.u32(0) == 0xfe53_4d42, m.u16le(4) == 64, let command = m.u16le(12), let flags = m.u32le(16),
                  flags & 0x3 == 0, m.u32le(20) == 0, let tree = m.u32le(36), isPipeTree(tree) else { return }
            let off: Int, len: Int, file: UInt64
            switch command {
            case 0x09:
                guard let o = m.u16le(64 + 2), let l = m.u32le(64 + 4), let fv = Self.u64le(m, 64 + 24) else { return }
                (off, len, file) = (Int(o), Int(l), fv)
            case 0x0b:
                guard m.u32le(64 + 4) == SMBParser.pipeTransceive, let o = m.u32le(64 + 24), let l = m.u32le(64 + 28),
                      let fv = Self.u64le(m, 64 + 16) else { return }
                (off, len, file) = (Int(o), Int(l), fv)
            default:
                return
            }
            let end = Swift.min(off + len, recordLength)
            guard off >= 64, len > 0, end > held.capacity else { return }
            f.pipeStart = off
            f.pipeEnd = end
            f.pipeFile = file
            if let kept = m.suffix(from: 0) { Self.streamPipe(f, kept, 0, onPipe) }
        }
    }

    func isPipeTree(_ tree: UInt32) -> Bool {
        var i = 0
        while i < pipeTrees.count {
            if pipeTrees[i] == tree { return true }
            i += 1
        }
        return false
    }

    /// `length` bytes at `offset` of the message `m` (offsets count from the SMB2 header), or
    /// what the kept record holds of them (`cut`): nothing when the data starts beyond it (a
    /// DataOffset padded past `maxRecordBuffer`), still lent as cut so that the DCE/RPC
    /// framing restarts at the next pipe data rather than reading this data's tail as a PDU.
    static func data(_ m: ByteView, _ offset: Int, _ length: Int) -> (ByteView, Bool)? {
        guard offset >= 64, length > 0 else { return nil }
        if let v = m.slice(offset, length) { return (v, false) }
        return (m.suffix(from: offset) ?? .empty, true)
    }

    /// A WRITE's data or a pipe IOCTL's input ([MS-SMB2] 2.2.21, 2.2.31); not when it was lent
    /// as it streamed (`skipPipeData`, see `decidePipe`).
    func pipeRequest(_ tx: SMBTransaction, _ m: ByteView, _ body: ByteView, _ onPipe: (Direction, UInt64, ByteView, Bool) -> Void) {
        guard !skipPipeData else { return }
        var found: (ByteView, Bool)?
        switch tx.command {
        case 0x09:
            guard let off = body.u16le(2), let len = body.u32le(4) else { return }
            found = Self.data(m, Int(off), Int(len))
        case 0x0b:
            guard body.u32le(4) == SMBParser.pipeTransceive, let off = body.u32le(24), let len = body.u32le(28) else { return }
            found = Self.data(m, Int(off), Int(len))
        default:
            return
        }
        if let (v, cut) = found { onPipe(.toServer, tx.fileID, v, cut) }
    }

    /// A READ's data or a pipe IOCTL's output ([MS-SMB2] 2.2.20, 2.2.32).
    func pipeResponse(_ tx: SMBTransaction, _ m: ByteView, _ body: ByteView, _ onPipe: (Direction, UInt64, ByteView, Bool) -> Void) {
        var found: (ByteView, Bool)?
        var file = tx.fileID
        switch tx.command {
        case 0x08:
            guard let off = body.u8(2), let len = body.u32le(4) else { return }
            found = Self.data(m, Int(off), Int(len))
        case 0x0b:
            guard body.u32le(4) == SMBParser.pipeTransceive, let off = body.u32le(32), let len = body.u32le(36) else { return }
            if let f = Self.u64le(body, 16) { file = f }
            found = Self.data(m, Int(off), Int(len))
        default:
            return
        }
        if let (v, cut) = found { onPipe(.toClient, file, v, cut) }
    }

    /// NTLMSSP AUTHENTICATE inside a session setup's security blob (SPNEGO-wrapped or raw):
    /// the domain, user and workstation names.
    mutating func ntlmssp(_ tx: inout SMBTransaction, _ blob: ByteView) {
        guard let at = blob.firstIndex(of: ("NTLMSSP\0" as StaticString).byteView),
              let n = blob.suffix(from: at), n.u32le(8) == 3 else { return }
        let unicode = (n.u32le(60) ?? 0) & 0x1 != 0
        func name(_ fieldAt: Int) -> ByteView {
            guard let len = n.u16le(fieldAt), let off = n.u32le(fieldAt + 4),
                  let v = n.slice(Int(off), Int(len)) else { return .empty }
            return v
        }
        let domain = name(28), user = name(36), host = name(44)
        tx.ntlmDomain = unicode ? keepUTF16(domain) : store.append(domain)
        tx.ntlmUser = unicode ? keepUTF16(user) : store.append(user)
        tx.ntlmHost = unicode ? keepUTF16(host) : store.append(host)
    }

    /// SMB1: the 32-byte header ([MS-CIFS] 2.2.3.1) and NEGOTIATE's dialect strings.
    mutating func smb1(_ d: Direction, _ m: ByteView, _ onTransaction: (borrowing SMBParser, SMBTransaction) -> Void) {
        guard let command = m.u8(4), let status = m.u32le(5), let flags = m.u8(9),
              let tid = m.u16le(24), let uid = m.u16le(28), let mid = m.u16le(30) else {
            malformed &+= 1
            return
        }
        if flags & 0x80 == 0 {
            var tx = SMBTransaction()
            tx.version = 1
            tx.command = UInt16(command)
            tx.messageID = UInt64(mid)
            tx.sessionID = UInt64(uid)
            tx.treeID = UInt32(tid)
            tx.hasRequest = true
            if command == 0x72, let wc = m.u8(32), let bc = m.u16le(33 + 2 * Int(wc)),
               let bytes = m.slice(35 + 2 * Int(wc), Int(bc)) ?? m.suffix(from: 35 + 2 * Int(wc)) {
                // Each dialect is 0x02 then a NUL-terminated name: kept NUL-separated.
                let start = store.used
                bytes.forEachByte { b in if b != 0x02 { _ = store.appendByte(b) } }
                tx.dialectNames = Field(offset: Int32(start), length: Int32(store.used - start))
            }
            addPending(tx, onTransaction)
        } else {
            var tx = takePending(version: 1, messageID: UInt64(mid)) ?? SMBTransaction()
            tx.version = 1
            tx.command = UInt16(command)
            tx.messageID = UInt64(mid)
            if uid != 0 { tx.sessionID = UInt64(uid) }
            if tid != 0 { tx.treeID = UInt32(tid) }
            tx.hasResponse = true
            tx.status = status
            if command == 0x72, status == 0 { dialect = 1 }
            emit(tx, onTransaction)
        }
    }

    // MARK: Transactions

    mutating func addPending(_ tx: SMBTransaction, _ onTransaction: (borrowing SMBParser, SMBTransaction) -> Void) {
        var tx = tx
        tx.id = nextID
        nextID &+= 1
        if pending.count >= config.maxPending, !pending.isEmpty {
            let oldest = pending.removeFirst()
            onTransaction(self, oldest)
        }
        pending.append(tx)
    }

    mutating func takePending(version: UInt8, messageID: UInt64) -> SMBTransaction? {
        var i = 0
        while i < pending.count {
            if pending[i].version == version && pending[i].messageID == messageID { return pending.remove(at: i) }
            i += 1
        }
        return nil
    }

    mutating func emit(_ tx: SMBTransaction, _ onTransaction: (borrowing SMBParser, SMBTransaction) -> Void) {
        var tx = tx
        if !tx.hasRequest {
            tx.id = nextID
            nextID &+= 1
        }
        onTransaction(self, tx)
        // Strings and dialect lists belong to pending transactions only: free them when none is.
        if pending.isEmpty {
            store.reset()
            dialects.removeAll(keepingCapacity: true)
        } else if store.used > store.capacity / 2 {
            // Some request always waits (Windows keeps a CHANGE_NOTIFY outstanding): keep only
            // what the waiting ones hold, or later names would find the store full.
            compact()
        }
    }

    /// Rebuilds the store with the strings of pending transactions only, and drops the dialect
    /// lists when no NEGOTIATE waits. Swaps reserved buffers: no allocation.
    mutating func compact() {
        var fresh = FieldStore(capacity: 0)
        swap(&fresh, &spare)
        fresh.reset()
        var negotiating = false
        for i in pending.indices {
            var t = pending[i]
            t.share = Self.move(t.share, from: store, to: &fresh)
            t.filename = Self.move(t.filename, from: store, to: &fresh)
            t.ntlmUser = Self.move(t.ntlmUser, from: store, to: &fresh)
            t.ntlmDomain = Self.move(t.ntlmDomain, from: store, to: &fresh)
            t.ntlmHost = Self.move(t.ntlmHost, from: store, to: &fresh)
            t.serverGUID = Self.move(t.serverGUID, from: store, to: &fresh)
            t.dialectNames = Self.move(t.dialectNames, from: store, to: &fresh)
            if !t.clientDialects.isEmpty { negotiating = true }
            pending[i] = t
        }
        swap(&store, &fresh)
        fresh.reset()
        swap(&spare, &fresh)
        if !negotiating { dialects.removeAll(keepingCapacity: true) }
    }

    static func move(_ f: Field, from: FieldStore, to: inout FieldStore) -> Field {
        guard f.isPresent else { return f }
        return from.withView(f) { to.append($0) }
    }

    // MARK: Strings

    /// UTF-16LE (SMB2 names, Unicode NTLMSSP) as UTF-8 into the store; unpaired surrogates
    /// become U+FFFD. Cut at the store's capacity.
    mutating func keepUTF16(_ v: ByteView) -> Field {
        let start = store.used
        var i = 0
        while let u = v.u16le(i) {
            var c = UInt32(u)
            i += 2
            if u >= 0xd800 && u < 0xdc00, let lo = v.u16le(i), lo >= 0xdc00 && lo < 0xe000 {
                c = 0x10000 + ((UInt32(u) - 0xd800) << 10) + (UInt32(lo) - 0xdc00)
                i += 2
            } else if u >= 0xd800 && u < 0xe000 {
                c = 0xfffd
            }
            if !appendScalar(c) { break }
        }
        return Field(offset: Int32(start), length: Int32(store.used - start))
    }

    mutating func appendScalar(_ c: UInt32) -> Bool {
        if c < 0x80 { return store.appendByte(UInt8(c)) }
        if c < 0x800 {
            return store.appendByte(UInt8(0xc0 | c >> 6)) && store.appendByte(UInt8(0x80 | c & 0x3f))
        }
        if c < 0x10000 {
            return store.appendByte(UInt8(0xe0 | c >> 12)) && store.appendByte(UInt8(0x80 | (c >> 6) & 0x3f))
                && store.appendByte(UInt8(0x80 | c & 0x3f))
        }
        return store.appendByte(UInt8(0xf0 | c >> 18)) && store.appendByte(UInt8(0x80 | (c >> 12) & 0x3f))
            && store.appendByte(UInt8(0x80 | (c >> 6) & 0x3f)) && store.appendByte(UInt8(0x80 | c & 0x3f))
    }

    /// A GUID in its usual text form (first three groups little-endian, as Windows prints it).
    mutating func keepGUID(_ g: ByteView) -> Field {
        let start = store.used
        let order = Self.guidOrder
        for i in order.indices {
            let k = order[i]
            if k < 0 { _ = store.appendByte(UInt8(ascii: "-")); continue }
            let b = g.u8(k) ?? 0
            _ = store.appendByte(Self.hexDigit(b >> 4))
            _ = store.appendByte(Self.hexDigit(b & 0xf))
        }
        return Field(offset: Int32(start), length: Int32(store.used - start))
    }

    /// Byte order of a GUID's text form; -1 is a dash. Built once.
    static let guidOrder: [Int] = [3, 2, 1, 0, -1, 5, 4, -1, 7, 6, -1, 8, 9, -1, 10, 11, 12, 13, 14, 15]

    @inline(__always) static func hexDigit(_ n: UInt8) -> UInt8 { n < 10 ? 0x30 + n : 0x57 + n }

    /// A little-endian 64-bit value (message and session ids).
    @inline(__always) static func u64le(_ v: ByteView, _ off: Int) -> UInt64? {
        guard let lo = v.u32le(off), let hi = v.u32le(off + 4) else { return nil }
        return UInt64(hi) << 32 | UInt64(lo)
    }

    // MARK: Direction helpers

    private func framing(_ d: Direction) -> SMBFraming { d == .toServer ? toServer : toClient }

    private mutating func withFraming(_ d: Direction, _ body: (inout SMBFraming) -> Void) {
        if d == .toServer { body(&toServer) } else { body(&toClient) }
    }
}

/// Names Suricata's `smb` events use.
public enum SMBNames {
    /// `SMB2_COMMAND_…` / `SMB1_COMMAND_…`.
    public static func command(version: UInt8, _ c: UInt16) -> StaticString {
        if version == 1 {
            switch c {
            case 0x04: return "SMB1_COMMAND_CLOSE"
            case 0x06: return "SMB1_COMMAND_DELETE"
            case 0x07: return "SMB1_COMMAND_RENAME"
            case 0x10: return "SMB1_COMMAND_CHECK_DIRECTORY"
            case 0x24: return "SMB1_COMMAND_LOCKING_ANDX"
            case 0x25: return "SMB1_COMMAND_TRANS"
            case 0x2b: return "SMB1_COMMAND_ECHO"
            case 0x2d: return "SMB1_COMMAND_OPEN_ANDX"
            case 0x2e: return "SMB1_COMMAND_READ_ANDX"
            case 0x2f: return "SMB1_COMMAND_WRITE_ANDX"
            case 0x32: return "SMB1_COMMAND_TRANS2"
            case 0x34: return "SMB1_COMMAND_FIND_CLOSE2"
            case 0x71: return "SMB1_COMMAND_TREE_DISCONNECT"
            case 0x72: return "SMB1_COMMAND_NEGOTIATE_PROTOCOL"
            case 0x73: return "SMB1_COMMAND_SESSION_SETUP_ANDX"
            case 0x74: return "SMB1_COMMAND_LOGOFF_ANDX"
            case 0x75: return "SMB1_COMMAND_TREE_CONNECT_ANDX"
            case 0xa0: return "SMB1_COMMAND_NT_TRANS"
            case 0xa2: return "SMB1_COMMAND_NT_CREATE_ANDX"
            default: return "SMB1_COMMAND_UNKNOWN"
            }
        }
        switch c {
        case 0x00: return "SMB2_COMMAND_NEGOTIATE_PROTOCOL"
        case 0x01: return "SMB2_COMMAND_SESSION_SETUP"
        case 0x02: return "SMB2_COMMAND_SESSION_LOGOFF"
        case 0x03: return "SMB2_COMMAND_TREE_CONNECT"
        case 0x04: return "SMB2_COMMAND_TREE_DISCONNECT"
        case 0x05: return "SMB2_COMMAND_CREATE"
        case 0x06: return "SMB2_COMMAND_CLOSE"
        case 0x07: return "SMB2_COMMAND_FLUSH"
        case 0x08: return "SMB2_COMMAND_READ"
        case 0x09: return "SMB2_COMMAND_WRITE"
        case 0x0a: return "SMB2_COMMAND_LOCK"
        case 0x0b: return "SMB2_COMMAND_IOCTL"
        case 0x0c: return "SMB2_COMMAND_CANCEL"
        case 0x0d: return "SMB2_COMMAND_KEEPALIVE"
        case 0x0e: return "SMB2_COMMAND_FIND"
        case 0x0f: return "SMB2_COMMAND_CHANGE_NOTIFY"
        case 0x10: return "SMB2_COMMAND_GET_INFO"
        case 0x11: return "SMB2_COMMAND_SET_INFO"
        case 0x12: return "SMB2_COMMAND_OPLOCK_BREAK"
        default: return "SMB2_COMMAND_UNKNOWN"
        }
    }

    /// Common NTSTATUS names; nil for the rest (then only `status_code` is written).
    public static func status(_ s: UInt32) -> StaticString? {
        switch s {
        case 0x0000_0000: return "STATUS_SUCCESS"
        case 0x0000_0103: return "STATUS_PENDING"
        case 0x0000_010c: return "STATUS_NOTIFY_ENUM_DIR"
        case 0x8000_0005: return "STATUS_BUFFER_OVERFLOW"
        case 0x8000_0006: return "STATUS_NO_MORE_FILES"
        case 0xc000_000d: return "STATUS_INVALID_PARAMETER"
        case 0xc000_0010: return "STATUS_INVALID_DEVICE_REQUEST"
        case 0xc000_0011: return "STATUS_END_OF_FILE"
        case 0xc000_0016: return "STATUS_MORE_PROCESSING_REQUIRED"
        case 0xc000_0022: return "STATUS_ACCESS_DENIED"
        case 0xc000_0023: return "STATUS_BUFFER_TOO_SMALL"
        case 0xc000_0034: return "STATUS_OBJECT_NAME_NOT_FOUND"
        case 0xc000_0035: return "STATUS_OBJECT_NAME_COLLISION"
        case 0xc000_003a: return "STATUS_OBJECT_PATH_NOT_FOUND"
        case 0xc000_0043: return "STATUS_SHARING_VIOLATION"
        case 0xc000_006d: return "STATUS_LOGON_FAILURE"
        case 0xc000_0072: return "STATUS_ACCOUNT_DISABLED"
        case 0xc000_00ba: return "STATUS_FILE_IS_A_DIRECTORY"
        case 0xc000_00bb: return "STATUS_NOT_SUPPORTED"
        case 0xc000_00cc: return "STATUS_BAD_NETWORK_NAME"
        case 0xc000_0120: return "STATUS_CANCELLED"
        case 0xc000_0128: return "STATUS_FILE_CLOSED"
        case 0xc000_0203: return "STATUS_USER_SESSION_DELETED"
        case 0xc000_0225: return "STATUS_NOT_FOUND"
        case 0xc000_035c: return "STATUS_NETWORK_SESSION_EXPIRED"
        default: return nil
        }
    }

    /// SMB2 dialect revisions as Suricata prints them.
    public static func dialect(_ d: UInt16) -> StaticString? {
        switch d {
        case 0x0202: return "2.02"
        case 0x0210: return "2.10"
        case 0x0222: return "2.22"
        case 0x0224: return "2.24"
        case 0x02ff: return "2.??"
        case 0x0300: return "3.00"
        case 0x0302: return "3.02"
        case 0x0310: return "3.10"
        case 0x0311: return "3.11"
        default: return nil
        }
    }
}
