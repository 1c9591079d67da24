import UTMCore
import UTMAppLayer
import UTMDetect

// SMTP `file_data` (session 12): the messages of a flow go through the MIME decoder the
// antivirus uses (UTMAppLayer/MimeDecoder.swift); each named part (an attachment: a file name
// from Content-Disposition or Content-Type, Suricata's CTNT_IS_ATTACHMENT) is decoded from
// base64 / quoted-printable / uuencode and its first `smtpFileDataWindow` bytes are inspected
// as `file_data` by the rules of the `smtp` protocol, once, when the part ends or the window
// is full. ET's `alert smtp ... file_data; content:...` rules match the attachment's content.
// The part names are kept too, for the EVE record's `email.attachment` (the decoder runs
// when file_data rules exist or smtp events are written).

/// One SMTP slot's decoding state; created with the slot (pool warm-up), reused after.
final class SMTPFiles {
    let mime = MimeDecoder()
    let window: Int
    var data: [UInt8] = []
    /// The current message is decoded (decided once at its start, so a rule reload mid-message
    /// does not start the decoder halfway); kept until its transaction is written.
    var decoding = false
    /// A message is being decoded / the open part has a name / its window was inspected.
    var active = false
    var named = false
    var inspected = false
    /// Some rule reads file_data (else only the names are kept, for EVE).
    var collect = false
    /// The message's attachment names, for the EVE record's `email.attachment` (up to 16).
    var names = FieldStore(capacity: 1024)
    var nameFields: [Field] = []
    static let maxNames = 16

    init(window: Int) {
        self.window = max(1, window)
        data.reserveCapacity(self.window)
        nameFields.reserveCapacity(Self.maxNames)
    }

    func reset() {
        decoding = false; active = false; named = false; inspected = false
        data.removeAll(keepingCapacity: true)
        names.reset()
        nameFields.removeAll(keepingCapacity: true)
    }
}

/// The decoder's parts into the slot's window; the engine inspects it.
struct SMTPFileSink: MimeSink {
    let engine: Engine
    let files: SMTPFiles

    var wantsMore: Bool { true }
    /// Only an attachment's first `window` bytes are read by the rules, and only when a rule
    /// reads file_data: the rest of the part is not decoded (names are still kept for EVE).
    var wantsPartData: Bool { files.named && files.collect && !files.inspected }

    func beginPart(name: ByteView) -> Bool {
        files.named = !name.isEmpty
        if files.named && files.nameFields.count < SMTPFiles.maxNames {
            let f = files.names.append(name)
            files.nameFields.append(f)
        }
        files.inspected = false
        files.data.removeAll(keepingCapacity: true)
        return true
    }

    func feedPart(_ data: ByteView) -> Bool {
        guard files.named, files.collect, !files.inspected else { return true }
        let room = files.window &- files.data.count
        data.prefix(room).withUnsafeBytes { files.data.append(contentsOf: $0) }
        if files.data.count >= files.window {
            files.inspected = true
            engine.detectSMTPFile(files)
        }
        return true
    }

    func endPart() {
        if files.named && !files.inspected && !files.data.isEmpty {
            files.inspected = true
            engine.detectSMTPFile(files)
        }
        files.named = false
    }
}

extension Engine {
    /// A slot's decoding state is made when the pool makes the slot (slots are made in order,
    /// on first need up to the pool's limit: warm-up), so the packet path never creates one.
    func smtpFilesReset(_ i: Int) {
        while smtpFiles.count <= i { smtpFiles.append(SMTPFiles(window: config.smtpFileDataWindow)) }
        smtpFiles[i].reset()
    }

    /// The message as the SMTP parser streams it (dot-unstuffed bytes) to the decoder.
    func smtpMessage(_ files: SMTPFiles, _ ev: SMTPEvent) {
        let sink = SMTPFileSink(engine: self, files: files)
        switch ev {
        case .messageBegin:
            files.reset()
            // Decoded only when some rule reads file_data or EVE names attachments.
            files.collect = detect?.uses(.fileData) == true
            files.decoding = files.collect || eve.isEnabled(.smtp)
            guard files.decoding else { return }
            files.mime.reset(uuOnly: false)
            files.active = true
        case .messageData(let v):
            // Raw message bytes in any pieces: a one-line base64 part is decoded whole.
            guard files.active else { return }
            files.mime.feed(v, sink)
        case .messageEnd:
            guard files.active else { return }
            files.mime.finish(sink)
            files.active = false
        case .transaction:
            break
        }
    }

    /// One attachment's window as `file_data`, at the file-data phase of the inspection point
    /// file rules live at (DetectDefinitions.point: `.http`), with the facts of an SMTP flow's
    /// client side: only rules of the `smtp` protocol (or none) can match it.
    func detectSMTPFile(_ files: SMTPFiles) {
        guard let d = detect, detectCursor.slot >= 0 else { return }
        let f = detectFacts(.toServer, app: .smtp, stream: false)
        let slot = detectCursor.slot, time = detectCursor.time
        files.data.withUnsafeBytes { raw in
            var b = InspectionBuffers()
            b[.fileData] = ByteView(raw)
            d.inspectApp(.http, phase: 4, f, buffers: b, slot: slot, time: time) { s, alert in
                self.detectMatched(s, alert, f)
            }
        }
    }
}
