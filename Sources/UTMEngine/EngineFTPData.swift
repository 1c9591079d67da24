import UTMCore
import UTMFlow
import UTMDecode
import UTMAppLayer
import UTMOutput
import UTMAntivirus

/// FTP data connections the control channel announced (Suricata's expectations): a PORT/EPRT
/// command or a 227/229 reply names the port, the next RETR/STOR/APPE/STOU names the file, its
/// 150 reply often the size. A new TCP flow between the announced endpoints becomes
/// `ftp-data`, and with the antivirus on its bytes are scanned like an HTTP body.
///
/// Why a small fixed table and not per-flow state: data connections are rare next to all the
/// flows a box sees; `maxEntries` of them cost a few KiB once, and a flow start only scans the
/// table when something is expected.
struct FTPExpectations {
    struct Entry {
        var used = false
        /// The control flow that announced it, and the data flow that took it (0: none yet).
        var controlFlow: UInt64 = 0
        var dataFlow: UInt64 = 0
        /// The data connection's client (the one that connects) and server address and port.
        var client: IPAddress = .none
        var server: IPAddress = .none
        var port: UInt16 = 0
        var created: Int64 = 0
        var command: FTPCommand = .other
        /// The file's size from the 150 reply ("(1048576 bytes)"), -1 when unknown.
        var size: Int64 = -1
        var name: [UInt8] = []
    }

    static let maxEntries = 32
    static let maxName = 255
    /// An unclaimed expectation older than this is reused (Suricata's expectations expire too).
    static let timeout: Int64 = 120

    var entries: [Entry]
    var active = 0

    init() {
        entries = (0 ..< Self.maxEntries).map { _ in
            var e = Entry()
            e.name.reserveCapacity(Self.maxName)
            return e
        }
    }

    /// Records an announced connection; replaces an earlier unclaimed one of the same control
    /// flow, else a free or expired slot, else the oldest unclaimed one.
    mutating func add(control: UInt64, client: IPAddress, server: IPAddress, port: UInt16, now: Int64) {
        var pick = -1
        var oldest = Int64.max
        var i = 0
        while i < entries.count {
            let e = entries[i]
            if e.used && e.dataFlow == 0 && e.controlFlow == control { pick = i; break }
            if !e.used || (e.dataFlow == 0 && now - e.created > Self.timeout) {
                if pick < 0 || entries[pick].used { pick = i }
            } else if e.dataFlow == 0 && e.created < oldest && (pick < 0 || entries[pick].used) {
                oldest = e.created
                pick = i
            }
            i &+= 1
        }
        guard pick >= 0 else { return }   // every entry is carrying a transfer
        if !entries[pick].used { active &+= 1 }
        entries[pick].used = true
        entries[pick].controlFlow = control
        entries[pick].dataFlow = 0
        entries[pick].client = client
        entries[pick].server = server
        entries[pick].port = port
        entries[pick].created = now
        entries[pick].command = .other
        entries[pick].size = -1
        entries[pick].name.removeAll(keepingCapacity: true)
    }

    /// The unclaimed expectation a new flow fulfils, if any.
    func match(client: IPAddress, server: IPAddress, serverPort: UInt16) -> Int? {
        var i = 0
        while i < entries.count {
            let e = entries[i]
            if e.used && e.dataFlow == 0 && e.port == serverPort && e.server == server && e.client == client { return i }
            i &+= 1
        }
        return nil
    }

    /// The newest expectation of a control flow (the one its next transfer command uses).
    func latest(control: UInt64) -> Int? {
        var best: Int?
        var i = 0
        while i < entries.count {
            let e = entries[i]
            if e.used && e.controlFlow == control && (best == nil || e.created >= entries[best!].created) { best = i }
            i &+= 1
        }
        return best
    }

    mutating func release(dataFlow: UInt64) {
        var i = 0
        while i < entries.count {
            if entries[i].used && entries[i].dataFlow == dataFlow {
                entries[i].used = false
                entries[i].dataFlow = 0
                active &-= 1
            }
            i &+= 1
        }
    }
}

extension Engine {
    // MARK: Control channel

    /// After a feed of control parser `i` (client → server endpoints `m`): announced data
    /// connections become expectations; the transfer command in progress names the file.
    func ftpControlUpdate(_ i: Int, _ m: EVEEndpoints, time: Timestamp) {
        guard let tx = ftp.items[i].newest else { return }
        switch tx.command {
        case .retr, .stor, .appe, .stou:
            guard let e = ftpExpect.latest(control: m.flowID) else { return }
            if ftpExpect.entries[e].command != tx.command {
                ftpExpect.entries[e].command = tx.command
                ftpExpect.entries[e].name.removeAll(keepingCapacity: true)
                tx.withField(tx.argument) { v in
                    v.prefix(FTPExpectations.maxName).withUnsafeBytes { ftpExpect.entries[e].name.append(contentsOf: $0) }
                }
            }
            let size = tx.announcedSize
            if size >= 0 { ftpExpect.entries[e].size = size }
        default:
            break
        }
    }

    /// A completed control transaction: a successful PORT/EPRT (2xx) or 227/229 reply names a
    /// data connection to expect.
    func ftpAnnounced(_ tx: FTPTransaction, _ m: EVEEndpoints, time: Timestamp) {
        guard tx.dynamicPort != 0, tx.replyReceived, tx.code >= 200, tx.code < 300 else { return }
        if tx.active {
            // The server connects back to the client (at the address PORT named, usually its own).
            let target = tx.portAddress.map { IPAddress(v4: $0) } ?? m.src
            ftpExpect.add(control: m.flowID, client: m.dst, server: target, port: tx.dynamicPort, now: time.seconds)
        } else {
            ftpExpect.add(control: m.flowID, client: m.src, server: m.dst, port: tx.dynamicPort, now: time.seconds)
        }
    }

    // MARK: Data connections

    /// A new flow: when it is an announced data connection it becomes `ftp-data` (no parser;
    /// the antivirus follows its stream).
    func ftpFlowStarted(_ ref: FlowRef) {
        guard ftpExpect.active > 0, packet.ipProto == IPProto.tcp else { return }
        let f = flows[ref]
        guard let e = ftpExpect.match(client: f.clientIP, server: f.serverIP, serverPort: f.serverPort) else { return }
        ftpExpect.entries[e].dataFlow = f.id
        stats.appDetected[Int(AppProto.ftpData.rawValue)] &+= 1
        flows.withFlow(ref) { fl in
            fl.appProto = .ftpData
            fl.engineFlags |= FlowBits.parserDone
        }
        if av.scanner != nil {
            av.files[Int(ref.index)].mailKind = AVFlowFiles.ftpData
            av.files[Int(ref.index)].ftpEntry = Int32(e)
        }
    }

    /// For `ftpdata_command`: 1 when the data flow carries a RETR, 2 a STOR, else 0.
    func ftpDataCommand(_ flowID: UInt64) -> UInt8 {
        guard ftpExpect.active > 0 else { return 0 }
        var i = 0
        while i < ftpExpect.entries.count {
            let e = ftpExpect.entries[i]
            if e.used && e.dataFlow == flowID {
                return e.command == .retr ? 1 : e.command == .stor ? 2 : 0
            }
            i &+= 1
        }
        return 0
    }

    func ftpDataFlowEnded(_ flow: Flow) {
        guard ftpExpect.active > 0 else { return }
        ftpExpect.release(dataFlow: flow.id)
    }

    /// Data-connection bytes (from `avMailData`, AV on): one file per direction, ended when the
    /// size the 150 reply announced is reached (its last packet is rejected if infected), else
    /// at the connection's close (after delivery, logged as allowed). A body-signature hit
    /// rejects the packet that carried it.
    func avFTPData(_ k: Int, _ data: ByteView, _ chunk: StreamChunk, _ m: EVEEndpoints) {
        guard let scanner = av.scanner, !data.isEmpty else { return }
        let d = chunk.direction == .toServer ? 0 : 1
        let bit: UInt8 = d == 0 ? 1 : 2
        guard av.files[k].skipping & bit == 0 else { return }
        var s = av.files[k].session(d)
        if s == nil {
            s = scanner.begin()
            av.files[k].fileCount &+= 1
            av.files[k].ftpBytes = 0
            av.stats.files &+= 1
            guard s != nil else {
                av.stats.sessionsExhausted &+= 1
                av.files[k].skipping |= bit
                return
            }
            av.files[k].set(d, s)
        }
        guard let session = s else { return }
        session.feed(data)
        av.files[k].ftpBytes &+= Int64(data.count)
        let e = Int(av.files[k].ftpEntry)
        let size = e >= 0 && e < ftpExpect.entries.count ? ftpExpect.entries[e].size : -1
        if size >= 0 && av.files[k].ftpBytes >= size {
            av.files[k].set(d, nil)
            av.files[k].skipping |= bit
            avDecideFTPData(k, session, d, truncated: chunk.gapBefore, m, time: packet.timestamp, enforce: true)
        } else if session.detection != nil {
            av.files[k].set(d, nil)
            av.files[k].skipping |= bit
            avDecideFTPData(k, session, d, truncated: true, m, time: packet.timestamp, enforce: true)
        }
    }

    func avDecideFTPData(_ k: Int, _ s: FileScanSession, _ d: Int, truncated: Bool, _ m: EVEEndpoints,
                         time: Timestamp, enforce: Bool) {
        let result = s.end(truncated: truncated)
        s.release()
        var f = EVEFile()
        f.fileID = UInt64(av.files[k].fileCount)
        f.gaps = truncated && enforce == false
        let e = Int(av.files[k].ftpEntry)
        let endpoints = d == 0 ? m : m.reversed
        if e >= 0 && e < ftpExpect.entries.count {
            ftpExpect.entries[e].name.withUnsafeBytes { raw in
                f.filename = ByteView(raw)
                avReport(result, &f, endpoints, time: time, enforce: enforce)
            }
        } else {
            avReport(result, &f, endpoints, time: time, enforce: enforce)
        }
        f.filename = .empty
    }
}
