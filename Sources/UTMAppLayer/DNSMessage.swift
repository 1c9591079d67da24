import UTMCore

// DNS messages (RFC 1035 section 4): header, questions and resource records, parsed into
// fixed-capacity storage. Names are decoded in DNSName.swift, record data in DNSRecordData.swift,
// TCP framing in DNSStream.swift.

/// Limits for one DNS parser; all storage is reserved in `DNSParser.init`.
public struct DNSConfig: Sendable {
    /// Questions kept per message; more are counted in `DNSMessage.questionsTruncated`.
    public var maxQuestions: Int = 16
    /// Records (answer, authority, additional, OPT excluded) kept per message.
    public var maxAnswers: Int = 32
    /// Bytes for names and textual record data of one message.
    public var fieldCapacity: Int = 4096
    /// Largest DNS-over-TCP message buffered per direction; longer ones are skipped whole.
    public var maxTCPMessageSize: Int = 16 * 1024
    /// Queries one flow may leave unanswered before `dns.flooded` (Suricata's
    /// `app-layer.protocols.dns.request-flood`, default 500); 0 turns the event off.
    public var requestFlood: Int = 500

    public init() {}
}

public struct DNSQuestion: Sendable {
    /// Dotted text ("www.example.com", root as ""); see `DNSParser` for escaping.
    public var name: Field = .absent
    public var type: UInt16 = 0
    public var klass: UInt16 = 0
    public init() {}
}

/// Which section a record came from, as in `DNSAnswer.section`.
public enum DNSSection {
    public static let answer: UInt8 = 1
    public static let authority: UInt8 = 2
    public static let additional: UInt8 = 3
}

public struct DNSAnswer: Sendable {
    public var name: Field = .absent
    public var type: UInt16 = 0
    public var klass: UInt16 = 0
    public var ttl: UInt32 = 0
    /// Textual rdata: A/AAAA addresses, CNAME/NS/PTR/DNAME/MX/SRV targets, SOA primary name,
    /// TXT text. Absent for other types (HTTPS/SVCB included), which are logged by type only.
    public var data: Field = .absent
    /// `DNSSection.answer`, `.authority` or `.additional`.
    public var section: UInt8 = 0
    public init() {}
}

/// Header flags (RFC 1035 section 4.1.1, RFC 4035 AD/CD).
public struct DNSFlags: Sendable, Equatable {
    public var raw: UInt16
    public init(raw: UInt16) { self.raw = raw }
    public var qr: Bool { raw & 0x8000 != 0 }
    public var opcode: UInt8 { UInt8((raw >> 11) & 0x0f) }
    public var aa: Bool { raw & 0x0400 != 0 }
    public var tc: Bool { raw & 0x0200 != 0 }
    public var rd: Bool { raw & 0x0100 != 0 }
    public var ra: Bool { raw & 0x0080 != 0 }
    public var ad: Bool { raw & 0x0020 != 0 }
    public var cd: Bool { raw & 0x0010 != 0 }
    public var rcode: UInt8 { UInt8(raw & 0x000f) }
}

/// One parsed message. Storage is pre-sized and overwritten by each parse; the counts say how
/// much of it belongs to the current message.
public struct DNSMessage: Sendable {
    public var id: UInt16 = 0
    public var flags = DNSFlags(raw: 0)
    /// Counts from the header, as sent.
    public var questionTotal: UInt16 = 0
    public var answerTotal: UInt16 = 0
    public var authorityTotal: UInt16 = 0
    public var additionalTotal: UInt16 = 0
    public internal(set) var questionCount: Int = 0
    public internal(set) var answerCount: Int = 0
    /// More questions / records than the configured capacity: the rest was not kept.
    public var questionsTruncated = false
    public var answersTruncated = false
    /// A record could not be decoded (bad name, overrunning rdata); records after it are lost.
    public var malformed = false
    /// The message ended before all records announced in the header (e.g. cut UDP payload).
    public var incomplete = false
    /// The field store ran out of room: some names or data were cut.
    public var fieldsTruncated = false
    /// Offset just past the last question or record decoded: equal to the payload length for a
    /// well-formed message, which is what the port-independent UDP probe checks.
    public internal(set) var end: Int = 0
    var questionStorage: [DNSQuestion]
    var answerStorage: [DNSAnswer]

    init(config: DNSConfig) {
        questionStorage = [DNSQuestion](repeating: DNSQuestion(), count: Swift.max(0, config.maxQuestions))
        answerStorage = [DNSAnswer](repeating: DNSAnswer(), count: Swift.max(0, config.maxAnswers))
    }

    public var questions: ArraySlice<DNSQuestion> { questionStorage[0..<questionCount] }
    public var answers: ArraySlice<DNSAnswer> { answerStorage[0..<answerCount] }
    public func question(_ i: Int) -> DNSQuestion? { i >= 0 && i < questionCount ? questionStorage[i] : nil }
    public func answer(_ i: Int) -> DNSAnswer? { i >= 0 && i < answerCount ? answerStorage[i] : nil }

    mutating func clear() {
        id = 0; flags = DNSFlags(raw: 0)
        questionTotal = 0; answerTotal = 0; authorityTotal = 0; additionalTotal = 0
        questionCount = 0; answerCount = 0
        questionsTruncated = false; answersTruncated = false
        malformed = false; incomplete = false; fieldsTruncated = false
        end = 0
    }
}

/// Per-direction DNS-over-TCP framing state.
struct DNSStreamState: Sendable {
    var lengthBytes: Int = 0
    var length: Int = 0
    var remaining: Int = 0
    var buffering = false
    var stopped = false
}

public struct DNSParser: Sendable {
    public let config: DNSConfig
    var store: FieldStore
    public internal(set) var message: DNSMessage
    var streams: (DNSStreamState, DNSStreamState) = (.init(), .init())
    var bufToServer: [UInt8]
    var bufToClient: [UInt8]
    /// TCP messages that were too long to buffer or not plausible DNS.
    public internal(set) var skippedMessages: Int = 0
    /// Suricata's DNS anomaly events (`app-layer-event:dns.*`) raised by `parse` and
    /// `noteDirection` since the last `takeAppEvents()`.
    public var appEvents = AppLayerEvents()
    /// DNS over TCP: this flow's unanswered queries (`dns.flooded`). Over UDP one parser
    /// serves every flow, so the engine keeps the count per flow instead.
    public internal(set) var transactions = DNSTransactionCount()

    public init(config: DNSConfig = .init()) {
        self.config = config
        store = FieldStore(capacity: Swift.max(0, config.fieldCapacity))
        message = DNSMessage(config: config)
        let n = Swift.max(0, config.maxTCPMessageSize)
        bufToServer = []
        bufToServer.reserveCapacity(n)
        bufToClient = []
        bufToClient.reserveCapacity(n)
    }

    /// Forgets the flow, keeping all reserved storage.
    public mutating func reset() {
        store.reset()
        message.clear()
        streams = (.init(), .init())
        bufToServer.removeAll(keepingCapacity: true)
        bufToClient.removeAll(keepingCapacity: true)
        skippedMessages = 0
        appEvents = []
        transactions = DNSTransactionCount()
    }

    /// Returns the anomaly events raised since the last call and clears them.
    public mutating func takeAppEvents() -> AppLayerEvents {
        let e = appEvents
        appEvents = []
        return e
    }

    /// The message just parsed went `direction` (from the flow's client: a query is due,
    /// from its server: a response): Suricata's `not_request` / `not_response`.
    public mutating func noteDirection(_ direction: Direction) {
        if direction == .toServer {
            if message.flags.qr { appEvents.formUnion(AppLayerEvents.DNS.notRequest) }
        } else if !message.flags.qr {
            appEvents.formUnion(AppLayerEvents.DNS.notResponse)
        }
    }

    public func withField<R>(_ f: Field, _ body: (ByteView) -> R) -> R {
        store.withView(f, body)
    }

    /// A field as a String: tests and slow paths only.
    public func string(_ f: Field) -> String? { store.string(f) }

    /// One DNS message (a UDP payload). Returns false if it is not a plausible DNS message: a
    /// short header, an unassigned opcode, or questions that do not decode. Records after a bad
    /// one are dropped with `message.malformed` set; the message still counts as DNS.
    /// Results stay readable until the next parse.
    public mutating func parse(_ msg: ByteView) -> Bool {
        store.reset()
        message.clear()
        guard let id = msg.u16(0), let flags = msg.u16(2), let qd = msg.u16(4), let an = msg.u16(6),
              let ns = msg.u16(8), let ar = msg.u16(10) else {
            appEvents.formUnion(AppLayerEvents.DNS.malformedData)
            return false
        }
        let f = DNSFlags(raw: flags)
        // The reserved Z bit (RFC 1035 §4.1.1; RFC 4035 took the two after it).
        if flags & 0x0040 != 0 { appEvents.formUnion(AppLayerEvents.DNS.zFlagSet) }
        // Opcodes 0-2 and 4-6 are assigned (QUERY, IQUERY, STATUS, NOTIFY, UPDATE, DSO).
        guard f.opcode <= 6, f.opcode != 3 else {
            appEvents.formUnion(AppLayerEvents.DNS.invalidOpcode)
            return false
        }
        message.id = id
        message.flags = f
        message.questionTotal = qd
        message.answerTotal = an
        message.authorityTotal = ns
        message.additionalTotal = ar

        var off = 12
        var i = 0
        while i < Int(qd) {
            guard let name = readName(msg, at: off), let type = msg.u16(name.next),
                  let klass = msg.u16(name.next + 2) else {
                // A question that does not decode: not DNS (or hopelessly broken).
                appEvents.formUnion(AppLayerEvents.DNS.malformedData)
                return false
            }
            off = name.next + 4
            if message.questionCount < message.questionStorage.count {
                var q = DNSQuestion()
                q.name = name.field
                q.type = type
                q.klass = klass
                message.questionStorage[message.questionCount] = q
                message.questionCount += 1
            } else {
                message.questionsTruncated = true
            }
            i += 1
        }

        let sections: (Int, Int, Int) = (Int(an), Int(ns), Int(ar))
        var section: UInt8 = DNSSection.answer
        var left = sections.0
        recordLoop: while true {
            while left == 0 {
                if section == DNSSection.answer { section = DNSSection.authority; left = sections.1 }
                else if section == DNSSection.authority { section = DNSSection.additional; left = sections.2 }
                else { break recordLoop }
            }
            left -= 1
            if off >= msg.count {
                message.incomplete = true
                break
            }
            guard let name = readName(msg, at: off), let type = msg.u16(name.next),
                  let klass = msg.u16(name.next + 2), let ttl = msg.u32(name.next + 4),
                  let rdlen = msg.u16(name.next + 8) else {
                message.malformed = true
                break
            }
            let rdStart = name.next + 10
            guard msg.slice(rdStart, Int(rdlen)) != nil else {
                message.malformed = true
                break
            }
            off = rdStart + Int(rdlen)
            // OPT (EDNS0) is a pseudo-record for the transport, not data.
            if type == 41 {
                store.rewind(to: Int(name.field.offset))
                continue
            }
            guard message.answerCount < message.answerStorage.count else {
                message.answersTruncated = true
                store.rewind(to: Int(name.field.offset))
                continue
            }
            var a = DNSAnswer()
            a.name = name.field
            a.type = type
            a.klass = klass
            a.ttl = ttl
            a.section = section
            a.data = writeRData(msg, type: type, start: rdStart, length: Int(rdlen))
            message.answerStorage[message.answerCount] = a
            message.answerCount += 1
        }
        message.fieldsTruncated = store.truncated
        message.end = off
        if message.malformed { appEvents.formUnion(AppLayerEvents.DNS.malformedData) }
        return true
    }
}
